"""Technology shapes."""

import uuid
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from app.models.technologies import TransferMode
from app.schemas.base import MoneyIn, MoneyOut, partial
from app.schemas.catalog import (
    ITEM_EXAMPLE,
    CatalogFields,
    CatalogItemRead,
    CatalogPage,
    FieldName,
    LongText,
    ShortText,
    create_shape,
    import_shapes,
)


def _uuid_text(value: str) -> str:
    return str(uuid.UUID(value))


ReferenceId = Annotated[
    str, AfterValidator(_uuid_text), WithJsonSchema({"type": "string", "format": "uuid"})
]
"""An id of another catalog item, kept as text in the item's JSON list."""

_EXAMPLE: dict[str, Any] = {
    "title": "一种盾构机刀盘磨损在线监测装置及方法",
    "summary": "通过在刀盘布置声发射与温度传感器, 实时估计滚刀磨损量, 指导换刀作业, 降低停机时间。",
    "field": "盾构装备",
    "trl": 6,
    "transfer_modes": ["license", "joint_development"],
    "price_min": "500000.00",
    "price_max": "2000000.00",
    "inventor_ids": ["1b7c3e2a-5d4f-4a8b-9c0d-2e3f4a5b6c7d"],
    "ip_asset_ids": [],
    "tags": ["盾构", "智能运维"],
    "external_id": "ZZU-TECH-000123",
}


class TechnologyFields(CatalogFields):
    title: ShortText
    summary: LongText | None = None
    field: FieldName | None = None
    trl: int = Field(ge=1, le=9, description="Technology readiness level, 1–9.")
    transfer_modes: list[TransferMode] = Field(default_factory=list, max_length=4)
    price_min: MoneyIn | None = None
    price_max: MoneyIn | None = None
    inventor_ids: list[ReferenceId] = Field(default_factory=list, max_length=20)
    ip_asset_ids: list[ReferenceId] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if self.price_min is not None and self.price_max is not None:
            if self.price_min > self.price_max:
                raise ValueError("price_min is above price_max")
        if len(set(self.transfer_modes)) != len(self.transfer_modes):
            raise ValueError("transfer_modes repeats a mode")
        return self


TechnologyCreate = create_shape(TechnologyFields, "TechnologyCreate", _EXAMPLE)


TechnologyUpdate = partial(
    TechnologyFields,
    "TechnologyUpdate",
    "Only the fields sent change; send If-Match with the ETag to avoid lost updates.",
    {"trl": 7, "price_max": "2500000.00"},
)


class TechnologyRead(CatalogItemRead):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**ITEM_EXAMPLE, **_EXAMPLE, "currency": "CNY"}]}
    )

    title: str
    summary: str | None
    field: str | None
    trl: int
    transfer_modes: list[TransferMode]
    price_min: MoneyOut | None
    price_max: MoneyOut | None
    currency: Literal["CNY"] = "CNY"
    inventor_ids: list[uuid.UUID]
    ip_asset_ids: list[uuid.UUID]


class TechnologyPage(CatalogPage[TechnologyRead]):
    """One page of technologies, with facet counts when asked."""


TechnologyImportItem, TechnologyImportRequest = import_shapes(
    TechnologyFields, "Technology", "technologies", _EXAMPLE
)
