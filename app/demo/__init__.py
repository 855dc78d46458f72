"""The generated demo dataset behind ``innoshare seed``: not business logic.

:func:`app.demo.load.seed_database` is the entry; the sections it runs write organizations,
accounts, catalogs, policies and deals through the services' own rules (search columns, the
deal state machine, the ledger). Progress goes to a callback; drawing it is the CLI's job.
"""
