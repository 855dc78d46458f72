"""Policy shapes."""

from datetime import date
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.models.policies import PolicyLevel
from app.schemas.base import Day, partial
from app.schemas.catalog import (
    ITEM_EXAMPLE,
    CatalogFields,
    CatalogItemRead,
    CatalogPage,
    FieldName,
    create_shape,
)

_EXAMPLE: dict[str, Any] = {
    "title": "郑州高新区关于支持科技型企业高质量发展的若干政策",
    "issuing_authority": "郑州高新技术产业开发区管理委员会",
    "level": "district",
    "document_number": "郑开管〔2020〕8号",
    "issue_date": "2020-03-18",
    "effective_date": "2020-04-01",
    "expiry_date": "2022-12-31",
    "category": "科技创新",
    "full_text": "为深入实施创新驱动发展战略, 加快培育科技型企业……",
    "tags": ["科技型企业", "研发补贴"],
    "external_id": None,
}


class PolicyFields(CatalogFields):
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    issuing_authority: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    level: PolicyLevel
    document_number: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="文号, e.g. 郑政〔2020〕12号."
    )
    issue_date: Day
    effective_date: Day | None = None
    expiry_date: Day | None = None
    category: FieldName | None = None
    full_text: Annotated[str, StringConstraints(max_length=200_000)] | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.effective_date and self.effective_date < self.issue_date:
            raise ValueError("effective_date is before issue_date")
        start = self.effective_date or self.issue_date
        if self.expiry_date and self.expiry_date < start:
            raise ValueError("expiry_date is before the policy takes effect")
        return self


PolicyCreate = create_shape(
    PolicyFields, "PolicyCreate", _EXAMPLE, owner="The curating organization (default: yours)."
)


PolicyUpdate = partial(
    PolicyFields, "PolicyUpdate", "Only the fields sent change.", {"expiry_date": "2023-12-31"}
)


class PolicySummary(CatalogItemRead):
    """A policy as lists and search show it: everything but the full text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**ITEM_EXAMPLE, **{k: v for k, v in _EXAMPLE.items() if k != "full_text"}}
            ]
        }
    )

    title: str
    issuing_authority: str
    level: PolicyLevel
    document_number: str | None
    issue_date: date
    effective_date: date | None
    expiry_date: date | None
    category: str | None


class PolicyRead(PolicySummary):
    model_config = ConfigDict(json_schema_extra={"examples": [{**ITEM_EXAMPLE, **_EXAMPLE}]})

    full_text: str | None


class PolicyPage(CatalogPage[PolicySummary]):
    """One page of policies, with facet counts when asked."""
