"""Demands (an enterprise's posted need), the sealed proposals providers answer them with,
the clarifying questions asked while they are open, and the invitations that restrict them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.calendar import utcnow
from app.models.base import Entity
from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args, str_enum


class DemandKind(StrEnum):
    technology = "technology"
    financing = "financing"
    talent = "talent"
    service = "service"
    challenge = "challenge"
    """揭榜挂帅: a published problem with a reward for whoever solves it."""


class DemandStatus(StrEnum):
    """draft → open → closed → awarded | unsuccessful, or cancelled from draft or open.

    ``closed`` is never stored: an open demand whose deadline has passed reads as closed
    (app/services/demands.py derives it, in Python and in SQL), so no job has to close it.
    """

    draft = "draft"
    open = "open"
    closed = "closed"
    awarded = "awarded"
    unsuccessful = "unsuccessful"
    cancelled = "cancelled"


def read_status(stored: DemandStatus, deadline: datetime, now: datetime) -> DemandStatus:
    """The status as read at ``now``: an open demand whose deadline has passed is closed."""
    if stored is DemandStatus.open and deadline <= now:
        return DemandStatus.closed
    return stored


class Demand(CatalogItem):
    """A need posted by an enterprise; a catalog item with its own workflow. Money in fen."""

    __tablename__ = "demands"
    __table_args__ = catalog_table_args(
        "demands",
        CheckConstraint("budget_min IS NULL OR budget_min >= 0", name="budget_min_positive"),
        CheckConstraint(
            "budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max",
            name="budget_order",
        ),
        CheckConstraint("reward IS NULL OR reward >= 0", name="reward_positive"),
        CheckConstraint("status <> 'closed'", name="closed_is_derived"),
        Index("ix_demands_deadline", "deadline"),
    )

    # The stored status: draft, open, awarded, unsuccessful or cancelled (closed is derived).
    status: Mapped[DemandStatus] = mapped_column(  # type: ignore[assignment]
        str_enum(DemandStatus, "demand_status", 16), default=DemandStatus.draft, sort_order=-10
    )
    kind: Mapped[DemandKind] = mapped_column(str_enum(DemandKind, "demand_kind", 16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(50), index=True)
    budget_min: Mapped[int | None] = mapped_column(BigInteger)
    """Budget, lower bound, in fen."""
    budget_max: Mapped[int | None] = mapped_column(BigInteger)
    """Budget, upper bound, in fen: the cap on a proposal's price."""
    budget_visible: Mapped[bool] = mapped_column(default=False)
    """Whether providers see the budget (owners, operators and auditors always do)."""
    deadline: Mapped[datetime]
    """Proposals close at this instant; the demand reads as closed from then on."""
    reward: Mapped[int | None] = mapped_column(BigInteger)
    """A challenge's reward (揭榜挂帅), in fen."""
    invited_only: Mapped[bool] = mapped_column(default=False)
    """Only invited organizations see the demand and may propose."""
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Links with names: [{"name": ..., "url": ...}]."""
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None]
    """When the demand was awarded or closed as unsuccessful."""
    hidden_at: Mapped[datetime | None]
    """Hidden by an operator (moderation): then only its owner and staff see it."""
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    requirements: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    """A challenge's conditions a solver must meet."""

    @property
    def current_status(self) -> DemandStatus:
        """The status as read now (closed once the deadline has passed)."""
        return read_status(self.status, self.deadline, utcnow())


class DemandInvitation(Entity):
    """An organization invited to a demand (to see an invited-only one, and to propose)."""

    __tablename__ = "demand_invitations"
    __table_args__ = (
        UniqueConstraint("demand_id", "organization_id"),
        Index("ix_demand_invitations_organization", "organization_id", "created_at", "id"),
    )

    demand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("demands.id", ondelete="RESTRICT"), sort_order=-10
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    invited_by: Mapped[str] = mapped_column(String(80))
    """The principal that invited: ``user:<id>`` or ``api_key:<id>``."""


class DemandQuestion(Entity):
    """A clarification asked while the demand is open; its answer is for every bidder. The
    asker is recorded for staff and for the asker, never shown to other organizations."""

    __tablename__ = "demand_questions"
    __table_args__ = (Index("ix_demand_questions_demand", "demand_id", "created_at", "id"),)

    demand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("demands.id", ondelete="RESTRICT"), sort_order=-10
    )
    asker_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    asked_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    answered_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    answered_by: Mapped[str | None] = mapped_column(String(80), sort_order=-10)
    hidden_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    hidden_reason: Mapped[str | None] = mapped_column(String(500), sort_order=-10)
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)


class ProposalStatus(StrEnum):
    submitted = "submitted"
    awarded = "awarded"
    unsuccessful = "unsuccessful"
    withdrawn = "withdrawn"


#: Proposals that still count as an organization's answer to a demand (one at a time).
LIVE_PROPOSAL_STATUSES = ("submitted", "awarded")


class Proposal(Entity):
    """A provider's sealed answer to a demand. Money in fen; milestones as
    [{"title": ..., "amount": fen}]. ``revision`` counts submissions and revisions; each one's
    content and hash are kept in ProposalRevision."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("timeline_days > 0", name="timeline_positive"),
        # One live proposal per organization per demand, enforced by the database.
        Index(
            "uq_proposals_live",
            "demand_id",
            "organization_id",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'awarded')"),
            postgresql_where=text("status IN ('submitted', 'awarded')"),
        ),
        Index("ix_proposals_demand", "demand_id", "created_at", "id"),
        Index("ix_proposals_organization", "organization_id", "created_at", "id"),
    )

    demand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("demands.id", ondelete="RESTRICT"), sort_order=-10
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus, "proposal_status", 16),
        default=ProposalStatus.submitted,
        sort_order=-10,
    )
    price: Mapped[int] = mapped_column(BigInteger, sort_order=-10)
    """The proposed price, in fen."""
    timeline_days: Mapped[int] = mapped_column(Integer, sort_order=-10)
    revision: Mapped[int] = mapped_column(default=1, sort_order=-10)
    content_hash: Mapped[str] = mapped_column(String(64), sort_order=-10)
    """SHA-256 of the current revision's content (see ProposalRevision)."""
    submitted_at: Mapped[datetime] = mapped_column(sort_order=-10)
    """When the current revision was submitted."""
    withdrawn_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    decided_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    """When the proposal was awarded or marked unsuccessful."""
    deal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deals.id", ondelete="RESTRICT"), sort_order=-10
    )
    created_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    plan: Mapped[str] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    """A challenge's proposed solution summary."""


class ProposalRevision(Entity):
    """Each submitted or revised proposal's content, its hash and its time: what an auditor
    checks to see that nothing changed after the deadline. Never updated."""

    __tablename__ = "proposal_revisions"
    __table_args__ = (UniqueConstraint("proposal_id", "revision"),)

    proposal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("proposals.id", ondelete="RESTRICT"), sort_order=-10
    )
    revision: Mapped[int] = mapped_column(sort_order=-10)
    content_hash: Mapped[str] = mapped_column(String(64), sort_order=-10)
    created_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The proposal's content as hashed: price (fen), timeline_days, plan, milestones, solution."""
