"""What auditors read from the ledger: accounts and balances (also as of a past time),
entries, totals by period or party, and exports (CSV, Beancount)."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.db import Database
from app.core.errors import NotFound, ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.models.base import UTCDateTime
from app.models.ledger import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LedgerBalance,
    LedgerTotal,
    LedgerTotalsState,
    Posting,
    TotalsDimension,
    TotalsPeriod,
)
from app.models.orgs import Organization
from app.schemas.base import fen_to_yuan
from app.services import ledger


class GroupBy(StrEnum):
    none = "none"
    month = "month"
    quarter = "quarter"
    year = "year"
    category = "category"
    seller = "seller"
    buyer = "buyer"


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account: LedgerAccount
    balance_fen: int
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class TotalsRow:
    group: str | None
    transaction_volume_fen: int
    tax_total_fen: int
    fee_total_fen: int
    deals_settled: int
    enterprises_served: int


# --- accounts --------------------------------------------------------------------------------


async def list_accounts(session: AsyncSession) -> list[AccountBalance]:
    balances = dict(
        (
            await session.execute(
                select(LedgerBalance.account_id, func.sum(LedgerBalance.balance_fen)).group_by(
                    LedgerBalance.account_id
                )
            )
        ).all()
    )
    accounts = (await session.scalars(select(LedgerAccount).order_by(LedgerAccount.code))).all()
    return [AccountBalance(a, int(balances.get(a.id, 0)), None) for a in accounts]


async def account_balance(
    session: AsyncSession, account_id: uuid.UUID, *, as_of: datetime | None
) -> AccountBalance:
    account = await session.get(LedgerAccount, account_id)
    if account is None:
        raise NotFound(f"No ledger account {account_id}.")
    if as_of is None:
        return AccountBalance(account, await ledger.balance(session, account_id), None)
    total = await session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == account_id, JournalEntry.occurred_at <= as_of)
    )
    return AccountBalance(account, int(total or 0), as_of)


# --- entries ---------------------------------------------------------------------------------

ENTRY_ORDER = KeysetOrder("entries:time", (JournalEntry.occurred_at, JournalEntry.id), False)


async def list_entries(
    session: AsyncSession,
    *,
    deal_id: uuid.UUID | None,
    account_id: uuid.UUID | None,
    kind: EntryKind | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[JournalEntry]:
    """Entries oldest first (the order they happened in), each with its postings."""
    stmt = select(JournalEntry)
    if deal_id is not None:
        stmt = stmt.where(JournalEntry.deal_id == deal_id)
    if account_id is not None:
        stmt = stmt.where(
            JournalEntry.id.in_(select(Posting.entry_id).where(Posting.account_id == account_id))
        )
    if kind is not None:
        stmt = stmt.where(JournalEntry.kind == kind)
    stmt = stmt.where(*_period(start, end))
    return await paginate(session, stmt, order=ENTRY_ORDER, limit=limit, cursor=cursor)


def check_period(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("'to' must be after 'from'.", code="empty_period")


def _period(start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    check_period(start, end)
    conditions = []
    if start is not None:
        conditions.append(JournalEntry.occurred_at >= start)
    if end is not None:
        conditions.append(JournalEntry.occurred_at < end)
    return conditions


# --- totals ----------------------------------------------------------------------------------


def _period_key(session: AsyncSession, unit: GroupBy, zone: str) -> ColumnElement[Any]:
    """The calendar period (in ``zone``) of an entry. On PostgreSQL the start of the period
    (``date_trunc`` in the zone: cheap per row, formatted once per group by ``_period_label``);
    on SQLite already the text: 2020-05, 2020-Q2, 2020."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit.value, JournalEntry.occurred_at, zone, type_=UTCDateTime())
    return func.innoshare_period(JournalEntry.occurred_at, zone, unit.value)


def _period_label(start: datetime | str, unit: GroupBy, zone: str) -> str:
    """The text of a period (2020-05, 2020-Q2, 2020) from what ``_period_key`` gave."""
    if isinstance(start, str):
        return start
    local = start.astimezone(ZoneInfo(zone))
    if unit is GroupBy.month:
        return f"{local.year:04d}-{local.month:02d}"
    if unit is GroupBy.quarter:
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}"


def _settlements(start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """Settlement entries (and reversals of settlements) of the period.

    Written with constants, not bound parameters, and exactly as the predicate of the partial
    index ``ix_journal_entries_settlements``: the planner uses that index only when it can
    prove the query's WHERE implies the predicate, which it cannot for a parameter (asyncpg's
    prepared statements go to generic plans)."""
    reversed_settlement = and_(
        JournalEntry.kind == literal_column(f"'{EntryKind.reversal.value}'"),
        JournalEntry.volume_fen != literal_column("0"),
    )
    return [
        or_(
            JournalEntry.kind == literal_column(f"'{EntryKind.settlement.value}'"),
            reversed_settlement,
        ),
        *_period(start, end),
    ]


async def totals(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    group_by: GroupBy,
    zone: str,
) -> list[TotalsRow]:
    """Volume (gross released to sellers), tax and fee per group: the sums of the period's
    settlement entries and of the reversals of settlements. Deals settled: the deals with net
    money released in the group (a settlement reversed within the group nets to nothing), and
    enterprises served: their distinct buyers.

    Everything is read from the entries of the period alone, so a closed period's figures never
    change: a reversal posted later takes its amounts back in its own period.

    Answered from the totals kept by ``ledger.post_entry`` (``ledger_totals``) when they hold
    exactly the answer: all time, or whole calendar buckets of the kept time zone that the
    grouping can add up (see :func:`_kept_totals_query`); otherwise from the entries."""
    check_period(start, end)
    kept = await totals_from_kept(session, start=start, end=end, group_by=group_by, zone=zone)
    if kept is not None:
        return kept
    return await totals_from_entries(session, start=start, end=end, group_by=group_by, zone=zone)


@dataclass(frozen=True, slots=True)
class _KeptQuery:
    kind: TotalsPeriod
    dimension: TotalsDimension
    first: str | None  # the first bucket's label, inclusive (None: from the first)
    stop: str | None  # the label of the bucket after the last (None: to the last)
    relabel: str | None = None  # one bucket inside a longer one: the group is the longer one


_DIMENSIONS = {
    GroupBy.none: TotalsDimension.none,
    GroupBy.category: TotalsDimension.category,
    GroupBy.seller: TotalsDimension.seller,
    GroupBy.buyer: TotalsDimension.buyer,
}
_BUCKETS = (TotalsPeriod.month, TotalsPeriod.quarter, TotalsPeriod.year)


def _bucket_start(at: datetime, kind: TotalsPeriod, zone: str) -> datetime:
    """The start of the bucket of ``kind`` that holds ``at``, as the router makes a day's start
    (local midnight of the zone)."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    month = local.month if kind is TotalsPeriod.month else 1
    if kind is TotalsPeriod.quarter:
        month = (local.month - 1) // 3 * 3 + 1
    return datetime(local.year, month, 1, tzinfo=tz)


def _next_bucket(start: datetime, kind: TotalsPeriod, zone: str) -> datetime:
    local = start.astimezone(ZoneInfo(zone))
    months = {TotalsPeriod.month: 1, TotalsPeriod.quarter: 3, TotalsPeriod.year: 12}[kind]
    year, month = divmod(local.month - 1 + months, 12)
    return datetime(local.year + year, month + 1, 1, tzinfo=ZoneInfo(zone))


def _label(at: datetime, kind: TotalsPeriod, zone: str) -> str:
    return dict(ledger.totals_periods(at, zone))[kind]


def _one_bucket(
    start: datetime | None, end: datetime | None, zone: str
) -> tuple[TotalsPeriod, str] | None:
    """The month, quarter or year that the period [start, end) is exactly, if any."""
    if start is None or end is None:
        return None
    for kind in _BUCKETS:
        if _bucket_start(start, kind, zone) == start and _next_bucket(start, kind, zone) == end:
            return kind, _label(start, kind, zone)
    return None


def _kept_totals_query(
    start: datetime | None, end: datetime | None, group_by: GroupBy, zone: str
) -> _KeptQuery | None:
    """Which kept rows answer the request exactly, if any.

    Amounts add up over buckets, distinct counts do not: a deal settled in April and in May is
    one deal of the quarter. So a grouping by month, quarter or year reads its own buckets over
    any period made of whole ones (open on either side or both), or the one bucket a period is
    (a quarter grouped by year: the year's group of that quarter); any other grouping reads one
    bucket: all time (no ``from``, no ``to``), or a period that is exactly one month, quarter or
    year (``from=2026-04-01&to=2026-06-30`` is the second quarter: the router makes those days
    [04-01 00:00, 07-01 00:00) of the zone)."""
    single = _one_bucket(start, end, zone)
    if group_by in _DIMENSIONS:
        dimension = _DIMENSIONS[group_by]
        if start is None and end is None:
            return _KeptQuery(TotalsPeriod.all, dimension, None, None)
        if single is None:
            return None
        return _KeptQuery(single[0], dimension, single[1], single[1])
    kind = TotalsPeriod(group_by.value)
    if any(edge is not None and _bucket_start(edge, kind, zone) != edge for edge in (start, end)):
        if single is None or start is None:
            return None
        return _KeptQuery(
            single[0], TotalsDimension.none, single[1], single[1], _label(start, kind, zone)
        )
    return _KeptQuery(
        kind,
        TotalsDimension.none,
        _label(start, kind, zone) if start is not None else None,
        _label(end, kind, zone) if end is not None else None,
    )


async def totals_from_kept(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    group_by: GroupBy,
    zone: str,
) -> list[TotalsRow] | None:
    """:func:`totals` read from the kept totals; None when they cannot answer: a period that
    is not made of whole buckets the grouping can add up, or totals not kept in ``zone``
    (not kept at all, or in the calendar of another time zone: rebuild them)."""
    query = _kept_totals_query(start, end, group_by, zone)
    if query is None:
        return None
    key = LedgerTotal.group_key if group_by in _DIMENSIONS else LedgerTotal.period
    stmt = (
        select(
            key,
            func.sum(LedgerTotal.volume_fen),
            func.sum(LedgerTotal.tax_fen),
            func.sum(LedgerTotal.fee_fen),
            func.sum(LedgerTotal.deals_settled),
            func.sum(LedgerTotal.enterprises_served),
        )
        # in the same statement as the rows: a rebuild for another zone is seen by both or none
        .join(LedgerTotalsState, LedgerTotalsState.zone == zone)
        .where(LedgerTotal.period_kind == query.kind, LedgerTotal.dimension == query.dimension)
        .group_by(key)
    )
    if query.first is not None and query.first == query.stop:
        stmt = stmt.where(LedgerTotal.period == query.first)
    else:
        if query.first is not None:
            stmt = stmt.where(LedgerTotal.period >= query.first)
        if query.stop is not None:
            stmt = stmt.where(LedgerTotal.period < query.stop)
    rows = (await session.execute(stmt)).all()
    if not rows and await session.scalar(select(LedgerTotalsState.zone)) != zone:
        return None
    result = sorted(
        (
            TotalsRow(
                group=query.relabel or _kept_group(key_value, group_by),
                transaction_volume_fen=int(volume),
                tax_total_fen=int(tax),
                fee_total_fen=int(fee),
                deals_settled=int(deals),
                enterprises_served=int(buyers),
            )
            for key_value, volume, tax, fee, deals, buyers in rows
        ),
        key=lambda row: (row.group is None, row.group or ""),
    )
    if group_by is GroupBy.none and not result:
        result = [TotalsRow(None, 0, 0, 0, 0, 0)]
    return result


def _kept_group(key: str, group_by: GroupBy) -> str | None:
    if key == "":
        return None
    if group_by in (GroupBy.seller, GroupBy.buyer):
        return str(uuid.UUID(hex=key))
    return key


async def totals_from_entries(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    group_by: GroupBy,
    zone: str,
) -> list[TotalsRow]:
    """:func:`totals` read from the entries of the period (any period, any time zone)."""
    group: ColumnElement[Any] | InstrumentedAttribute[Any]
    if group_by is GroupBy.none:
        group = null()
    elif group_by is GroupBy.category:
        group = JournalEntry.category
    elif group_by is GroupBy.seller:
        group = JournalEntry.seller_id
    elif group_by is GroupBy.buyer:
        group = JournalEntry.buyer_id
    else:
        group = _period_key(session, group_by, zone)
    found = ledger.settlement_aggregates([group.label("grp")], _settlements(start, end))
    stmt = found.totals.order_by(found.per_buyer.c.grp)
    rows = (await session.execute(stmt)).all()
    periodic = group_by in (GroupBy.month, GroupBy.quarter, GroupBy.year)
    result = [
        TotalsRow(
            group=None
            if grp is None
            else _period_label(grp, group_by, zone)
            if periodic
            else str(grp.value if isinstance(grp, StrEnum) else grp),
            transaction_volume_fen=int(volume),
            tax_total_fen=int(tax),
            fee_total_fen=int(fee),
            deals_settled=int(deals),
            enterprises_served=int(buyers),
        )
        for grp, volume, fee, tax, deals, buyers in rows
    ]
    if group_by is GroupBy.none and not result:
        result = [TotalsRow(None, 0, 0, 0, 0, 0)]
    return result


# --- exports ---------------------------------------------------------------------------------

EXPORT_BATCH = 1000
CSV_HEADER = [
    "entry_id",
    "chain",
    "seq",
    "occurred_at",
    "kind",
    "deal_id",
    "category",
    "line",
    "account",
    "amount",
    "memo",
    "hash",
]


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
) -> AsyncIterator[bytes]:
    """The export as it streams out, read in a read session of its own (the response is
    sent while it is read)."""
    async with db.unit_of_work(write=False) as session:
        if export_format == "csv":
            chunks = export_csv(session, start=start, end=end)
        else:
            chunks = export_beancount(session, start=start, end=end, zone=zone)
        async for chunk in chunks:
            yield chunk.encode()


async def export_csv(
    session: AsyncSession, *, start: datetime | None, end: datetime | None
) -> AsyncIterator[str]:
    """One row per posting, entries in the order they happened; amounts as decimal strings
    (CNY), positive for what the account receives."""
    await hold_snapshot(session)
    codes = dict((await session.execute(select(LedgerAccount.id, LedgerAccount.code))).all())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    async for entry, lines in _entries_with_postings(session, start, end):
        for line, (account_id, amount) in enumerate(lines, start=1):
            writer.writerow(
                [
                    entry.id,
                    entry.chain,
                    entry.seq,
                    entry.occurred_at.isoformat(),
                    entry.kind.value,
                    entry.deal_id or "",
                    entry.category.value if entry.category else "",
                    line,
                    codes[account_id],
                    fen_to_yuan(amount),
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
    accounts = (await session.scalars(select(LedgerAccount).order_by(LedgerAccount.code))).all()
    names = {a.id: beancount_account(a) for a in accounts}
    org_ids = [a.organization_id for a in accounts if a.organization_id]
    orgs = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
            )
        ).all()
    )
    # A balance assertion holds at the start of its day: the day after the period's last day
    # sees every entry of the period (the entries of a period that runs on into the future
    # are dated up to their own day: see below).
    last_moment = (end or datetime.now(UTC)) - ONE_MICROSECOND
    assertion_day = last_moment.astimezone(tz).date() + ONE_DAY
    earliest = await session.scalar(select(func.min(JournalEntry.occurred_at)))
    open_day = min(assertion_day, earliest.astimezone(tz).date() if earliest else assertion_day)
    out = ['option "title" "InnoShare settlement ledger"', 'option "operating_currency" "CNY"', ""]
    for account in accounts:
        owner = account.organization_id
        label = _one_line(orgs.get(owner, account.code) if owner else account.code)
        out.append(f"{open_day.isoformat()} open {names[account.id]} CNY ; {label}")
    out.append("")
    if start is not None:
        held_before = await _balances(session, None, start)
        opening = [(a, held_before[a.id]) for a in accounts if held_before.get(a.id)]
        if opening:
            # The postings of all accounts sum to zero, so the opening needs no equity leg.
            day = (start - ONE_MICROSECOND).astimezone(tz).date()
            out.append(f'{day.isoformat()} * "opening" "期初余额"')
            for account, held in opening:
                out.append(f"  {names[account.id]}  {fen_to_yuan(-held)} CNY")
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
            chunk.append(f"  {names[account_id]}  {fen_to_yuan(-amount)} CNY")
        chunk.append("")
        if len(chunk) > 2000:
            yield "\n".join(chunk) + "\n"
            chunk = []
    held_at_end = await _balances(session, None, end)
    for account in accounts:
        held = held_at_end.get(account.id, 0)
        chunk.append(
            f"{assertion_day.isoformat()} balance {names[account.id]}  {fen_to_yuan(-held)} CNY"
        )
    yield "\n".join(chunk) + "\n"


async def _balances(
    session: AsyncSession, start: datetime | None, end: datetime | None
) -> dict[uuid.UUID, int]:
    """Each account's sum of postings of the period (the balance, when it has no start)."""
    rows = await session.execute(
        select(Posting.account_id, func.sum(Posting.amount_fen))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*_period(start, end))
        .group_by(Posting.account_id)
    )
    return {account_id: int(total) for account_id, total in rows.all()}
