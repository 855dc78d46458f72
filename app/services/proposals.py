"""Proposals: providers' sealed answers to demands, their revisions, and the award."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.demands import Demand, Proposal, ProposalStatus


def proposal_content(
    *,
    price: int,
    timeline_days: int,
    plan: str,
    milestones: Sequence[Mapping[str, Any]],
    solution: str | None,
) -> dict[str, Any]:
    """What a proposal says, as one revision records and hashes it (money in fen)."""
    return {
        "price": price,
        "timeline_days": timeline_days,
        "plan": plan,
        "milestones": [{"title": m["title"], "amount": m["amount"]} for m in milestones],
        "solution": solution,
    }


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON (sorted keys, no spaces, UTF-8): an auditor
    recomputes it from the revision's content to check it."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def close_all(session: AsyncSession, demand: Demand, *, now: datetime) -> None:
    """Every submitted proposal of ``demand`` becomes unsuccessful (the demand was cancelled
    or closed with no award)."""
    await session.execute(
        update(Proposal)
        .where(Proposal.demand_id == demand.id, Proposal.status == ProposalStatus.submitted)
        .values(status=ProposalStatus.unsuccessful, decided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
