"""Proposals as providers send them and as their readers (sealing permitting) read them;
the audit of their revisions. Money: decimal strings in CNY."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from app.models.deals import ContractCategory
from app.models.demands import ProposalStatus
from app.schemas.base import InputSchema, MoneyIn, MoneyOut, NotNull, Page, Schema, omittable
from app.schemas.deals import MAX_MILESTONES, MIN_AMOUNT_FEN, MilestoneCreate

MAX_TEXT = 20_000
MAX_TIMELINE_DAYS = 3650


def _at_least_one_yuan(value: int | None) -> int | None:
    if value is not None and value < MIN_AMOUNT_FEN:
        raise ValueError("amounts are at least 1.00 CNY")
    return value


_EXAMPLE: dict[str, Any] = {
    "price": "380000.00",
    "plan": "三个月完成传感器选型与现场部署, 第四个月上线数据平台并培训。",
    "timeline_days": 120,
    "milestones": [
        {"title": "传感器选型与样机", "amount": "150000.00"},
        {"title": "现场部署与验收", "amount": "230000.00"},
    ],
    "solution": None,
}


class ProposalCreate(InputSchema):
    """A provider's proposal. The price is at most the demand's budget cap (when it has one);
    milestones, if any, add up to the price; a challenge's proposal states its solution, and
    only a challenge's does."""

    price: MoneyIn
    plan: str = Field(min_length=1, max_length=MAX_TEXT)
    timeline_days: int = Field(ge=1, le=MAX_TIMELINE_DAYS, description="Days to deliver.")
    milestones: list[MilestoneCreate] = Field(
        default_factory=list,
        max_length=MAX_MILESTONES,
        description="Optional; their amounts add up to the price. The deal an award opens"
        " pays by them.",
    )
    solution: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXT,
        description="A challenge's proposed solution summary (challenges only; required there).",
    )

    _price = field_validator("price")(_at_least_one_yuan)

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})


class ProposalUpdate(InputSchema):
    """A revision: the fields sent replace the proposal's (send ``"milestones": []`` to drop
    them); the whole result is checked as a new proposal is. An unchanged proposal writes no
    revision."""

    price: Annotated[MoneyIn, NotNull] = omittable()
    plan: Annotated[str, NotNull] = omittable(min_length=1, max_length=MAX_TEXT)
    timeline_days: Annotated[int, NotNull] = omittable(ge=1, le=MAX_TIMELINE_DAYS)
    milestones: Annotated[list[MilestoneCreate], NotNull] = omittable(max_length=MAX_MILESTONES)
    solution: str | None = Field(
        default=None, min_length=1, max_length=MAX_TEXT, description="null clears it."
    )

    _price = field_validator("price")(_at_least_one_yuan)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "price": "360000.00",
                    "milestones": [
                        {"title": "传感器选型与样机", "amount": "130000.00"},
                        {"title": "现场部署与验收", "amount": "230000.00"},
                    ],
                }
            ]
        }
    )


class ProposalAward(InputSchema):
    category: ContractCategory | None = Field(
        default=None,
        description="The deal's contract category; by default from the demand's kind:"
        " technology → transfer, challenge → development, talent → consulting,"
        " service and financing → service.",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"category": "development"}]})


class ProposalMilestone(Schema):
    title: str
    amount: MoneyOut


class ProposalRead(Schema):
    id: uuid.UUID
    demand_id: uuid.UUID
    organization_id: uuid.UUID = Field(description="The proposing organization.")
    status: ProposalStatus
    currency: Literal["CNY"] = "CNY"
    price: MoneyOut
    plan: str
    timeline_days: int
    milestones: list[ProposalMilestone]
    solution: str | None
    revision: int = Field(description="1 when submitted, one more for each revision.")
    content_hash: str = Field(description="SHA-256 of the current revision's content.")
    submitted_at: datetime = Field(description="When the current revision was submitted.")
    withdrawn_at: datetime | None
    decided_at: datetime | None = Field(description="When it was awarded or unsuccessful.")
    deal_id: uuid.UUID | None = Field(description="The deal its award opened.")
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3d9f2c71-6a0b-4c55-8e1f-7b2a9c4d5e60",
                    "demand_id": "8a1b2c3d-4e5f-4061-9728-3a4b5c6d7e8f",
                    "organization_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "status": "awarded",
                    "currency": "CNY",
                    **_EXAMPLE,
                    "revision": 2,
                    "content_hash": "9c1185a5c5e9fc54612808977ee8f548b2258d31"
                    "2d4a1f5e6b7c8d9e0f1a2b3c",
                    "submitted_at": "2026-03-02T02:15:00Z",
                    "withdrawn_at": None,
                    "decided_at": "2026-03-20T08:00:00Z",
                    "deal_id": "5b7e9c1a-8d2f-4a61-9f3e-2c4d5e6f7a80",
                    "created_at": "2026-03-01T09:30:00Z",
                }
            ]
        }
    )


class ProposalPage(Page[ProposalRead]):
    """A demand's proposals as sealing lets the caller read them."""

    sealed: bool = Field(
        description="Other organizations' proposals are withheld from the caller: always for"
        " a provider (it reads its own), for the demand's owner until the deadline (it reads"
        " their count)."
    )
    total: int | None = Field(
        description="Live (submitted or awarded) proposals; for the owner, staff and auditors,"
        " null for providers."
    )


class RevisionAudit(Schema):
    revision: int
    content_hash: str = Field(description="The hash recorded with the revision.")
    recorded_at: datetime
    hash_ok: bool = Field(description="The recorded content hashes to the recorded hash.")
    before_deadline: bool = Field(description="Recorded before the demand's deadline.")


class ProposalAuditItem(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    status: ProposalStatus
    revision: int
    content_hash: str
    hash_ok: bool = Field(
        description="The proposal's current content hashes to its hash, its last revision's."
    )
    revisions: list[RevisionAudit]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3d9f2c71-6a0b-4c55-8e1f-7b2a9c4d5e60",
                    "organization_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "status": "awarded",
                    "revision": 1,
                    "content_hash": "9c1185a5c5e9fc54612808977ee8f548b2258d31"
                    "2d4a1f5e6b7c8d9e0f1a2b3c",
                    "hash_ok": True,
                    "revisions": [
                        {
                            "revision": 1,
                            "content_hash": "9c1185a5c5e9fc54612808977ee8f548b2258d31"
                            "2d4a1f5e6b7c8d9e0f1a2b3c",
                            "recorded_at": "2026-03-02T02:15:00Z",
                            "hash_ok": True,
                            "before_deadline": True,
                        }
                    ],
                }
            ]
        }
    )


class ProposalAuditPage(Page[ProposalAuditItem]):
    """A page of a demand's proposals, oldest first, each with every revision checked."""

    demand_id: uuid.UUID
    deadline: datetime
    verified: bool = Field(
        description="Every proposal on this page checks out: all hashes recompute, every"
        " revision was recorded before the deadline, each proposal's hash is its last"
        " revision's. Walk every page to verify the whole demand."
    )
