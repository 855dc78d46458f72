"""Deals as clients send and read them. Money: decimal strings in CNY."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.models.deals import ContractCategory, DealStatus, MilestoneStatus
from app.schemas.base import InputSchema, MoneyIn, MoneyOut, Page, Schema

MIN_AMOUNT_FEN = 100
MAX_MILESTONES = 50


def _at_least_one_yuan(value: int) -> int:
    if value < MIN_AMOUNT_FEN:
        raise ValueError("amounts are at least 1.00 CNY")
    return value


class MilestoneCreate(InputSchema):
    title: str = Field(min_length=1, max_length=200, examples=["样机交付与验收"])
    amount: MoneyIn

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "样机交付与验收", "amount": "230000.00"}]}
    )

    _amount = field_validator("amount")(_at_least_one_yuan)


class DealCreate(InputSchema):
    """A deal for a published technology listing; the seller is the listing's owner.

    Members of an enterprise buy for their own organization; operators name the buyer."""

    technology_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200, examples=["盾构刀盘耐磨涂层技术转让"])
    category: ContractCategory = Field(
        description="技术开发 development, 技术转让 transfer, 技术许可 license,"
        " 技术咨询 consulting, 技术服务 service: sets the fee and tax rates frozen on the deal."
    )
    gross_amount: MoneyIn
    buyer_id: uuid.UUID | None = Field(
        default=None, description="The buying enterprise; operators only (members buy for theirs)."
    )
    terms: str | None = Field(default=None, max_length=20_000)
    milestones: list[MilestoneCreate] = Field(
        default_factory=list,
        max_length=MAX_MILESTONES,
        description="Optional; their amounts add up to the gross amount.",
    )

    _gross = field_validator("gross_amount")(_at_least_one_yuan)

    @model_validator(mode="after")
    def _milestones_add_up(self) -> "DealCreate":
        if self.milestones and sum(m.amount for m in self.milestones) != self.gross_amount:
            raise ValueError("the milestones' amounts must add up to gross_amount")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "technology_id": "0b5f0a4e-3f43-4f7e-9a54-3e1f4b8c2d10",
                    "title": "盾构刀盘耐磨涂层技术转让",
                    "category": "transfer",
                    "gross_amount": "380000.00",
                    "milestones": [
                        {"title": "技术资料交付", "amount": "150000.00"},
                        {"title": "样机验收", "amount": "230000.00"},
                    ],
                }
            ]
        }
    )


class DealSettle(InputSchema):
    milestone_id: uuid.UUID | None = Field(
        default=None,
        description="Release this milestone only; without it, everything escrow still holds.",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"milestone_id": "7c6b5a49-3827-4615-9504-f3e2d1c0b9a8"}]}
    )


class MilestoneRead(Schema):
    id: uuid.UUID
    position: int
    title: str
    amount: MoneyOut = Field(validation_alias="amount_fen")
    status: MilestoneStatus
    settled_at: datetime | None


class DealRead(Schema):
    id: uuid.UUID
    title: str
    category: ContractCategory
    status: DealStatus
    buyer_id: uuid.UUID
    seller_id: uuid.UUID
    technology_id: uuid.UUID | None = Field(description="The listed technology contracted for.")
    demand_id: uuid.UUID | None = Field(
        default=None, description="The demand whose award opened the deal (one deal per demand)."
    )
    currency: Literal["CNY"] = "CNY"
    gross_amount: MoneyOut = Field(validation_alias="gross_fen")
    fee_rate_bp: int = Field(description="Platform fee, basis points of each release.")
    tax_rate_bp: int = Field(description="Tax, basis points of each release.")
    escrow_amount: MoneyOut = Field(
        validation_alias="escrow_fen", description="Held in escrow for this deal now."
    )
    released_amount: MoneyOut = Field(validation_alias="released_fen")
    refunded_amount: MoneyOut = Field(validation_alias="refunded_fen")
    fee_amount: MoneyOut = Field(validation_alias="fee_fen")
    tax_amount: MoneyOut = Field(validation_alias="tax_fen")
    terms: str | None
    milestones: list[MilestoneRead]
    created_at: datetime
    funded_at: datetime | None
    closed_at: datetime | None
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b7e9c1a-8d2f-4a61-9f3e-2c4d5e6f7a80",
                    "title": "盾构刀盘耐磨涂层技术转让",
                    "category": "transfer",
                    "status": "settled",
                    "buyer_id": "0f1e2d3c-4b5a-4968-8776-65544332211a",
                    "seller_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "technology_id": "0b5f0a4e-3f43-4f7e-9a54-3e1f4b8c2d10",
                    "demand_id": None,
                    "currency": "CNY",
                    "gross_amount": "380000.00",
                    "fee_rate_bp": 300,
                    "tax_rate_bp": 1100,
                    "escrow_amount": "0.00",
                    "released_amount": "380000.00",
                    "refunded_amount": "0.00",
                    "fee_amount": "11400.00",
                    "tax_amount": "41800.00",
                    "terms": None,
                    "milestones": [],
                    "created_at": "2020-03-02T02:15:00Z",
                    "funded_at": "2020-03-05T06:40:00Z",
                    "closed_at": "2020-04-20T08:00:00Z",
                    "version": 3,
                }
            ]
        }
    )


class DealPage(Page[DealRead]):
    """One page of deals."""


class EntryReverse(InputSchema):
    reason: str = Field(min_length=1, max_length=300, examples=["金额录入错误"])

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "金额录入错误"}]})
