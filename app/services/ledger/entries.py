"""Journal entries: what one records besides its postings, the hash that seals it, and
reading them back."""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.models.deals import ContractCategory
from app.models.ledger import EntryKind, JournalEntry, Posting


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


# --- reading entries -------------------------------------------------------------------------

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
    stmt = stmt.where(*occurred_within(start, end))
    return await paginate(session, stmt, order=ENTRY_ORDER, limit=limit, cursor=cursor)


def check_period(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("'to' must be after 'from'.", code="empty_period")


def occurred_within(start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """The entries of the period [start, end) (either end open when None)."""
    check_period(start, end)
    conditions = []
    if start is not None:
        conditions.append(JournalEntry.occurred_at >= start)
    if end is not None:
        conditions.append(JournalEntry.occurred_at < end)
    return conditions
