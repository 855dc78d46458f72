"""Verifying the ledger: every chain's hashes, every entry's zero sum, every account's balance
and the kept totals, recomputed from the entries."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.ledger import (
    GENESIS_HASH,
    LEDGER_CHAINS,
    JournalEntry,
    LedgerAccount,
    LedgerBalance,
    LedgerChain,
    Posting,
)
from app.services.ledger.entries import EntryFacts, entry_hash
from app.services.ledger.posting import ChainHead
from app.services.ledger.rollup import totals_problems


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
    chain as read afterwards (or on no chain at all) was not written by ``posting.post_entry``.
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
    problems += await totals_problems(session)
    first = min(bad)[1] if bad else None
    return Verification(
        ok=not problems, entries_checked=checked, first_bad_entry=first, problems=problems
    )


async def _heads_and_balances(
    session: AsyncSession,
) -> tuple[dict[int, ChainHead], dict[uuid.UUID, int]]:
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
    heads: dict[int, ChainHead] = {}
    kept: dict[uuid.UUID, int] = {}
    for chain, last_seq, last_hash, account, amount in rows.all():
        heads[chain] = ChainHead(chain, last_seq, last_hash)
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
