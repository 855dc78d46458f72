"""Cross-catalog search hits: each names its catalog and carries the typed item."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.schemas.base import Schema
from app.schemas.financial_products import FinancialProductRead
from app.schemas.ip_assets import IPAssetRead
from app.schemas.policies import PolicySummary
from app.schemas.talents import TalentRead
from app.schemas.technologies import TechnologyRead


class TalentHit(Schema):
    type: Literal["talents"]
    item: TalentRead


class TechnologyHit(Schema):
    type: Literal["technologies"]
    item: TechnologyRead


class PolicyHit(Schema):
    type: Literal["policies"]
    item: PolicySummary


class IPAssetHit(Schema):
    type: Literal["ip_assets"]
    item: IPAssetRead


class FinancialProductHit(Schema):
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
                            "item": TechnologyRead.model_json_schema()["examples"][0],
                        },
                    ]
                }
            ]
        }
    )

    items: list[SearchHitRead]
