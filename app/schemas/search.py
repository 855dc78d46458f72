"""Cross-catalog search hits: each names its catalog and carries the typed item."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.schemas.base import Schema
from app.schemas.financial_products import FinancialProductRead
from app.schemas.ip_assets import IPAssetRead
from app.schemas.policies import PolicySummary
from app.schemas.talents import TalentRead
from app.schemas.technologies import TechnologyRead


class Hit(Schema):
    score: float = Field(
        description="The text relevance (BM25, title weighted, phrase boosted, a gentle"
        " recency boost) the hits are ordered by; comparable within one response only."
    )
    highlight: str | None = Field(
        default=None,
        description="With `highlight=true`: a snippet around the matched terms, HTML-escaped,"
        " matches in <mark>…</mark>; null when only the title matched.",
    )


class TalentHit(Hit):
    type: Literal["talents"]
    item: TalentRead


class TechnologyHit(Hit):
    type: Literal["technologies"]
    item: TechnologyRead


class PolicyHit(Hit):
    type: Literal["policies"]
    item: PolicySummary


class IPAssetHit(Hit):
    type: Literal["ip_assets"]
    item: IPAssetRead


class FinancialProductHit(Hit):
    type: Literal["financial_products"]
    item: FinancialProductRead


SearchHitRead = Annotated[
    TalentHit | TechnologyHit | PolicyHit | IPAssetHit | FinancialProductHit,
    Field(discriminator="type"),
]


class SearchResults(Schema):
    """The best matches across the catalogs asked for, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "type": "technologies",
                            "score": 12.4817,
                            "highlight": None,
                            "item": TechnologyRead.model_json_schema()["examples"][0],
                        },
                    ]
                }
            ]
        }
    )

    items: list[SearchHitRead]
