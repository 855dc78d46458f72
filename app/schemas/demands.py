"""Demand shapes: an enterprise's posted need, and the bodies of its actions."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.models.demands import DemandKind, DemandStatus
from app.schemas.base import InputSchema, Moment, MoneyIn, MoneyOut, Schema, partial
from app.schemas.catalog import (
    ITEM_EXAMPLE,
    CatalogFields,
    CatalogItemRead,
    CatalogPage,
    FieldName,
    LongText,
    ShortText,
)

Reason = Annotated[str, Field(min_length=1, max_length=500, examples=["需求已由内部团队解决"])]
LinkUrl = Annotated[
    str,
    StringConstraints(max_length=500, pattern=r"^https?://[^\s/?#]+[^\s]*$"),
    Field(description="An http(s) link.", examples=["https://files.example.cn/req-001.pdf"]),
]


class Attachment(InputSchema):
    name: ShortText
    url: LinkUrl


class AttachmentRead(Schema):
    name: str
    url: str


_EXAMPLE: dict[str, Any] = {
    "kind": "technology",
    "title": "盾构刀盘磨损在线监测方案征集",
    "description": "需要一套可在施工现场部署的刀盘磨损在线监测方案,"
    " 含传感器选型、数据平台与换刀决策模型。",
    "field": "盾构装备",
    "budget_min": "300000.00",
    "budget_max": "800000.00",
    "budget_visible": True,
    "deadline": "2020-06-30T16:00:00Z",
    "attachments": [
        {"name": "技术要求说明书", "url": "https://files.example.cn/demands/req-001.pdf"}
    ],
    "tags": ["盾构", "智能运维"],
    "reward": None,
    "requirements": None,
    "invited_only": False,
    "external_id": "ZZ-DEMAND-0042",
}


class DemandFields(CatalogFields):
    kind: DemandKind = Field(
        description="technology, financing, talent, service, or challenge (揭榜挂帅: a problem"
        " with a reward for whoever solves it)."
    )
    title: ShortText
    description: LongText | None = None
    field: FieldName | None = None
    budget_min: MoneyIn | None = None
    budget_max: MoneyIn | None = Field(
        default=None, description="The cap on a proposal's price, when set."
    )
    budget_visible: bool = Field(
        default=False, description="Whether providers see the budget (the owner always does)."
    )
    deadline: Moment = Field(
        description="Proposals close at this instant (any future one); the demand then reads"
        " as closed."
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    reward: MoneyIn | None = Field(default=None, description="A challenge's reward; required.")
    requirements: LongText | None = Field(
        default=None, description="A challenge's conditions a solver must meet."
    )
    invited_only: bool = Field(
        default=False,
        description="Only organizations the owner invites see the demand and may propose.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.budget_min is not None and self.budget_max is not None:
            if self.budget_min > self.budget_max:
                raise ValueError("budget_min is above budget_max")
        if self.kind is not None and self.kind is not DemandKind.challenge:
            if self.reward is not None or self.requirements is not None:
                raise ValueError("reward and requirements are for challenges only")
        return self


class DemandCreate(DemandFields):
    """A new demand, saved as a draft until published."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    owner_id: uuid.UUID | None = Field(
        default=None, description="Staff only: the owning enterprise (default: yours)."
    )


DemandUpdate = partial(
    DemandFields,
    "DemandUpdate",
    "A draft's fields; only the fields sent change. An open demand changes only by"
    " extending its deadline.",
    {"budget_max": "900000.00", "deadline": "2020-07-15T16:00:00Z"},
)


class DemandRead(CatalogItemRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **ITEM_EXAMPLE,
                    **_EXAMPLE,
                    "status": "open",
                    "currency": "CNY",
                    "cancelled_at": None,
                    "cancel_reason": None,
                    "decided_at": None,
                    "hidden_at": None,
                    "hidden_reason": None,
                }
            ]
        }
    )

    status: DemandStatus = Field(  # type: ignore[assignment]
        validation_alias=AliasChoices("current_status", "status"),
        description="draft, open, closed (the deadline has passed: proposals are under"
        " review), awarded, unsuccessful or cancelled; read at the time of the request.",
    )
    kind: DemandKind
    title: str
    description: str | None
    field: str | None
    budget_min: MoneyOut | None = Field(
        description="Null for other organizations unless budget_visible."
    )
    budget_max: MoneyOut | None = Field(
        description="Null for other organizations unless budget_visible."
    )
    budget_visible: bool
    currency: Literal["CNY"] = "CNY"
    deadline: datetime
    attachments: list[AttachmentRead]
    reward: MoneyOut | None
    requirements: str | None
    invited_only: bool
    cancelled_at: datetime | None
    cancel_reason: str | None
    decided_at: datetime | None = Field(description="When it was awarded or closed unsuccessful.")
    hidden_at: datetime | None = Field(description="Hidden by an operator (moderation).")
    hidden_reason: str | None


class DemandPage(CatalogPage[DemandRead]):
    """One page of demands, with facet counts when asked."""


class DemandCancel(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "需求已由内部团队解决"}]})

    reason: Reason


class DemandExtend(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"deadline": "2020-07-15T16:00:00Z"}]}
    )

    deadline: Moment = Field(description="Later than the current deadline.")


class DemandCloseUnsuccessful(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "无满足要求的方案"}]})

    reason: Reason | None = None


class DemandHide(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "含个人联系方式, 违反发布规则"}]}
    )

    reason: Reason
