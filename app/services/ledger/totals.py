"""The auditors' totals: volume, tax, fee, deals settled and enterprises served, per calendar
period, contract category, seller or buyer; read from the kept totals (:mod:`.rollup`) when they
hold exactly the answer, otherwise from the settlement entries."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    TextClause,
    and_,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.calendar import (
    next_period_start,
    period_key_sql,
    period_label,
    period_of_key,
    period_start,
)
from app.models.ledger import (
    EntryKind,
    JournalEntry,
    LedgerTotal,
    LedgerTotalsState,
    Posting,
    TotalsDimension,
    TotalsPeriod,
)
from app.services.ledger.accounts import TAX_PAYABLE
from app.services.ledger.entries import check_period, occurred_within


class GroupBy(StrEnum):
    none = "none"
    month = "month"
    quarter = "quarter"
    year = "year"
    category = "category"
    seller = "seller"
    buyer = "buyer"


@dataclass(frozen=True, slots=True)
class TotalsRow:
    group: str | None
    transaction_volume_fen: int
    tax_total_fen: int
    fee_total_fen: int
    deals_settled: int
    enterprises_served: int


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

    Answered from the totals kept as entries are posted (``ledger_totals``, see :mod:`.rollup`)
    when they hold exactly the answer: all time, or whole calendar buckets of the kept time zone
    that the grouping can add up (see :func:`_kept_totals_query`); otherwise from the entries."""
    check_period(start, end)
    kept = await totals_from_kept(session, start=start, end=end, group_by=group_by, zone=zone)
    if kept is not None:
        return kept
    return await totals_from_entries(session, start=start, end=end, group_by=group_by, zone=zone)


# --- from the kept totals --------------------------------------------------------------------


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
#: The kept buckets that are calendar periods (the fourth is all time).
CALENDAR_BUCKETS = (TotalsPeriod.month, TotalsPeriod.quarter, TotalsPeriod.year)


def _one_bucket(
    start: datetime | None, end: datetime | None, zone: str
) -> tuple[TotalsPeriod, str] | None:
    """The month, quarter or year that the period [start, end) is exactly, if any (a bucket
    starts as the router makes a day's start: local midnight of the zone)."""
    if start is None or end is None:
        return None
    for kind in CALENDAR_BUCKETS:
        if (
            period_start(start, kind.value, zone) == start
            and next_period_start(start, kind.value, zone) == end
        ):
            return kind, period_label(start, kind.value, zone)
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
    unit = group_by.value
    if any(edge is not None and period_start(edge, unit, zone) != edge for edge in (start, end)):
        if single is None or start is None:
            return None
        return _KeptQuery(
            single[0], TotalsDimension.none, single[1], single[1], period_label(start, unit, zone)
        )
    return _KeptQuery(
        TotalsPeriod(unit),
        TotalsDimension.none,
        period_label(start, unit, zone) if start is not None else None,
        period_label(end, unit, zone) if end is not None else None,
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


# --- from the entries ------------------------------------------------------------------------

RowsQuery = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class SettlementAggregates:
    entries: Subquery  # keys…, deal_id, buyer_id, volume_fen, fee_fen, tax_fen
    per_buyer: Subquery  # keys…, buyer_id, volume, fee, tax, deals (with net money released)
    totals: RowsQuery  # keys…, volume, fee, tax, deals settled, buyers served


def settlement_aggregates(
    keys: Sequence[ColumnElement[Any]], conditions: Sequence[ColumnElement[bool] | TextClause]
) -> SettlementAggregates:
    """The auditors' totals of the settlement entries that meet ``conditions``, per value of
    the labelled ``keys``: what :func:`totals` answers from the entries, and what the kept
    totals are rebuilt from and verified against (:mod:`.rollup`).

    Three aggregations, each over the previous one's rows, none needing a sort or a
    count(DISTINCT) (PostgreSQL hashes them): per (keys, deal) the deal's net amounts; per
    (keys, buyer) the sums and the deals with net money released; per keys the sums, those
    deals, and the buyers with at least one of them. A deal has one buyer, so counting the
    (keys, deal) rows is counting distinct deals, and the (keys, buyer) rows distinct buyers.
    The keys are computed once, in the innermost query, and grouped by name above it:
    PostgreSQL would not match an expression with bound parameters (a time zone) written
    twice, in SELECT and in GROUP BY."""
    entries = (
        select(
            *keys,
            JournalEntry.deal_id,
            JournalEntry.buyer_id,
            JournalEntry.volume_fen,
            JournalEntry.fee_fen,
            JournalEntry.tax_fen,
        )
        .where(*conditions)
        .subquery("entries")
    )
    entry_keys = [entries.c[key.name] for key in keys]
    per_deal = (
        select(
            *entry_keys,
            entries.c.deal_id,
            entries.c.buyer_id,
            func.sum(entries.c.volume_fen).label("volume"),
            func.sum(entries.c.fee_fen).label("fee"),
            func.sum(entries.c.tax_fen).label("tax"),
        )
        .group_by(*entry_keys, entries.c.deal_id, entries.c.buyer_id)
        .subquery("per_deal")
    )
    deal_keys = [per_deal.c[key.name] for key in keys]
    per_buyer = (
        select(
            *deal_keys,
            per_deal.c.buyer_id,
            func.sum(per_deal.c.volume).label("volume"),
            func.sum(per_deal.c.fee).label("fee"),
            func.sum(per_deal.c.tax).label("tax"),
            func.count(case((per_deal.c.volume > 0, per_deal.c.deal_id))).label("deals"),
        )
        .group_by(*deal_keys, per_deal.c.buyer_id)
        .subquery("per_buyer")
    )
    buyer_keys = [per_buyer.c[key.name] for key in keys]
    totals = select(
        *buyer_keys,
        func.sum(per_buyer.c.volume),
        func.sum(per_buyer.c.fee),
        func.sum(per_buyer.c.tax),
        func.sum(per_buyer.c.deals),
        func.count(case((per_buyer.c.deals > 0, per_buyer.c.buyer_id))),
    ).group_by(*buyer_keys)
    return SettlementAggregates(entries=entries, per_buyer=per_buyer, totals=totals)


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
        *occurred_within(start, end),
    ]


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
    periodic = group_by in (GroupBy.month, GroupBy.quarter, GroupBy.year)
    if group_by is GroupBy.none:
        group = null()
    elif group_by is GroupBy.category:
        group = JournalEntry.category
    elif group_by is GroupBy.seller:
        group = JournalEntry.seller_id
    elif group_by is GroupBy.buyer:
        group = JournalEntry.buyer_id
    else:
        dialect = session.get_bind().dialect.name
        group = period_key_sql(dialect, JournalEntry.occurred_at, group_by.value, zone)
    found = settlement_aggregates([group.label("grp")], _settlements(start, end))
    stmt = found.totals.order_by(found.per_buyer.c.grp)
    rows = (await session.execute(stmt)).all()
    result = [
        TotalsRow(
            group=None
            if grp is None
            else period_of_key(grp, group_by.value, zone)
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


async def tax_remitted(
    session: AsyncSession, *, start: datetime | None, end: datetime | None
) -> int:
    """Tax paid to the authority in [start, end): what the ``tax_remittance`` entries of the
    period took from tax payable (``app/services/payouts.py`` posts them)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(-Posting.amount_fen), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            JournalEntry.kind == EntryKind.tax_remittance,
            Posting.account_id == TAX_PAYABLE,
            *occurred_within(start, end),
        )
    )
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class TotalsReport:
    groups: list[TotalsRow]
    tax_remitted_fen: int


async def totals_report(
    session: AsyncSession,
    *,
    start: datetime | None,
    end: datetime | None,
    group_by: GroupBy,
    zone: str,
) -> TotalsReport:
    """:func:`totals` by group, and the tax remitted over the whole period beside them (the
    groups' ``tax_total`` is tax accrued: withheld at settlement)."""
    groups = await totals(session, start=start, end=end, group_by=group_by, zone=zone)
    return TotalsReport(groups, await tax_remitted(session, start=start, end=end))
