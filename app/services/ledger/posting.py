"""Posting hash-chained entries: the ledger's write path.

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
   (:func:`rollup.add_to_totals <app.services.ledger.rollup.add_to_totals>`), into the rows
   of the entry's chain like the balances.

Locks are always taken in this order (deal, accounts, chain, totals), so transactions cannot
deadlock on them; the deal operations still retry on deadlock or serialization errors.
"""

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.sql import (
    RowsSQL,
    adding_upsert_sql,
    execute_sql,
    insert_sql,
    select_sql,
    table_of,
    update_sql,
)
from app.models.ledger import (
    LEDGER_CHAINS,
    JournalEntry,
    LedgerAccount,
    LedgerBalance,
    LedgerChain,
    LedgerTotalsState,
    Posting,
)
from app.services.ledger.accounts import BANK, ESCROW, balance
from app.services.ledger.entries import EntryFacts, entry_hash
from app.services.ledger.rollup import add_to_totals, counts_in_totals


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


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
class ChainHead:
    chain: int
    last_seq: int
    last_hash: str


# The statements of an entry, as text for the driver (core.sql.execute_sql), built from the
# tables at import time: post_entry is the hottest write path there is, at least five
# statements per entry.
_CHAINS = table_of(LedgerChain)
_HEAD_COLUMNS = ("chain", "last_seq", "last_hash")
_FREE_CHAIN = (
    f"{select_sql(_CHAINS, _HEAD_COLUMNS)} ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_ONE_CHAIN = select_sql(_CHAINS, _HEAD_COLUMNS, where=("chain",))
_ONE_CHAIN_LOCKED = f"{_ONE_CHAIN} FOR UPDATE"
_INSERT_ENTRY = insert_sql(
    table_of(JournalEntry),
    (
        "id",
        "chain",
        "seq",
        "kind",
        "occurred_at",
        "deal_id",
        "milestone_id",
        "reverses_id",
        "category",
        "buyer_id",
        "seller_id",
        "volume_fen",
        "fee_fen",
        "tax_fen",
        "created_by",
        "memo",
        "prev_hash",
        "hash",
    ),
)
_INSERT_POSTINGS = RowsSQL(
    lambda rows: insert_sql(
        table_of(Posting), ("entry_id", "line", "account_id", "amount_fen"), rows=rows
    )
)
# The time zone the totals are kept in comes back with the head's move: read once the chain is
# held, so a rebuild of the totals (which takes every chain) is either committed and seen here,
# or waits for this transaction and then counts its entry.
_ADVANCE_HEAD = (
    f"{update_sql(_CHAINS, ('last_seq', 'last_hash'), where=('chain',))}"
    f" RETURNING ({select_sql(table_of(LedgerTotalsState), ('zone',))})"
)
_ADD_TO_BALANCES = RowsSQL(
    lambda rows: adding_upsert_sql(
        table_of(LedgerBalance), ("account_id", "shard"), ("balance_fen",), rows=rows
    )
)


async def _take_chain(session: AsyncSession) -> ChainHead:
    if session.get_bind().dialect.name != "postgresql":
        row = (await execute_sql(session, _ONE_CHAIN, (random.randrange(LEDGER_CHAINS),))).one()
        return ChainHead(*row)
    free = (await execute_sql(session, _FREE_CHAIN)).first()
    if free is None:  # every chain is busy: queue on one
        free = (
            await execute_sql(session, _ONE_CHAIN_LOCKED, (random.randrange(LEDGER_CHAINS),))
        ).one()
    return ChainHead(*free)


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
        _INSERT_POSTINGS(len(postings)),
        [
            value
            for line, (account, amount) in enumerate(postings, start=1)
            for value in (entry_id, line, account, amount)
        ],
    )
    zone = (await execute_sql(session, _ADVANCE_HEAD, (seq, digest, chain.chain))).scalar_one()
    await _add_to_balances(session, chain.chain, postings)
    if zone is not None and counts_in_totals(facts):
        await add_to_totals(session, zone, chain.chain, facts, when)
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
        _ADD_TO_BALANCES(len(totals)),
        [value for account in sorted(totals) for value in (account, shard, totals[account])],
    )
