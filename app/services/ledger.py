"""The settlement ledger: posting hash-chained entries, balances, verification.

Writing an entry, in the transaction of the deal operation that causes it:

1. The caller has locked the deal row (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN
   IMMEDIATE`` serializes writers anyway).
2. Accounts that give money and must not go negative (an organization's payable, the fee and
   tax accounts in a reversal) are locked in id order (``FOR NO KEY UPDATE``, which the
   foreign-key checks of other entries' postings do not wait for) and their balance is
   checked. Escrow is
   not: what escrow holds for a deal is on the deal row, checked under the deal's lock, and
   escrow is the sum of those.
3. A chain is taken: on PostgreSQL any chain head that no running transaction holds
   (``FOR UPDATE SKIP LOCKED``), so up to LEDGER_CHAINS entries are written at once.
4. The entry's hash commits to the chain's previous hash and to everything in the entry.
5. Balances are added to the account's shard of that chain: shared accounts (fee, tax,
   escrow, bank) are touched by every settlement, but no two running transactions ever
   touch the same shard row, so they never wait on one another there.

6. A settlement (or the reversal of one) is added to the auditors' totals
   (:func:`_add_to_totals`): per calendar bucket (month, quarter, year, all time) and group
   (none, category, seller, buyer), volume, fee and tax go into the group's row of the entry's
   chain, like the balances; a deal's net volume per bucket (written under the deal's lock)
   and a buyer's count of settled deals per group (rows locked in key order) turn into exact
   deal and buyer counts.

Locks are always taken in this order (deal, accounts, chain, totals), so transactions cannot
deadlock on them; the deal operations still retry on deadlock or serialization errors.
"""

import functools
import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Subquery,
    TextClause,
    case,
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

from app.core.calendar import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.sql import execute_sql, values_list
from app.models.deals import ContractCategory
from app.models.ledger import (
    GENESIS_HASH,
    LEDGER_CHAINS,
    SETTLEMENTS_PREDICATE,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LedgerBalance,
    LedgerChain,
    LedgerTotal,
    LedgerTotalBuyer,
    LedgerTotalDeal,
    LedgerTotalsState,
    Posting,
    TotalsDimension,
    TotalsPeriod,
)


def platform_account_id(code: str) -> uuid.UUID:
    """Ids of the accounts migration 0003 creates (derived from the code)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"innoshare:ledger:{code}")


BANK = platform_account_id("bank")
ESCROW = platform_account_id("escrow")
FEE_REVENUE = platform_account_id("fee_revenue")
TAX_PAYABLE = platform_account_id("tax_payable")


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What an entry records besides its postings (hashed with them)."""

    kind: EntryKind
    created_by: str
    deal_id: uuid.UUID | None = None
    milestone_id: uuid.UUID | None = None
    reverses_id: uuid.UUID | None = None
    category: ContractCategory | None = None
    buyer_id: uuid.UUID | None = None
    seller_id: uuid.UUID | None = None
    volume_fen: int = 0
    fee_fen: int = 0
    tax_fen: int = 0
    memo: str = ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _instant(value: datetime) -> str:
    # Microseconds since the epoch: the same on both backends whatever their text format.
    return str(round(value.timestamp() * 1_000_000))


def entry_hash(
    *,
    chain: int,
    seq: int,
    prev_hash: str,
    entry_id: uuid.UUID,
    occurred_at: datetime,
    facts: EntryFacts,
    postings: Sequence[tuple[uuid.UUID, int]],
) -> str:
    """SHA-256 over the entry's fields and its postings in line order, one canonical line."""
    fields = [
        "innoshare-ledger-v1",
        str(chain),
        str(seq),
        prev_hash,
        str(entry_id),
        facts.kind.value,
        _instant(occurred_at),
        _text(facts.deal_id),
        _text(facts.milestone_id),
        _text(facts.reverses_id),
        facts.category.value if facts.category else "",
        _text(facts.buyer_id),
        _text(facts.seller_id),
        str(facts.volume_fen),
        str(facts.fee_fen),
        str(facts.tax_fen),
        facts.created_by,
        facts.memo,
        *(f"{account}:{amount}" for account, amount in postings),
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


async def organization_account(session: AsyncSession, organization_id: uuid.UUID) -> uuid.UUID:
    """The id of the organization's payable account, created on first use."""
    code = f"org-{organization_id}"
    found = await session.scalar(
        select(LedgerAccount.id).where(LedgerAccount.organization_id == organization_id)
    )
    if found is not None:
        return found
    account_id = uuid.uuid4()
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        maker(LedgerAccount)
        .values(
            id=account_id,
            code=code,
            kind=AccountKind.organization,
            organization_id=organization_id,
            may_go_negative=False,
            created_at=utcnow(),
        )
        # No conflict target: the code and the organization are both unique, and a conflict
        # on a unique index that is not the target is an error, not a no-op, when two
        # transactions create the account at once.
        .on_conflict_do_nothing()
    )
    found = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    assert found is not None
    return found


async def balance(session: AsyncSession, account_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerBalance.balance_fen), 0)).where(
            LedgerBalance.account_id == account_id
        )
    )
    return int(total or 0)


async def _check_debits(session: AsyncSession, postings: Sequence[tuple[uuid.UUID, int]]) -> None:
    debits: dict[uuid.UUID, int] = {}
    for account_id, amount in postings:
        if amount < 0 and account_id not in (BANK, ESCROW):
            debits[account_id] = debits.get(account_id, 0) + amount
    if not debits:
        return
    dialect = session.get_bind().dialect.name
    for account_id in sorted(debits):
        stmt = select(LedgerAccount.may_go_negative).where(LedgerAccount.id == account_id)
        if dialect == "postgresql":
            # FOR NO KEY UPDATE: FOR UPDATE would also block the foreign-key checks of every
            # other entry posting to this account (fee and tax: every settlement) until this
            # transaction ends, and deadlock with them when all chains are busy.
            stmt = stmt.with_for_update(key_share=True)
        may_go_negative = await session.scalar(stmt)
        if may_go_negative:
            continue
        held = await balance(session, account_id)
        if held + debits[account_id] < 0:
            raise InsufficientFunds(
                f"The account {account_id} holds {held} fen: it cannot give"
                f" {-debits[account_id]} fen.",
            )


@dataclass(frozen=True, slots=True)
class _Head:
    chain: int
    last_seq: int
    last_hash: str


_CHAIN_HEAD = "SELECT chain, last_seq, last_hash FROM ledger_chains"
_FREE_CHAIN = f"{_CHAIN_HEAD} ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED"
_ONE_CHAIN = f"{_CHAIN_HEAD} WHERE chain = $1"


async def _take_chain(session: AsyncSession) -> _Head:
    if session.get_bind().dialect.name != "postgresql":
        row = (await execute_sql(session, _ONE_CHAIN, (random.randrange(LEDGER_CHAINS),))).one()
        return _Head(*row)
    free = (await execute_sql(session, _FREE_CHAIN)).first()
    if free is None:  # every chain is busy: queue on one
        free = (
            await execute_sql(
                session, f"{_ONE_CHAIN} FOR UPDATE", (random.randrange(LEDGER_CHAINS),)
            )
        ).one()
    return _Head(*free)


# The statements of an entry, as text for the driver (core.db.execute_sql): post_entry is the
# hottest write path there is, at least five statements per entry.
_ENTRY_COLUMNS = (
    "id, chain, seq, kind, occurred_at, deal_id, milestone_id, reverses_id, category, buyer_id,"
    " seller_id, volume_fen, fee_fen, tax_fen, created_by, memo, prev_hash, hash"
)
_INSERT_ENTRY = f"INSERT INTO journal_entries ({_ENTRY_COLUMNS}) VALUES {values_list(1, 18)}"
# The time zone the totals are kept in comes back with the head's move: read once the chain is
# held, so a rebuild of the totals (which takes every chain) is either committed and seen here,
# or waits for this transaction and then counts its entry.
_ADVANCE_HEAD = (
    "UPDATE ledger_chains SET last_seq = $1, last_hash = $2 WHERE chain = $3"
    " RETURNING (SELECT zone FROM ledger_totals_state)"
)


def _insert_postings(rows: int) -> str:
    return (
        "INSERT INTO postings (entry_id, line, account_id, amount_fen)"
        f" VALUES {values_list(rows, 4)}"
    )


@functools.lru_cache(maxsize=64)
def _adding_upsert(
    table: str, key: tuple[str, ...], added: tuple[str, ...], rows: int, returning: str = ""
) -> str:
    """``INSERT … VALUES (row), … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`` for the
    ``added`` columns: all the rows in one statement (one round trip), locked in the order
    given. Parameters: each row's key columns, then its added ones."""
    columns = (*key, *added)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in added)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values_list(rows, len(columns))}"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        + (f" RETURNING {returning}" if returning else "")
    )


async def post_entry(
    session: AsyncSession,
    facts: EntryFacts,
    postings: Sequence[tuple[uuid.UUID, int]],
    *,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Append one balanced entry and return its id (the module's docstring has the locking
    order)."""
    if len(postings) < 2 or any(amount == 0 for _, amount in postings):
        raise ValidationFailed("An entry has two or more non-zero postings.", code="bad_entry")
    if sum(amount for _, amount in postings) != 0:
        raise ValidationFailed("The postings of an entry sum to zero.", code="unbalanced_entry")
    await _check_debits(session, postings)
    chain = await _take_chain(session)
    entry_id = uuid.uuid4()
    when = occurred_at or utcnow()
    seq = chain.last_seq + 1
    digest = entry_hash(
        chain=chain.chain,
        seq=seq,
        prev_hash=chain.last_hash,
        entry_id=entry_id,
        occurred_at=when,
        facts=facts,
        postings=postings,
    )
    await execute_sql(
        session,
        _INSERT_ENTRY,
        (
            entry_id,
            chain.chain,
            seq,
            facts.kind,
            when,
            facts.deal_id,
            facts.milestone_id,
            facts.reverses_id,
            facts.category,
            facts.buyer_id,
            facts.seller_id,
            facts.volume_fen,
            facts.fee_fen,
            facts.tax_fen,
            facts.created_by,
            facts.memo,
            chain.last_hash,
            digest,
        ),
    )
    await execute_sql(
        session,
        _insert_postings(len(postings)),
        [
            value
            for line, (account, amount) in enumerate(postings, start=1)
            for value in (entry_id, line, account, amount)
        ],
    )
    zone = (await execute_sql(session, _ADVANCE_HEAD, (seq, digest, chain.chain))).scalar_one()
    await _add_to_balances(session, chain.chain, postings)
    if zone is not None and counts_in_totals(facts):
        await _add_to_totals(session, zone, chain.chain, facts, when)
    return entry_id


async def _add_to_balances(
    session: AsyncSession, shard: int, postings: Iterable[tuple[uuid.UUID, int]]
) -> None:
    totals: dict[uuid.UUID, int] = {}
    for account, amount in postings:
        totals[account] = totals.get(account, 0) + amount
    # one statement for every account, rows in account order (a fixed lock order)
    await execute_sql(
        session,
        _adding_upsert("ledger_balances", ("account_id", "shard"), ("balance_fen",), len(totals)),
        [value for account in sorted(totals) for value in (account, shard, totals[account])],
    )


# --- the auditors' totals --------------------------------------------------------------------


def counts_in_totals(facts: EntryFacts) -> bool:
    """Settlements and reversals of settlements: the entries the totals add up (the predicate
    of ``ix_journal_entries_settlements``)."""
    return facts.kind is EntryKind.settlement or (
        facts.kind is EntryKind.reversal and facts.volume_fen != 0
    )


def totals_periods(when: datetime, zone: str) -> list[tuple[TotalsPeriod, str]]:
    """The month, quarter, year (in ``zone``) and all-time buckets of an instant."""
    local = when.astimezone(ZoneInfo(zone))
    return [
        (TotalsPeriod.month, f"{local.year:04d}-{local.month:02d}"),
        (TotalsPeriod.quarter, f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"),
        (TotalsPeriod.year, f"{local.year:04d}"),
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


async def _add_to_totals(
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
            _adding_upsert(
                "ledger_totals_deals",
                ("period_kind", "period", "deal_id"),
                ("volume_fen",),
                len(periods),
                returning="period_kind, volume_fen",
            ),
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
            _adding_upsert(
                "ledger_totals_buyers",
                ("period_kind", "period", "dimension", "group_key", "buyer_id"),
                ("deals",),
                len(rows),
                returning="period_kind, dimension, deals",
            ),
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
        _adding_upsert(
            "ledger_totals",
            ("period_kind", "dimension", "period", "group_key", "shard"),
            ("volume_fen", "fee_fen", "tax_fen", "deals_settled", "enterprises_served"),
            len(periods) * len(groups),
        ),
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
# compares the kept rows with. Three aggregations, as audit.totals reads the entries: per
# (period, group, deal) the deal's net amounts, per (period, group, buyer) the deals with net
# money released, per (period, group) the sums and counts.


def _period_of_entry(dialect: str, kind: TotalsPeriod, zone: str) -> ColumnElement[str]:
    """The bucket label of an entry, as :func:`totals_periods` writes it."""
    if kind is TotalsPeriod.all:
        return literal("", String)
    if dialect == "postgresql":
        pattern = {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}[kind.value]
        local = func.timezone(zone, JournalEntry.occurred_at)
        return func.to_char(local, pattern, type_=String)
    return func.innoshare_period(JournalEntry.occurred_at, zone, kind.value, type_=String)


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


_Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class SettlementAggregates:
    entries: Subquery  # keys…, deal_id, buyer_id, volume_fen, fee_fen, tax_fen
    per_buyer: Subquery  # keys…, buyer_id, volume, fee, tax, deals (with net money released)
    totals: _Rows  # keys…, volume, fee, tax, deals settled, buyers served


def settlement_aggregates(
    keys: Sequence[ColumnElement[Any]], conditions: Sequence[ColumnElement[bool] | TextClause]
) -> SettlementAggregates:
    """The auditors' totals of the settlement entries that meet ``conditions``, per value of
    the labelled ``keys``: what :func:`audit.totals` answers from the entries, and what the kept
    totals are rebuilt from and verified against.

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


@dataclass(frozen=True, slots=True)
class _Recomputed:
    deals: _Rows  # period, deal_id, volume_fen (nets other than 0)
    buyers: _Rows  # period, group_key, buyer_id, deals (buyers with settled deals)
    totals: _Rows  # period, group_key, volume, fee, tax, deals settled, buyers served


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
    :func:`post_entry`).

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
                        ["period_kind", "period", "deal_id", "volume_fen"],
                        select(constants[0], *deals.c),
                    )
                )
            buyers = found.buyers.subquery()
            await session.execute(
                insert(LedgerTotalBuyer).from_select(
                    ["period_kind", "dimension", "period", "group_key", "buyer_id", "deals"],
                    select(*constants, *buyers.c),
                )
            )
            totals = found.totals.subquery()
            await session.execute(
                insert(LedgerTotal).from_select(
                    [
                        "period_kind",
                        "dimension",
                        "shard",
                        "period",
                        "group_key",
                        "volume_fen",
                        "fee_fen",
                        "tax_fen",
                        "deals_settled",
                        "enterprises_served",
                    ],
                    select(*constants, literal(0), *totals.c),
                )
            )
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    state = maker(LedgerTotalsState).values(id=1, zone=zone, rebuilt_at=utcnow())
    await session.execute(
        state.on_conflict_do_update(
            index_elements=["id"],
            set_={"zone": state.excluded.zone, "rebuilt_at": state.excluded.rebuilt_at},
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


async def _totals_problems(session: AsyncSession) -> list[str]:
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


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries_checked: int
    first_bad_entry: uuid.UUID | None
    problems: list[str]


VERIFY_BATCH = 2000


async def verify(session: AsyncSession) -> Verification:
    """Recompute every chain's hashes, every entry's zero sum and every account's balance.

    Entries keep being written while an auditor verifies, and a read session sees each
    statement's own snapshot, so the chain heads and the balances are read together in one
    statement: the ledger as of that instant. Entries are immutable, so those up to each head
    are then checked against it, whatever was appended since; an entry beyond the head of its
    chain as read afterwards (or on no chain at all) was not written by :func:`post_entry`.
    """
    problems: list[str] = []
    bad: list[tuple[datetime, uuid.UUID]] = []
    checked = 0
    posted: dict[uuid.UUID, int] = {}
    heads, kept = await _heads_and_balances(session)
    entries_table = JournalEntry.__table__
    for chain_number in sorted(set(range(LEDGER_CHAINS)) | set(heads)):
        head = heads.get(chain_number)
        if head is None:
            problems.append(f"chain {chain_number}: its head is missing")
            continue
        prev_hash, expected_seq, last_seq = GENESIS_HASH, 1, 0
        after = 0
        while after < head.last_seq:
            # Rows, not ORM objects: the mapped entry would load its postings a second time
            # (its relationship is selectin) and cost an identity-map object per row.
            entries = (
                await session.execute(
                    select(entries_table)
                    .where(
                        entries_table.c.chain == chain_number,
                        entries_table.c.seq > after,
                        entries_table.c.seq <= head.last_seq,
                    )
                    .order_by(entries_table.c.seq)
                    .limit(VERIFY_BATCH)
                )
            ).all()
            if not entries:
                break
            lines = await _postings_of([e.id for e in entries], session)
            for entry in entries:
                checked += 1
                postings = lines.get(entry.id, [])
                for account, amount in postings:
                    posted[account] = posted.get(account, 0) + amount
                wrong = _entry_problem(entry, postings, prev_hash, expected_seq)
                if wrong:
                    problems.append(f"entry {entry.id} (chain {chain_number}): {wrong}")
                    bad.append((entry.occurred_at, entry.id))
                prev_hash, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
            after = entries[-1].seq
        if head.last_seq != last_seq or head.last_hash != prev_hash:
            problems.append(f"chain {chain_number}: its head does not match its last entry")
    for account in sorted(set(kept) | set(posted)):
        if kept.get(account, 0) != posted.get(account, 0):
            problems.append(
                f"account {account}: balance {kept.get(account, 0)} fen,"
                f" postings sum to {posted.get(account, 0)} fen"
            )
    negative = await session.execute(
        select(LedgerAccount.id).where(LedgerAccount.may_go_negative.is_(False))
    )
    for (account,) in negative.all():
        if posted.get(account, 0) < 0:
            problems.append(f"account {account} is negative: {posted[account]} fen")
    for entry_id, occurred_at, chain_number, seq in await _entries_off_the_chains(session):
        problems.append(
            f"entry {entry_id} (chain {chain_number}): sequence {seq} is past its chain's head"
        )
        bad.append((occurred_at, entry_id))
    problems += await _totals_problems(session)
    first = min(bad)[1] if bad else None
    return Verification(
        ok=not problems, entries_checked=checked, first_bad_entry=first, problems=problems
    )


async def _heads_and_balances(
    session: AsyncSession,
) -> tuple[dict[int, _Head], dict[uuid.UUID, int]]:
    """The chain heads and the balances kept with them, in one statement (one snapshot)."""
    rows = await session.execute(
        select(
            LedgerChain.chain,
            LedgerChain.last_seq,
            LedgerChain.last_hash,
            LedgerBalance.account_id,
            LedgerBalance.balance_fen,
        )
        .select_from(LedgerChain)
        .outerjoin(LedgerBalance, LedgerBalance.shard == LedgerChain.chain)
    )
    heads: dict[int, _Head] = {}
    kept: dict[uuid.UUID, int] = {}
    for chain, last_seq, last_hash, account, amount in rows.all():
        heads[chain] = _Head(chain, last_seq, last_hash)
        if account is not None:
            kept[account] = kept.get(account, 0) + int(amount)
    # A balance shard of no chain is never written: one is a sign of tampering, not of a race.
    for account, amount in (
        await session.execute(
            select(LedgerBalance.account_id, LedgerBalance.balance_fen).where(
                LedgerBalance.shard.not_in(list(heads) or [-1])
            )
        )
    ).all():
        kept[account] = kept.get(account, 0) + int(amount)
    return heads, kept


async def _entries_off_the_chains(
    session: AsyncSession,
) -> list[tuple[uuid.UUID, datetime, int, int]]:
    """Entries past their chain's head, or on a chain that does not exist.

    Read after the entries' high-water marks: an entry and its head's move commit together,
    so an entry seen here has its head at or past it when the heads are read next.
    """
    tops = (
        await session.execute(
            select(JournalEntry.chain, func.max(JournalEntry.seq)).group_by(JournalEntry.chain)
        )
    ).all()
    heads = {
        chain: int(last_seq)
        for chain, last_seq in (
            await session.execute(select(LedgerChain.chain, LedgerChain.last_seq))
        ).all()
    }
    found: list[tuple[uuid.UUID, datetime, int, int]] = []
    for chain_number, top in tops:
        head = heads.get(chain_number)
        if head is not None and top <= head:
            continue
        beyond = await session.execute(
            select(JournalEntry.id, JournalEntry.occurred_at, JournalEntry.seq)
            .where(JournalEntry.chain == chain_number, JournalEntry.seq > (head or 0))
            .order_by(JournalEntry.seq)
            .limit(10)
        )
        found += [(entry_id, at, chain_number, seq) for entry_id, at, seq in beyond.all()]
    return found


async def _postings_of(
    entry_ids: list[uuid.UUID], session: AsyncSession
) -> dict[uuid.UUID, list[tuple[uuid.UUID, int]]]:
    rows = await session.execute(
        select(Posting.entry_id, Posting.account_id, Posting.amount_fen)
        .where(Posting.entry_id.in_(entry_ids))
        .order_by(Posting.entry_id, Posting.line)
    )
    found: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {}
    for entry_id, account, amount in rows.all():
        found.setdefault(entry_id, []).append((account, int(amount)))
    return found


def _entry_problem(
    entry: Row[Any],
    postings: list[tuple[uuid.UUID, int]],
    prev_hash: str,
    expected_seq: int,
) -> str | None:
    if entry.seq != expected_seq:
        return f"sequence {entry.seq} where {expected_seq} was expected (an entry is missing)"
    if entry.prev_hash != prev_hash:
        return "it does not carry the previous entry's hash"
    if len(postings) < 2 or sum(amount for _, amount in postings) != 0:
        return "its postings do not sum to zero"
    facts = EntryFacts(
        kind=entry.kind,
        created_by=entry.created_by,
        deal_id=entry.deal_id,
        milestone_id=entry.milestone_id,
        reverses_id=entry.reverses_id,
        category=entry.category,
        buyer_id=entry.buyer_id,
        seller_id=entry.seller_id,
        volume_fen=entry.volume_fen,
        fee_fen=entry.fee_fen,
        tax_fen=entry.tax_fen,
        memo=entry.memo,
    )
    digest = entry_hash(
        chain=entry.chain,
        seq=entry.seq,
        prev_hash=entry.prev_hash,
        entry_id=entry.id,
        occurred_at=entry.occurred_at,
        facts=facts,
        postings=postings,
    )
    if digest != entry.hash:
        return "its hash does not match its contents (changed after it was written)"
    return None
