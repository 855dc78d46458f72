"""Organization shapes."""

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from app.models.orgs import OrganizationKind
from app.schemas.base import InputSchema, NotNull, Page, Schema, omittable


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ValueError("must be an http(s) URL")
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
CreditCode = Annotated[
    str,
    StringConstraints(to_upper=True, min_length=18, max_length=18),
    Field(
        description="Unified social credit code (统一社会信用代码), 18 characters, GB 32100-2015."
    ),
]
Region = Annotated[str, StringConstraints(max_length=100)]
Website = Annotated[str, StringConstraints(max_length=500), AfterValidator(_http_url)]
Description = Annotated[str, StringConstraints(max_length=20_000)]

_EXAMPLE: JsonDict = {
    "name": "郑州大学",
    "kind": "university",
    "credit_code": "12410000415800058Q",
    "region": "河南省郑州市高新区",
    "website": "https://www.zzu.edu.cn",
    "description": "综合性研究型大学, 盾构装备、超硬材料与集成电路方向的产学研合作单位。",
}


class OrganizationCreate(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    name: Name
    kind: OrganizationKind
    credit_code: CreditCode | None = None
    region: Region | None = None
    website: Website | None = None
    description: Description | None = None


class OrganizationUpdate(InputSchema):
    """Only the fields sent are changed; ``kind`` and ``credit_code`` are for staff."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"website": "https://www.zzu.edu.cn", "region": "河南省郑州市"}]
        }
    )

    name: Annotated[Name, NotNull] = omittable()
    kind: Annotated[OrganizationKind, NotNull] = omittable()
    credit_code: CreditCode | None = Field(default=None, description="null clears it.")
    region: Region | None = Field(default=None, description="null clears it.")
    website: Website | None = Field(default=None, description="null clears it.")
    description: Description | None = Field(default=None, description="null clears it.")


class OrganizationRead(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
                    **_EXAMPLE,
                    "created_at": "2026-11-24T08:00:00Z",
                    "updated_at": "2026-11-24T08:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    kind: OrganizationKind
    credit_code: str | None
    region: str | None
    website: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


class OrganizationProfileRead(OrganizationRead):
    """An organization with its rating over the reviews it received that show and are not
    hidden. The mean is an integer in tenths of a star, as the house writes every non-money
    fraction as an integer of a named unit (rates in ``_bp``): 43 reads 4.3."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
                    **_EXAMPLE,
                    "created_at": "2026-11-24T08:00:00Z",
                    "updated_at": "2026-11-24T08:00:00Z",
                    "rating_count": 7,
                    "rating_average_tenths": 43,
                }
            ]
        }
    )

    rating_count: int = Field(description="How many shown, not hidden reviews it received.")
    rating_average_tenths: int | None = Field(
        description="Their mean rating in tenths of a star, rounded half up (43 = 4.3 of 5);"
        " null without reviews."
    )


class OrganizationPage(Page[OrganizationRead]):
    """One page of organizations."""
