"""The ledger as auditors read it. Amounts: decimal strings in CNY (negative allowed)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from app.models.deals import ContractCategory
from app.models.ledger import AccountKind, EntryKind
from app.schemas.base import MoneyOut, Page, Schema


class AccountRead(Schema):
    id: uuid.UUID
    code: str = Field(examples=["escrow"])
    kind: AccountKind
    organization_id: uuid.UUID | None
    may_go_negative: bool
    currency: Literal["CNY"] = "CNY"
    balance: MoneyOut = Field(description="Sum of the account's postings (as of as_of).")
    as_of: datetime | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f1c5f1e-6a47-5d7c-9a3e-8f2b1c0d4e5a",
                    "code": "fee_revenue",
                    "kind": "fee_revenue",
                    "organization_id": None,
                    "may_go_negative": False,
                    "currency": "CNY",
                    "balance": "287400.00",
                    "as_of": "2020-05-31T15:59:59.999999Z",
                }
            ]
        }
    )


class AccountList(Schema):
    items: list[AccountRead]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "3f1c5f1e-6a47-5d7c-9a3e-8f2b1c0d4e5a",
                            "code": "escrow",
                            "kind": "escrow",
                            "organization_id": None,
                            "may_go_negative": False,
                            "currency": "CNY",
                            "balance": "1250000.00",
                            "as_of": None,
                        }
                    ]
                }
            ]
        }
    )


class PostingRead(Schema):
    line: int
    account_id: uuid.UUID
    amount: MoneyOut = Field(
        validation_alias="amount_fen", description="Received (positive) or given (negative)."
    )


class EntryRead(Schema):
    id: uuid.UUID
    chain: int
    seq: int
    kind: EntryKind
    occurred_at: datetime
    deal_id: uuid.UUID | None
    milestone_id: uuid.UUID | None
    reverses_id: uuid.UUID | None
    category: ContractCategory | None
    buyer_id: uuid.UUID | None
    seller_id: uuid.UUID | None
    currency: Literal["CNY"] = "CNY"
    volume: MoneyOut = Field(validation_alias="volume_fen")
    fee: MoneyOut = Field(validation_alias="fee_fen")
    tax: MoneyOut = Field(validation_alias="tax_fen")
    created_by: str
    memo: str
    prev_hash: str
    hash: str
    postings: list[PostingRead]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
                    "chain": 3,
                    "seq": 42,
                    "kind": "settlement",
                    "occurred_at": "2020-04-20T08:00:00Z",
                    "deal_id": "5b7e9c1a-8d2f-4a61-9f3e-2c4d5e6f7a80",
                    "milestone_id": None,
                    "reverses_id": None,
                    "category": "transfer",
                    "buyer_id": "0f1e2d3c-4b5a-4968-8776-65544332211a",
                    "seller_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "currency": "CNY",
                    "volume": "380000.00",
                    "fee": "11400.00",
                    "tax": "41800.00",
                    "created_by": "user:7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9",
                    "memo": "结算 盾构刀盘耐磨涂层技术转让",
                    "prev_hash": "4f2a…",
                    "hash": "b91c…",
                    "postings": [
                        {
                            "line": 1,
                            "account_id": "3f1c5f1e-6a47-5d7c-9a3e-8f2b1c0d4e5a",
                            "amount": "-380000.00",
                        },
                        {
                            "line": 2,
                            "account_id": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
                            "amount": "326800.00",
                        },
                        {
                            "line": 3,
                            "account_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
                            "amount": "11400.00",
                        },
                        {
                            "line": 4,
                            "account_id": "4d5e6f7a-8b9c-4d0e-8f1a-2b3c4d5e6f7a",
                            "amount": "41800.00",
                        },
                    ],
                }
            ]
        }
    )


class EntryPage(Page[EntryRead]):
    """One page of journal entries."""


class Verification(Schema):
    ok: bool
    entries_checked: int
    first_bad_entry: uuid.UUID | None = Field(
        description="The earliest entry that fails a check; null when none does."
    )
    problems: list[str] = Field(description="Every failed check, in words.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ok": True, "entries_checked": 1843, "first_bad_entry": None, "problems": []}
            ]
        }
    )


class TotalsGroup(Schema):
    group: str | None = Field(
        description="The period (2020-05, 2020-Q2, 2020), category, or organization id;"
        " null for group_by=none."
    )
    transaction_volume: MoneyOut = Field(
        validation_alias="transaction_volume_fen",
        description="Gross released to sellers (fee and tax included); a reversal takes it"
        " back in its own period, so a group may be negative.",
    )
    tax_total: MoneyOut = Field(
        validation_alias="tax_total_fen",
        description="Tax accrued: withheld from the group's releases (owed to the authority).",
    )
    fee_total: MoneyOut = Field(validation_alias="fee_total_fen")
    deals_settled: int = Field(
        description="Deals with money released to their seller in the group, net of the"
        " group's reversals."
    )
    enterprises_served: int = Field(description="Distinct buyers of those deals.")


class Totals(Schema):
    currency: Literal["CNY"] = "CNY"
    group_by: str
    timezone: str
    groups: list[TotalsGroup]
    tax_remitted: MoneyOut = Field(
        description="Tax paid to the tax authority in the whole period (tax remittances),"
        " beside the groups' tax accrued."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "currency": "CNY",
                    "group_by": "quarter",
                    "timezone": "Asia/Shanghai",
                    "groups": [
                        {
                            "group": "2020-Q1",
                            "transaction_volume": "3120000.00",
                            "tax_total": "356400.00",
                            "fee_total": "98700.00",
                            "deals_settled": 41,
                            "enterprises_served": 33,
                        }
                    ],
                    "tax_remitted": "300000.00",
                }
            ]
        }
    )
