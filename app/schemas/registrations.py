"""Technology-contract registration (技术合同认定登记) as clients file and read it. Money:
decimal strings in CNY."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import ConfigDict, Field

from app.models.deals import ContractCategory, ContractSubKind
from app.schemas.base import Day, InputSchema, MoneyIn, MoneyOut, Schema

#: Printable, no spaces: what offices and parties write as contract and registration numbers.
NUMBER_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z()（）/_.\-]*$"

DEAL_ID = "5b7e9c1a-8d2f-4a61-9f3e-2c4d5e6f7a80"
BUYER_ID = "0f1e2d3c-4b5a-4968-8776-65544332211a"
SELLER_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

SUB_KIND_DESCRIPTION = (
    "development: entrusted_development 委托开发, cooperative_development 合作开发 (required);"
    " transfer: patent_transfer 专利权转让, patent_application_transfer 专利申请权转让,"
    " technical_secret_transfer 技术秘密转让 (required); license: patent_license 专利实施许可,"
    " technical_secret_license 技术秘密许可 (required); consulting: feasibility_study 可行性论证,"
    " technology_forecast 技术预测, technical_survey 专题技术调查, analysis_report 分析评价报告"
    " (or none); service: technical_training 技术培训, technical_intermediary 技术中介"
    " (or none: a general technical service)."
)


class RegistrationFile(InputSchema):
    """What the parties file with the technology-market office; replaces what was filed."""

    contract_number: str = Field(
        min_length=1, max_length=50, pattern=NUMBER_PATTERN, description="The contract's number."
    )
    sub_kind: ContractSubKind | None = Field(default=None, description=SUB_KIND_DESCRIPTION)
    signed_on: Day = Field(description="The day the contract was signed (not in the future).")
    non_technical_costs: MoneyIn = Field(
        description="Equipment, materials and other non-technical costs in the contract"
        ' amount ("0.00" when none); at most the contract amount (the deal\'s gross).',
        examples=["30000.00"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contract_number": "4101002020000123",
                    "sub_kind": "patent_transfer",
                    "signed_on": "2020-03-02",
                    "non_technical_costs": "30000.00",
                }
            ]
        }
    )


class RegistrationGrant(InputSchema):
    """The registration number the technology-market office granted, and its day."""

    registration_number: str = Field(min_length=1, max_length=50, pattern=NUMBER_PATTERN)
    registered_on: Day = Field(
        description="The day of registration: on or after signing, not in the future."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"registration_number": "2020410100000456", "registered_on": "2020-03-20"}]
        }
    )


class RegistrationRead(Schema):
    deal_id: uuid.UUID
    category: ContractCategory
    buyer_id: uuid.UUID
    seller_id: uuid.UUID
    status: Literal["filed", "registered"] = Field(
        description="filed: waiting for the office; registered: granted, no longer changes."
    )
    contract_number: str
    sub_kind: ContractSubKind | None
    signed_on: date
    currency: Literal["CNY"] = "CNY"
    contract_amount: MoneyOut = Field(
        validation_alias="contract_amount_fen", description="The deal's gross amount."
    )
    non_technical_costs: MoneyOut = Field(validation_alias="non_technical_fen")
    technical_amount: MoneyOut = Field(
        validation_alias="technical_fen",
        description="技术交易额: the contract amount less its non-technical costs.",
    )
    registration_number: str | None
    registered_on: date | None
    filed_by: str = Field(description="Who last filed the data: user:<id> or api_key:<id>.")
    registered_by: str | None
    updated_at: datetime
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deal_id": DEAL_ID,
                    "category": "transfer",
                    "buyer_id": BUYER_ID,
                    "seller_id": SELLER_ID,
                    "status": "registered",
                    "contract_number": "4101002020000123",
                    "sub_kind": "patent_transfer",
                    "signed_on": "2020-03-02",
                    "currency": "CNY",
                    "contract_amount": "380000.00",
                    "non_technical_costs": "30000.00",
                    "technical_amount": "350000.00",
                    "registration_number": "2020410100000456",
                    "registered_on": "2020-03-20",
                    "filed_by": "user:3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f",
                    "registered_by": "user:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                    "updated_at": "2020-03-20T06:30:00Z",
                    "version": 2,
                }
            ]
        }
    )


class KindTotalRead(Schema):
    category: ContractCategory | None = Field(description="The kind; null for all kinds.")
    contracts: int
    contract_amount: MoneyOut = Field(validation_alias="contract_amount_fen")
    non_technical_costs: MoneyOut = Field(validation_alias="non_technical_fen")
    technical_amount: MoneyOut = Field(validation_alias="technical_fen")


class RegistrationPage(Schema):
    """One page of the contracts registered in the period, and the whole period's totals."""

    start: date | None = Field(serialization_alias="from", description="First day, included.")
    end: date | None = Field(serialization_alias="to", description="Last day, included.")
    currency: Literal["CNY"] = "CNY"
    items: list[RegistrationRead]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page."
    )
    by_category: list[KindTotalRead] = Field(
        description="Every kind of contract, over the whole period (not just this page)."
    )
    total: KindTotalRead = Field(description="All kinds together, over the whole period.")
