"""The ledger exported for auditors, streamed: CSV (one row per posting) or a Beancount file
with balance assertions. Both write the same postings alike: the same days (the platform's
time zone), accounts and signs (the platform's books: debit positive, credit negative)."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.calendar import utcnow
from app.core.db import Database
from app.models.ledger import AccountKind, JournalEntry, LedgerAccount, Posting
from app.models.orgs import Organization
from app.schemas.base import fen_to_yuan
from app.services.ledger.entries import list_entries, occurred_within

EXPORT_BATCH = 1000
#: The CSV's columns: one row per posting. ``date`` is the day in the platform's time zone
#: (the Beancount transaction's date), ``account_name`` the Beancount account, ``amount`` the
#: Beancount posting's amount (the platform's books: debit positive, credit negative).
CSV_HEADER = [
    "entry_id",
    "chain",
    "seq",
    "occurred_at",
    "date",
    "kind",
    "deal_id",
    "category",
    "line",
    "account",
    "account_name",
    "organization_id",
    "organization_name",
    "amount",
    "currency",
    "memo",
    "hash",
]
#: What the CSV starts with when asked (``bom=true``, the default): the UTF-8 byte order mark,
#: by which Excel tells UTF-8 from the desktop's legacy code page (GBK on Chinese Windows).
UTF8_BOM = "\ufeff"


async def hold_snapshot(session: AsyncSession) -> None:
    """Make the session's reads one snapshot, so an export's many queries (accounts, pages of
    entries, balances) agree with one another while entries are being written.

    Read sessions run each statement on its own (autocommit); this one is begun as a read
    transaction instead: REPEATABLE READ on PostgreSQL, a deferred BEGIN on SQLite (in WAL
    mode a reader keeps the snapshot of its first read and does not block writers). A session
    joined to a transaction its caller holds (the tests') keeps that transaction's view.
    """
    if session.in_transaction() or not isinstance(session.bind, AsyncEngine):
        return
    level = "REPEATABLE READ" if session.bind.dialect.name == "postgresql" else "SERIALIZABLE"
    await session.connection(execution_options={"isolation_level": level})


async def _entries_with_postings(
    session: AsyncSession, start: datetime | None, end: datetime | None
) -> AsyncIterator[tuple[JournalEntry, list[tuple[uuid.UUID, int]]]]:
    cursor: str | None = None
    while True:
        page = await list_entries(
            session,
            deal_id=None,
            account_id=None,
            kind=None,
            start=start,
            end=end,
            limit=EXPORT_BATCH,
            cursor=cursor,
        )
        for entry in page.items:
            yield entry, [(p.account_id, p.amount_fen) for p in entry.postings]
        session.expunge_all()
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def export(
    db: Database,
    export_format: Literal["csv", "beancount"],
    *,
    start: datetime | None,
    end: datetime | None,
    zone: str,
    bom: bool = True,
) -> AsyncIterator[bytes]:
    """The export as it streams out, read in a read session of its own (the response is
    sent while it is read)."""
    async with db.unit_of_work(write=False) as session:
        if export_format == "csv":
            chunks = export_csv(session, start=start, end=end, zone=zone, bom=bom)
        else:
            chunks = export_beancount(session, start=start, end=end, zone=zone)
        async for chunk in chunks:
            yield chunk.encode()


def books_amount(amount_fen: int) -> str:
    """A posting's amount in the platform's books, as both exports write it: debit positive,
    credit negative (a ledger posting's amount is what its account receives; an account the
    platform holds money in is an asset, one it owes from a liability, so the sign flips)."""
    return fen_to_yuan(-amount_fen)


@dataclass(frozen=True, slots=True)
class ExportAccount:
    """An account as both exports name it."""

    code: str
    name: str
    """Its Beancount account (ASCII)."""
    organization_id: uuid.UUID | None
    organization_name: str


async def export_accounts(session: AsyncSession) -> dict[uuid.UUID, ExportAccount]:
    """Every account with its Beancount name and, for an organization's payable, the
    organization's id and name; in code order."""
    rows = await session.execute(
        select(LedgerAccount, Organization.name)
        .outerjoin(Organization, Organization.id == LedgerAccount.organization_id)
        .order_by(LedgerAccount.code)
    )
    return {
        account.id: ExportAccount(
            code=account.code,
            name=beancount_account(account),
            organization_id=account.organization_id,
            organization_name=org_name or "",
        )
        for account, org_name in rows.all()
    }


async def export_csv(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    zone: str,
    bom: bool = True,
) -> AsyncIterator[str]:
    """One row per posting, entries in the order they happened, with the Beancount file's
    dates, accounts and signs (:func:`books_amount`), each organization named beside its id;
    after a byte order mark unless ``bom`` is false."""
    await hold_snapshot(session)
    tz = ZoneInfo(zone)
    accounts = await export_accounts(session)
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    async for entry, lines in _entries_with_postings(session, start, end):
        for line, (account_id, amount) in enumerate(lines, start=1):
            account = accounts[account_id]
            writer.writerow(
                [
                    entry.id,
                    entry.chain,
                    entry.seq,
                    entry.occurred_at.isoformat(),
                    entry.occurred_at.astimezone(tz).date().isoformat(),
                    entry.kind.value,
                    entry.deal_id or "",
                    entry.category.value if entry.category else "",
                    line,
                    account.code,
                    account.name,
                    account.organization_id or "",
                    account.organization_name,
                    books_amount(amount),
                    "CNY",
                    entry.memo,
                    entry.hash,
                ]
            )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


#: Beancount account of each kind, from the platform's books: money it holds is an asset
#: (bank), money it owes is a liability (escrow, sellers' payables, tax), its fee is income.
#: A posting's amount in the ledger is what the account receives; in the platform's books that
#: is the opposite sign (receiving into escrow is a credit to a liability), so amounts flip.
BEANCOUNT_ACCOUNTS = {
    AccountKind.bank: "Assets:Bank:Clearing",
    AccountKind.escrow: "Liabilities:Escrow",
    AccountKind.fee_revenue: "Income:PlatformFees",
    AccountKind.tax_payable: "Liabilities:TaxPayable",
}
ONE_MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)


def beancount_account(account: LedgerAccount) -> str:
    if account.kind is AccountKind.organization:
        assert account.organization_id is not None
        return f"Liabilities:Payable:Org-{account.organization_id.hex}"
    return BEANCOUNT_ACCOUNTS[account.kind]


def _quote(text: str) -> str:
    return '"' + _one_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def export_beancount(
    session: AsyncSession, *, start: datetime | None, end: datetime | None, zone: str
) -> AsyncIterator[str]:
    """A Beancount file of the period: ASCII account names, Chinese narration, every amount
    explicit; the balances before the period as one opening transaction, and a balance
    assertion per account after the period's last day (``bean-check`` verifies them).

    Dates are days of ``zone``. The assertions are the accounts' balances at the end of the
    period read from the database, not sums of what was written, so ``bean-check`` also proves
    that the file holds every entry of the period."""
    await hold_snapshot(session)
    tz = ZoneInfo(zone)
    accounts = await export_accounts(session)
    names = {account_id: account.name for account_id, account in accounts.items()}
    # A balance assertion holds at the start of its day: the day after the period's last day
    # sees every entry of the period (the entries of a period that runs on into the future
    # are dated up to their own day: see below).
    last_moment = (end or utcnow()) - ONE_MICROSECOND
    assertion_day = last_moment.astimezone(tz).date() + ONE_DAY
    earliest = await session.scalar(select(func.min(JournalEntry.occurred_at)))
    open_day = min(assertion_day, earliest.astimezone(tz).date() if earliest else assertion_day)
    out = ['option "title" "InnoShare settlement ledger"', 'option "operating_currency" "CNY"', ""]
    for account in accounts.values():
        label = _one_line(account.organization_name or account.code)
        out.append(f"{open_day.isoformat()} open {account.name} CNY ; {label}")
    out.append("")
    if start is not None:
        held_before = await _balances(session, None, start)
        opening = [(a, held_before[a]) for a in accounts if held_before.get(a)]
        if opening:
            # The postings of all accounts sum to zero, so the opening needs no equity leg.
            day = (start - ONE_MICROSECOND).astimezone(tz).date()
            out.append(f'{day.isoformat()} * "opening" "期初余额"')
            for account_id, held in opening:
                out.append(f"  {names[account_id]}  {books_amount(held)} CNY")
            out.append("")
    yield "\n".join(out) + "\n"
    chunk: list[str] = []
    async for entry, lines in _entries_with_postings(session, start, end):
        day = entry.occurred_at.astimezone(tz).date()
        assertion_day = max(assertion_day, day + ONE_DAY)
        narration = entry.memo or entry.kind.value
        chunk.append(f"{day.isoformat()} * {_quote(entry.kind.value)} {_quote(narration)}")
        chunk.append(f'  entry: "{entry.id}"')
        chunk.append(f'  hash: "{entry.hash}"')
        for account_id, amount in lines:
            chunk.append(f"  {names[account_id]}  {books_amount(amount)} CNY")
        chunk.append("")
        if len(chunk) > 2000:
            yield "\n".join(chunk) + "\n"
            chunk = []
    held_at_end = await _balances(session, None, end)
    for account_id, name in names.items():
        held = held_at_end.get(account_id, 0)
        chunk.append(f"{assertion_day.isoformat()} balance {name}  {books_amount(held)} CNY")
    yield "\n".join(chunk) + "\n"


async def _balances(
    session: AsyncSession, start: datetime | None, end: datetime | None
) -> dict[uuid.UUID, int]:
    """Each account's sum of postings of the period (the balance, when it has no start)."""
    rows = await session.execute(
        select(Posting.account_id, func.sum(Posting.amount_fen))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*occurred_within(start, end))
        .group_by(Posting.account_id)
    )
    return {account_id: int(total) for account_id, total in rows.all()}
