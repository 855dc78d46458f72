"""Payouts, tax remittances and an organization's balance as clients send and read them.
Money: decimal strings in CNY."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field, field_validator

from app.models.ledger import EntryKind
from app.models.payouts import PayoutStatus
from app.schemas.base import InputSchema, MoneyIn, MoneyOut, Page, Schema

#: A tax period as the calendar labels it (``app/core/calendar.period_label``).
PERIOD_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError("the amount is at least 0.01 CNY")
    return value


class PayoutCreate(InputSchema):
    organization_id: uuid.UUID
    amount: MoneyIn = Field(description="At most the organization's payable balance.")
    bank_reference: str = Field(min_length=1, max_length=100, examples=["ICBC-20200612-000731"])

    _amount = field_validator("amount")(_positive)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "0b5f0a4e-3f43-4f7e-9a54-3e1f4b8c2d10",
                    "amount": "342000.00",
                    "bank_reference": "ICBC-20200612-000731",
                }
            ]
        }
    )


class PayoutReturn(InputSchema):
    reason: str = Field(min_length=1, max_length=300, examples=["收款账户已销户"])

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "收款账户已销户"}]})


class PayoutRead(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    amount: MoneyOut = Field(validation_alias="amount_fen")
    bank_reference: str
    status: PayoutStatus
    entry_id: uuid.UUID = Field(description="The payout's journal entry (payable → bank).")
    created_by: str
    created_at: datetime
    returned_at: datetime | None
    return_reason: str | None
    return_entry_id: uuid.UUID | None = Field(
        description="The reversing entry (bank → payable) once the bank returned it."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5d1f7c1e-1c5e-4a8e-9d55-6a0c2f3b9e11",
                    "organization_id": "0b5f0a4e-3f43-4f7e-9a54-3e1f4b8c2d10",
                    "amount": "342000.00",
                    "bank_reference": "ICBC-20200612-000731",
                    "status": "paid",
                    "entry_id": "7a3c1d2e-4b5f-4c6d-8e9f-0a1b2c3d4e5f",
                    "created_by": "user:3f6c0d2a-8a1b-4c3d-9e0f-1a2b3c4d5e6f",
                    "created_at": "2020-06-12T02:00:00Z",
                    "returned_at": None,
                    "return_reason": None,
                    "return_entry_id": None,
                }
            ]
        }
    )


class PayoutPage(Page[PayoutRead]):
    """One page of payouts."""


class SettlementRead(Schema):
    entry_id: uuid.UUID
    deal_id: uuid.UUID | None
    kind: EntryKind = Field(description="settlement, or reversal (of a settlement).")
    occurred_at: datetime
    amount: MoneyOut = Field(
        validation_alias="amount_fen",
        description="What the entry put into the payable account (negative for a reversal).",
    )


class OrganizationBalanceRead(Schema):
    organization_id: uuid.UUID
    currency: str = "CNY"
    balance: MoneyOut = Field(
        validation_alias="balance_fen",
        description="What the platform owes the organization now (its payable account).",
    )
    recent_settlements: list[SettlementRead] = Field(description="The latest, newest first.")
    recent_payouts: list[PayoutRead] = Field(
        description="The latest, newest first; all of them: GET /v1/payouts (staff, auditors)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "0b5f0a4e-3f43-4f7e-9a54-3e1f4b8c2d10",
                    "currency": "CNY",
                    "balance": "18000.00",
                    "recent_settlements": [
                        {
                            "entry_id": "7a3c1d2e-4b5f-4c6d-8e9f-0a1b2c3d4e5f",
                            "deal_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                            "kind": "settlement",
                            "occurred_at": "2020-06-01T02:00:00Z",
                            "amount": "360000.00",
                        }
                    ],
                    "recent_payouts": [],
                }
            ]
        }
    )


class TaxRemittanceCreate(InputSchema):
    amount: MoneyIn = Field(description="At most the tax payable balance.")
    receipt_number: str = Field(
        min_length=1,
        max_length=64,
        description="完税凭证号: the tax authority's receipt number.",
        examples=["332016200600012345"],
    )
    period: str = Field(
        pattern=PERIOD_PATTERN,
        description="The tax period paid: a month (2020-05), quarter (2020-Q2) or year (2020).",
        examples=["2020-Q2"],
    )

    _amount = field_validator("amount")(_positive)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"amount": "41800.00", "receipt_number": "332016200600012345", "period": "2020-Q2"}
            ]
        }
    )


class TaxRemittanceRead(Schema):
    id: uuid.UUID
    amount: MoneyOut = Field(validation_alias="amount_fen")
    receipt_number: str
    period: str
    entry_id: uuid.UUID = Field(description="The remittance's journal entry (tax payable → bank).")
    created_by: str
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
                    "amount": "41800.00",
                    "receipt_number": "332016200600012345",
                    "period": "2020-Q2",
                    "entry_id": "7a3c1d2e-4b5f-4c6d-8e9f-0a1b2c3d4e5f",
                    "created_by": "user:3f6c0d2a-8a1b-4c3d-9e0f-1a2b3c4d5e6f",
                    "created_at": "2020-07-10T02:00:00Z",
                }
            ]
        }
    )


class TaxRemittancePage(Page[TaxRemittanceRead]):
    """One page of tax remittances."""
