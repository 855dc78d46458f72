"""Matches: catalog items for a demand, open demands for a provider, each with its reasons."""

import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from app.schemas.base import MoneyOut, Schema
from app.schemas.demands import DemandRead
from app.schemas.financial_products import FinancialProductRead
from app.schemas.ip_assets import IPAssetRead
from app.schemas.orgs import OrganizationRead
from app.schemas.talents import TalentRead
from app.schemas.technologies import TechnologyRead


class OwnerRead(Schema):
    id: uuid.UUID
    name: str


class FieldFitRead(Schema):
    demand_field: str | None
    item_field: str | None = Field(
        description="The item's field (for a provider: the field of its listings that fits,"
        " else one of them)."
    )
    same: bool
    factor_bp: int = Field(
        description="What it multiplies the score by, in basis points: 13000 (×1.3) when the"
        " same, else 10000."
    )


class TrlRead(Schema):
    trl: int = Field(description="The technology's readiness level, 1–9.")
    factor_bp: int = Field(
        description="10000 + 300 × (trl − 5), basis points: ×0.88 at TRL 1, ×1.12 at TRL 9."
    )


class BudgetFitRead(Schema):
    fit: Literal["within", "above", "below", "unknown"] = Field(
        description="The item's price (technologies) or amount (financial products) range"
        " against the demand's budget: overlapping, wholly above, wholly below, or a side"
        " unknown."
    )
    item_min: MoneyOut | None
    item_max: MoneyOut | None
    budget_min: MoneyOut | None
    budget_max: MoneyOut | None
    currency: Literal["CNY"] = "CNY"
    factor_bp: int = Field(
        description="Basis points: 5000 (×0.5) above the budget, 8000 below it, else 10000."
    )


class TextFitRead(Schema):
    score: float = Field(
        description="The text relevance (BM25 of the demand's words, its title weighted) before"
        " the fit factors."
    )
    matched_terms: list[str] = Field(
        description="Words of the demand's text found in the other side's text, longest"
        " first (at most 12)."
    )


class MatchReasons(Schema):
    """Why an item ranks where it does: the very terms and numbers its score is made of."""

    text: TextFitRead
    field: FieldFitRead | None = Field(description="Null when either side has no field.")
    trl: TrlRead | None = Field(description="Technologies only.")
    budget: BudgetFitRead | None = Field(
        description="Technologies and financial products (for a provider: its priced"
        " listings); null when the caller may not see the budget."
    )
    owner: OwnerRead = Field(description="Who offers the item (for a demand: who posted it).")


class _Match(Schema):
    score: float = Field(
        description="reasons.text.score × the field, TRL and budget factors, 4 places;"
        " comparable within one response only. Ties by type, then id."
    )
    reasons: MatchReasons


class TechnologyMatch(_Match):
    type: Literal["technologies"]
    item: TechnologyRead


class TalentMatch(_Match):
    type: Literal["talents"]
    item: TalentRead


class IPAssetMatch(_Match):
    type: Literal["ip_assets"]
    item: IPAssetRead


class FinancialProductMatch(_Match):
    type: Literal["financial_products"]
    item: FinancialProductRead


class OrganizationMatch(_Match):
    type: Literal["organizations"]
    item: OrganizationRead


MatchRead = Annotated[
    TechnologyMatch | TalentMatch | IPAssetMatch | FinancialProductMatch | OrganizationMatch,
    Field(discriminator="type"),
]

_REASONS_EXAMPLE: dict[str, Any] = {
    "text": {"score": 18.2214, "matched_terms": ["盾构机", "刀盘", "磨损"]},
    "field": {
        "demand_field": "盾构/隧道掘进装备",
        "item_field": "盾构/隧道掘进装备",
        "same": True,
        "factor_bp": 13000,
    },
    "trl": {"trl": 7, "factor_bp": 10600},
    "budget": {
        "fit": "within",
        "item_min": "300000.00",
        "item_max": "800000.00",
        "budget_min": "500000.00",
        "budget_max": "1000000.00",
        "currency": "CNY",
        "factor_bp": 10000,
    },
    "owner": {"id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55", "name": "盾构及掘进技术国家重点实验室"},
}


class DemandMatchesRead(Schema):
    """The catalog items that best fit a demand, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "demand_id": "0b7e9d4a-6f2c-4a57-8d3e-2c1b9a0f4e6d",
                    "items": [
                        {
                            "type": "technologies",
                            "score": 25.1085,
                            "reasons": _REASONS_EXAMPLE,
                            "item": TechnologyRead.model_json_schema()["examples"][0],
                        }
                    ],
                }
            ]
        }
    )

    demand_id: uuid.UUID
    items: list[MatchRead]


class DemandMatchRead(_Match):
    item: DemandRead


class MatchedDemandsRead(Schema):
    """The open demands that best fit a provider, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
                    "items": [
                        {
                            "score": 21.0773,
                            "reasons": {**_REASONS_EXAMPLE, "trl": None},
                            "item": DemandRead.model_json_schema()["examples"][0],
                        }
                    ],
                }
            ]
        }
    )

    organization_id: uuid.UUID
    items: list[DemandMatchRead]
