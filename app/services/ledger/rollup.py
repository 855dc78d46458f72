"""The auditors' totals kept as entries are written (``ledger_totals`` and the deal and buyer
rows behind their counts), rebuilt from the entries, and compared with them.

A settlement (or the reversal of one) is added by :func:`add_to_totals`, in the transaction
that posts it: per calendar bucket (month, quarter, year, all time) and group (none, category,
seller, buyer), volume, fee and tax go into the group's row of the entry's chain, like the
balances; a deal's net volume per bucket (written under the deal's lock) and a buyer's count of
settled deals per group (rows locked in key order) turn into exact deal and buyer counts.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    except_,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import period_label, period_label_sql, utcnow
from app.core.sql import RowsSQL, adding_upsert_sql, execute_sql, table_of
from app.models.ledger import (
    SETTLEMENTS_PREDICATE,
    EntryKind,
    JournalEntry,
    LedgerChain,
    LedgerTotal,
    LedgerTotalBuyer,
    LedgerTotalDeal,
    LedgerTotalsState,
    TotalsDimension,
    TotalsPeriod,
)
from app.services.ledger.entries import EntryFacts
from app.services.ledger.totals import CALENDAR_BUCKETS, RowsQuery, settlement_aggregates


def counts_in_totals(facts: EntryFacts) -> bool:
    """Settlements and reversals of settlements: the entries the totals add up (the predicate
    of ``ix_journal_entries_settlements``)."""
    return facts.kind is EntryKind.settlement or (
        facts.kind is EntryKind.reversal and facts.volume_fen != 0
    )


def totals_periods(when: datetime, zone: str) -> list[tuple[TotalsPeriod, str]]:
    """The month, quarter, year (in ``zone``) and all-time buckets of an instant."""
    return [
        *((kind, period_label(when, kind.value, zone)) for kind in CALENDAR_BUCKETS),
        (TotalsPeriod.all, ""),
    ]


def _totals_groups(facts: EntryFacts) -> list[tuple[TotalsDimension, str]]:
    return [
        (TotalsDimension.none, ""),
        (TotalsDimension.category, facts.category.value if facts.category else ""),
        (TotalsDimension.seller, facts.seller_id.hex if facts.seller_id else ""),
        (TotalsDimension.buyer, facts.buyer_id.hex if facts.buyer_id else ""),
    ]


def _crossing(before: int, after: int) -> int:
    """+1 when a count's subject becomes positive, -1 when it stops being positive."""
    return int(after > 0) - int(before > 0)


# Driver SQL (the posting of an entry runs these), built from the tables at import time.
_ADD_TO_DEALS = RowsSQL(
    lambda rows: adding_upsert_sql(
        table_of(LedgerTotalDeal),
        ("period_kind", "period", "deal_id"),
        ("volume_fen",),
        rows=rows,
        returning=("period_kind", "volume_fen"),
    )
)
_ADD_TO_BUYERS = RowsSQL(
    lambda rows: adding_upsert_sql(
        table_of(LedgerTotalBuyer),
        ("period_kind", "period", "dimension", "group_key", "buyer_id"),
        ("deals",),
        rows=rows,
        returning=("period_kind", "dimension", "deals"),
    )
)
_ADD_TO_TOTALS = RowsSQL(
    lambda rows: adding_upsert_sql(
        table_of(LedgerTotal),
        ("period_kind", "dimension", "period", "group_key", "shard"),
        ("volume_fen", "fee_fen", "tax_fen", "deals_settled", "enterprises_served"),
        rows=rows,
    )
)


async def add_to_totals(
    session: AsyncSession, zone: str, shard: int, facts: EntryFacts, when: datetime
) -> None:
    """Add one settlement (or reversal of one) to the totals: at most three statements.

    1. The deal's net volume in each bucket; where it crosses zero the deal starts (or stops)
       counting as settled in that bucket. The deal's row lock serializes these rows.
    2. Only then: the buyer's count of settled deals per bucket and group; where that crosses
       zero the buyer starts (or stops) counting as served. Two deals of one buyer may write
       the same rows at once: they are written in key order, so they queue, never deadlock.
    3. The sums and count changes, into the group rows of the entry's chain (``shard``): no
       other running transaction writes those rows.
    """
    periods = totals_periods(when, zone)
    groups = _totals_groups(facts)
    deals_changed: dict[TotalsPeriod, int] = {}
    if facts.deal_id is not None and facts.volume_fen != 0:
        nets = await execute_sql(
            session,
            _ADD_TO_DEALS(len(periods)),
            [
                value
                for kind, period in periods
                for value in (kind, period, facts.deal_id, facts.volume_fen)
            ],
        )
        for kind, net in nets.all():
            change = _crossing(net - facts.volume_fen, net)
            if change:
                deals_changed[TotalsPeriod(kind)] = change
    buyers_changed: dict[tuple[TotalsPeriod, TotalsDimension], int] = {}
    if deals_changed and facts.buyer_id is not None:
        rows = sorted(
            (kind.value, period, dimension.value, group, deals_changed[kind])
            for kind, period in periods
            if kind in deals_changed
            for dimension, group in groups
        )
        counted = await execute_sql(
            session,
            _ADD_TO_BUYERS(len(rows)),
            [
                value
                for kind, period, dimension, group, change in rows
                for value in (kind, period, dimension, group, facts.buyer_id, change)
            ],
        )
        for kind_value, dimension, deals in counted.all():
            kind = TotalsPeriod(kind_value)
            change = _crossing(deals - deals_changed[kind], deals)
            if change:
                buyers_changed[kind, TotalsDimension(dimension)] = change
    await execute_sql(
        session,
        _ADD_TO_TOTALS(len(periods) * len(groups)),
        [
            value
            for kind, period in periods
            for dimension, group in groups
            for value in (
                kind,
                dimension,
                period,
                group,
                shard,
                facts.volume_fen,
                facts.fee_fen,
                facts.tax_fen,
                deals_changed.get(kind, 0),
                buyers_changed.get((kind, dimension), 0),
            )
        ],
    )


# The totals recomputed from the entries, in SQL: what a rebuild writes and what verify
# compares the kept rows with. Three aggregations, as totals.totals_from_entries reads the
# entries: per (period, group, deal) the deal's net amounts, per (period, group, buyer) the
# deals with net money released, per (period, group) the sums and counts.


def _period_of_entry(dialect: str, kind: TotalsPeriod, zone: str) -> ColumnElement[str]:
    """The bucket label of an entry, as :func:`totals_periods` writes it."""
    if kind is TotalsPeriod.all:
        return literal("", String)
    return period_label_sql(dialect, JournalEntry.occurred_at, kind.value, zone)


def _group_of_entry(dialect: str, dimension: TotalsDimension) -> ColumnElement[str]:
    """The group key of an entry, as :func:`_totals_groups` writes it."""
    if dimension is TotalsDimension.none:
        return literal("", String)
    if dimension is TotalsDimension.category:
        return func.coalesce(cast(JournalEntry.category, String), "")
    party = JournalEntry.seller_id if dimension is TotalsDimension.seller else JournalEntry.buyer_id
    if dialect == "postgresql":
        return func.coalesce(func.replace(cast(party, String), "-", ""), "")
    return func.coalesce(cast(party, String), "")  # SQLite stores UUIDs as 32 hex digits


@dataclass(frozen=True, slots=True)
class _Recomputed:
    deals: RowsQuery  # period, deal_id, volume_fen (nets other than 0)
    buyers: RowsQuery  # period, group_key, buyer_id, deals (buyers with settled deals)
    totals: RowsQuery  # period, group_key, volume, fee, tax, deals settled, buyers served


def _recompute(
    dialect: str, kind: TotalsPeriod, dimension: TotalsDimension, zone: str
) -> _Recomputed:
    found = settlement_aggregates(
        [
            _period_of_entry(dialect, kind, zone).label("period"),
            _group_of_entry(dialect, dimension).label("group_key"),
        ],
        [text(SETTLEMENTS_PREDICATE)],
    )
    entries, per_buyer = found.entries, found.per_buyer
    deals = (
        select(entries.c.period, entries.c.deal_id, func.sum(entries.c.volume_fen))
        .where(entries.c.deal_id.is_not(None))
        .group_by(entries.c.period, entries.c.deal_id)
        .having(func.sum(entries.c.volume_fen) != 0)
    )
    buyers = select(
        per_buyer.c.period, per_buyer.c.group_key, per_buyer.c.buyer_id, per_buyer.c.deals
    ).where(per_buyer.c.deals > 0, per_buyer.c.buyer_id.is_not(None))
    return _Recomputed(deals=deals, buyers=buyers, totals=found.totals)


def _kept(kind: TotalsPeriod, dimension: TotalsDimension) -> _Recomputed:
    """The kept rows in the shapes of :func:`_recompute`."""
    deals = select(
        LedgerTotalDeal.period, LedgerTotalDeal.deal_id, LedgerTotalDeal.volume_fen
    ).where(LedgerTotalDeal.period_kind == kind, LedgerTotalDeal.volume_fen != 0)
    buyers = select(
        LedgerTotalBuyer.period,
        LedgerTotalBuyer.group_key,
        LedgerTotalBuyer.buyer_id,
        LedgerTotalBuyer.deals,
    ).where(
        LedgerTotalBuyer.period_kind == kind,
        LedgerTotalBuyer.dimension == dimension,
        LedgerTotalBuyer.deals != 0,
    )
    totals = (
        select(
            LedgerTotal.period,
            LedgerTotal.group_key,
            func.sum(LedgerTotal.volume_fen),
            func.sum(LedgerTotal.fee_fen),
            func.sum(LedgerTotal.tax_fen),
            func.sum(LedgerTotal.deals_settled),
            func.sum(LedgerTotal.enterprises_served),
        )
        .where(LedgerTotal.period_kind == kind, LedgerTotal.dimension == dimension)
        .group_by(LedgerTotal.period, LedgerTotal.group_key)
    )
    return _Recomputed(deals=deals, buyers=buyers, totals=totals)


@dataclass(frozen=True, slots=True)
class TotalsRebuild:
    zone: str
    totals_rows: int
    deal_rows: int
    buyer_rows: int


async def rebuild_totals(session: AsyncSession, *, zone: str) -> TotalsRebuild:
    """Recompute the kept totals from the entries, in ``zone``'s calendar, and keep them in it
    from now on (after a change of the configured time zone, or a bulk load that bypassed
    ``posting.post_entry``).

    Takes every chain head first (PostgreSQL), so no entry is written meanwhile: each waits and
    is then added to the rebuilt totals. Every rebuilt row is on shard 0."""
    ZoneInfo(zone)  # an unknown zone fails here, not half way
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(
            select(LedgerChain.chain).order_by(LedgerChain.chain).with_for_update()
        )
    for table in (LedgerTotal, LedgerTotalDeal, LedgerTotalBuyer):
        await session.execute(delete(table))
    for kind in TotalsPeriod:
        for dimension in TotalsDimension:
            found = _recompute(dialect, kind, dimension, zone)
            constants = [literal(kind.value, String), literal(dimension.value, String)]
            if dimension is TotalsDimension.none:
                deals = found.deals.subquery()
                await session.execute(
                    insert(LedgerTotalDeal).from_select(
                        [
                            LedgerTotalDeal.period_kind,
                            LedgerTotalDeal.period,
                            LedgerTotalDeal.deal_id,
                            LedgerTotalDeal.volume_fen,
                        ],
                        select(constants[0], *deals.c),
                    )
                )
            buyers = found.buyers.subquery()
            await session.execute(
                insert(LedgerTotalBuyer).from_select(
                    [
                        LedgerTotalBuyer.period_kind,
                        LedgerTotalBuyer.dimension,
                        LedgerTotalBuyer.period,
                        LedgerTotalBuyer.group_key,
                        LedgerTotalBuyer.buyer_id,
                        LedgerTotalBuyer.deals,
                    ],
                    select(*constants, *buyers.c),
                )
            )
            totals = found.totals.subquery()
            await session.execute(
                insert(LedgerTotal).from_select(
                    [
                        LedgerTotal.period_kind,
                        LedgerTotal.dimension,
                        LedgerTotal.shard,
                        LedgerTotal.period,
                        LedgerTotal.group_key,
                        LedgerTotal.volume_fen,
                        LedgerTotal.fee_fen,
                        LedgerTotal.tax_fen,
                        LedgerTotal.deals_settled,
                        LedgerTotal.enterprises_served,
                    ],
                    select(*constants, literal(0), *totals.c),
                )
            )
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    state = maker(LedgerTotalsState).values(id=1, zone=zone, rebuilt_at=utcnow())
    await session.execute(
        state.on_conflict_do_update(
            index_elements=[LedgerTotalsState.id],
            set_={
                LedgerTotalsState.zone: state.excluded.zone,
                LedgerTotalsState.rebuilt_at: state.excluded.rebuilt_at,
            },
        )
    )

    async def count(model: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return TotalsRebuild(
        zone=zone,
        totals_rows=await count(LedgerTotal),
        deal_rows=await count(LedgerTotalDeal),
        buyer_rows=await count(LedgerTotalBuyer),
    )


MAX_TOTALS_PROBLEMS = 20


async def totals_problems(session: AsyncSession) -> list[str]:
    """Where the kept totals differ from the entries (none when they are not kept).

    Each comparison is one statement (both sides differences, ``EXCEPT`` both ways), so it
    reads one snapshot: entries written meanwhile are on both sides or on neither."""
    zone = await session.scalar(select(LedgerTotalsState.zone))
    if zone is None:
        return []
    dialect = session.get_bind().dialect.name
    problems: list[str] = []
    for kind in TotalsPeriod:
        for dimension in TotalsDimension:
            found, kept = _recompute(dialect, kind, dimension, zone), _kept(kind, dimension)
            pairs = [("totals", found.totals, kept.totals), ("buyers", found.buyers, kept.buyers)]
            if dimension is TotalsDimension.none:
                pairs.append(("deals", found.deals, kept.deals))
            for what, expected, stored in pairs:
                missing = except_(expected, stored).subquery()
                extra = except_(stored, expected).subquery()
                both = union_all(
                    select(literal("entries say"), *missing.c),
                    select(literal("kept"), *extra.c),
                )
                for row in (await session.execute(both)).all():
                    values = ", ".join(str(value) for value in row[1:])
                    problems.append(
                        f"totals by {kind.value}/{dimension.value} ({what}): {row[0]} {values}"
                    )
                    if len(problems) >= MAX_TOTALS_PROBLEMS:
                        return problems
    return problems
