"""Talent shapes; contact details are null for anonymous callers."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from app.schemas.base import partial
from app.schemas.catalog import (
    ITEM_EXAMPLE,
    CatalogFields,
    CatalogItemRead,
    CatalogPage,
    FieldName,
    LongText,
    create_shape,
    import_shapes,
)

Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=50, pattern=r"^\+?[0-9 ()-]{5,50}$")]

_EXAMPLE: dict[str, Any] = {
    "name": "张建国",
    "title": "教授",
    "affiliation": "郑州大学",
    "field": "盾构装备",
    "research_fields": ["隧道掘进", "刀具磨损"],
    "expertise": "盾构刀盘结构设计与掘进参数优化。",
    "achievements": "主持国家重点研发计划项目 2 项, 授权发明专利 15 件。",
    "contact_email": "zhang.jianguo@zzu.edu.cn",
    "contact_phone": "+86 371 6778 0000",
    "tags": ["盾构"],
    "external_id": "ZZU-TAL-0042",
}


class TalentFields(CatalogFields):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Professional title (职称)."
    )
    affiliation: Annotated[str, StringConstraints(max_length=200)] | None = None
    field: FieldName | None = None
    research_fields: list[FieldName] = Field(default_factory=list, max_length=20)
    expertise: LongText | None = None
    achievements: LongText | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None


TalentCreate = create_shape(TalentFields, "TalentCreate", _EXAMPLE)


TalentUpdate = partial(
    TalentFields, "TalentUpdate", "Only the fields sent change.", {"title": "二级教授"}
)


class TalentRead(CatalogItemRead):
    model_config = ConfigDict(json_schema_extra={"examples": [{**ITEM_EXAMPLE, **_EXAMPLE}]})

    name: str
    title: str | None
    affiliation: str | None
    field: str | None
    research_fields: list[str]
    expertise: str | None
    achievements: str | None
    contact_email: str | None = Field(description="Null for anonymous callers.")
    contact_phone: str | None = Field(description="Null for anonymous callers.")


class TalentPage(CatalogPage[TalentRead]):
    """One page of talents, with facet counts when asked."""


TalentImportItem, TalentImportRequest = import_shapes(TalentFields, "Talent", "talents", _EXAMPLE)
