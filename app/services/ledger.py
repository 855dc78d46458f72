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

Locks are always taken in this order (deal, accounts, chain), so transactions cannot deadlock
on them; the deal operations still retry on deadlock or serialization errors.
"""

import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.models.deals import ContractCategory
from app.models.ledger import (
    GENESIS_HASH,
    LEDGER_CHAINS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LedgerBalance,
    LedgerChain,
    Posting,
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


async def _take_chain(session: AsyncSession) -> _Head:
    head = select(LedgerChain.chain, LedgerChain.last_seq, LedgerChain.last_hash)
    if session.get_bind().dialect.name != "postgresql":
        row = (
            await session.execute(head.where(LedgerChain.chain == random.randrange(LEDGER_CHAINS)))
        ).one()
        return _Head(*row)
    free = (
        await session.execute(
            head.order_by(func.random()).limit(1).with_for_update(skip_locked=True)
        )
    ).first()
    if free is None:  # every chain is busy: queue on one
        free = (
            await session.execute(
                head.where(LedgerChain.chain == random.randrange(LEDGER_CHAINS)).with_for_update()
            )
        ).one()
    return _Head(*free)


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
    await session.execute(
        insert(JournalEntry).values(
            id=entry_id,
            chain=chain.chain,
            seq=seq,
            kind=facts.kind,
            occurred_at=when,
            deal_id=facts.deal_id,
            milestone_id=facts.milestone_id,
            reverses_id=facts.reverses_id,
            category=facts.category,
            buyer_id=facts.buyer_id,
            seller_id=facts.seller_id,
            volume_fen=facts.volume_fen,
            fee_fen=facts.fee_fen,
            tax_fen=facts.tax_fen,
            created_by=facts.created_by,
            memo=facts.memo,
            prev_hash=chain.last_hash,
            hash=digest,
        )
    )
    await session.execute(
        insert(Posting),
        [
            {"entry_id": entry_id, "line": line, "account_id": account, "amount_fen": amount}
            for line, (account, amount) in enumerate(postings, start=1)
        ],
    )
    await session.execute(
        update(LedgerChain)
        .where(LedgerChain.chain == chain.chain)
        .values(last_seq=seq, last_hash=digest)
        .execution_options(synchronize_session=False)
    )
    await _add_to_balances(session, chain.chain, postings)
    return entry_id


async def _add_to_balances(
    session: AsyncSession, shard: int, postings: Iterable[tuple[uuid.UUID, int]]
) -> None:
    totals: dict[uuid.UUID, int] = {}
    for account, amount in postings:
        totals[account] = totals.get(account, 0) + amount
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    # one statement for every account, rows in account order (a fixed lock order)
    stmt = maker(LedgerBalance).values(
        [
            {"account_id": account, "shard": shard, "balance_fen": totals[account]}
            for account in sorted(totals)
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "shard"],
            set_={"balance_fen": LedgerBalance.balance_fen + stmt.excluded.balance_fen},
        )
    )


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
    for chain_number in sorted(set(range(LEDGER_CHAINS)) | set(heads)):
        head = heads.get(chain_number)
        if head is None:
            problems.append(f"chain {chain_number}: its head is missing")
            continue
        prev_hash, expected_seq, last_seq = GENESIS_HASH, 1, 0
        after = 0
        while after < head.last_seq:
            entries = list(
                (
                    await session.scalars(
                        select(JournalEntry)
                        .where(
                            JournalEntry.chain == chain_number,
                            JournalEntry.seq > after,
                            JournalEntry.seq <= head.last_seq,
                        )
                        .order_by(JournalEntry.seq)
                        .limit(VERIFY_BATCH)
                    )
                ).all()
            )
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
            session.expunge_all()
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
    entry: JournalEntry,
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
