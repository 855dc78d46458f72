"""IP asset shapes; numbers are checked in the format of their kind by the service."""

from datetime import date
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.models.ip_assets import IPKind, LegalStatus
from app.schemas.base import Day, partial
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

_EXAMPLE: dict[str, Any] = {
    "kind": "invention_patent",
    "number": "201910123456.X",
    "title": "一种盾构机滚刀磨损检测方法",
    "holder": "郑州大学",
    "legal_status": "granted",
    "application_date": "2019-02-14",
    "grant_date": "2020-05-08",
    "expiry_date": "2039-02-13",
    "field": "盾构装备",
    "summary": "基于振动信号的滚刀磨损识别。",
    "available_for_transfer": True,
    "available_for_license": True,
    "tags": ["盾构"],
    "external_id": "ZZU-IP-2019-0077",
}


class IPAssetFields(CatalogFields):
    kind: IPKind
    number: Annotated[str, StringConstraints(min_length=1, max_length=50, to_upper=True)] = Field(
        description="Patent application number (202010123456.7), trademark registration number,"
        " 国作登字-2020-F-00012345, or 2020SR0123456, by kind."
    )
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    holder: Annotated[str, StringConstraints(max_length=200)] | None = None
    legal_status: LegalStatus
    application_date: Day | None = None
    grant_date: Day | None = None
    expiry_date: Day | None = None
    field: FieldName | None = None
    summary: LongText | None = None
    available_for_transfer: bool = False
    available_for_license: bool = False

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.application_date and self.grant_date and self.grant_date < self.application_date:
            raise ValueError("grant_date is before application_date")
        return self


IPAssetCreate = create_shape(IPAssetFields, "IPAssetCreate", _EXAMPLE)


IPAssetUpdate = partial(
    IPAssetFields, "IPAssetUpdate", "Only the fields sent change.", {"legal_status": "expired"}
)


class IPAssetRead(CatalogItemRead):
    model_config = ConfigDict(json_schema_extra={"examples": [{**ITEM_EXAMPLE, **_EXAMPLE}]})

    kind: IPKind
    number: str
    title: str
    holder: str | None
    legal_status: LegalStatus
    application_date: date | None
    grant_date: date | None
    expiry_date: date | None
    field: str | None
    summary: str | None
    available_for_transfer: bool
    available_for_license: bool


class IPAssetPage(CatalogPage[IPAssetRead]):
    """One page of ip assets, with facet counts when asked."""


IPAssetImportItem, IPAssetImportRequest = import_shapes(
    IPAssetFields, "IPAsset", "ip assets", _EXAMPLE
)
