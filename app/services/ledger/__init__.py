"""The settlement ledger, one module per job; import the module you need (nothing is
re-exported here):

- :mod:`~app.services.ledger.accounts`: the platform's accounts and the organizations'
  payable accounts, their balances, now or as of a past time.
- :mod:`~app.services.ledger.entries`: what an entry records and the hash that seals it;
  entries read back, page by page.
- :mod:`~app.services.ledger.posting`: writing an entry: the locks, the hash chains, the
  postings and the balances (the hot write path, in driver SQL).
- :mod:`~app.services.ledger.rollup`: the auditors' totals kept as entries are written, their
  rebuild from the entries, and where the kept ones differ from the entries.
- :mod:`~app.services.ledger.totals`: the auditors' totals read: from the kept rows when they
  hold the answer, otherwise from the entries.
- :mod:`~app.services.ledger.verify`: recomputing every chain, sum, balance and kept total.
- :mod:`~app.services.ledger.export`: the entries as CSV or as a Beancount file.

Calendar periods (``2020-05``, ``2020-Q2``, ``2020``) come from :mod:`app.core.calendar`.
"""
