"""Shapes every catalog shares: item envelope fields, pages with facets, history, imports."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar, cast

from pydantic import ConfigDict, Field, SkipValidation, StringConstraints

from app.core.errors import FieldError
from app.models.catalog import CatalogStatus, HistoryAction
from app.schemas.base import InputSchema, Page, Schema

T = TypeVar("T")
F = TypeVar("F", bound="CatalogFields")

Tag = Annotated[str, StringConstraints(min_length=1, max_length=30)]
ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$"),
    Field(description="The owner's own key for the item (letters, digits, . _ : / -)."),
]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=50)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class CatalogFields(InputSchema):
    """Fields every catalog item takes on create and import."""

    tags: list[Tag] = Field(default_factory=list, max_length=20)
    external_id: ExternalId | None = None


class CatalogItemRead(Schema):
    id: uuid.UUID
    owner_id: uuid.UUID
    status: CatalogStatus
    external_id: str | None
    tags: list[str]
    version: int = Field(description="Changes with every update; the ETag is this number.")
    published_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime


ITEM_EXAMPLE: dict[str, Any] = {
    "id": "3f1c2b9e-7a41-4c55-9a0e-2d5b8e6f4a10",
    "owner_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
    "status": "published",
    "external_id": "ZZU-TECH-000123",
    "tags": ["盾构", "智能运维"],
    "version": 3,
    "published_at": "2020-03-02T02:00:00Z",
    "withdrawn_at": None,
    "created_at": "2020-02-28T08:30:00Z",
    "updated_at": "2020-03-02T02:00:00Z",
}


class FacetCountRead(Schema):
    value: str | int | bool | None
    count: int


class CatalogPage(Page[T], Generic[T]):
    facets: dict[str, list[FacetCountRead]] | None = Field(
        default=None,
        description="Counts per value of the fields named in `facets`, over the filtered set.",
        examples=[
            {"level": [{"value": "district", "count": 412}, {"value": "national", "count": 98}]}
        ],
    )
    facets_exact: bool | None = Field(
        default=None,
        description="True: the counts are over every match (the search index counts them"
        " all); null without facets.",
    )
    total: int | None = Field(
        default=None,
        description="How many items match the filters and `q`, over every page.",
        examples=[1284],
    )
    total_exact: bool = Field(
        default=True,
        description="Whether `total` is exact. The search index counts every match, so it is"
        " true today; a client should still show `total` as a lower bound when false.",
    )
    highlights: dict[str, str] | None = Field(
        default=None,
        description="With `highlight=true` and `q`: item id → a snippet of the item's text"
        " around the matched terms, HTML-escaped, each match in <mark>…</mark>. Items whose"
        " title alone matched have none.",
        examples=[{"3f1c2b9e-7a41-4c55-9a0e-2d5b8e6f4a10": "…基于<mark>盾构</mark>机刀盘…"}],
    )


class HistoryEntryRead(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0c7e5a4f-91b2-4f0e-8d55-0b7d1a6c2e93",
                    "action": "update",
                    "actor_kind": "api_key",
                    "actor_id": "9d1b6c8a-3e0f-4b52-8a7d-61c2f4e0b913",
                    "source": "import",
                    "version": 2,
                    "changes": {"trl": [5, 6]},
                    "created_at": "2020-04-01T03:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    action: HistoryAction
    actor_kind: str = Field(description="user, api_key or system.")
    actor_id: uuid.UUID | None
    source: str = Field(description="api, import or seed.")
    version: int = Field(description="The item's version after this change.")
    changes: dict[str, Any] = Field(description="Field → [old, new].")
    created_at: datetime


class HistoryPage(Page[HistoryEntryRead]):
    """One page of an item's history, oldest first."""


class ImportMode(StrEnum):
    atomic = "atomic"
    continue_ = "continue"


class ImportRequest(Schema, Generic[T]):
    """Up to 1,000 items keyed by external_id, all owned by the caller's organization.

    Each item is validated on its own (its errors are reported with it, in ``continue`` mode
    without failing the others), so the envelope only checks its own fields.
    """

    model_config = ConfigDict(extra="forbid")

    items: list[SkipValidation[T]] = Field(min_length=1, max_length=1000)
    mode: ImportMode = Field(
        default=ImportMode.atomic,
        description="atomic: one bad item rejects the batch, nothing is written. "
        "continue: good items are written, bad ones reported.",
    )


class ImportItemResult(Schema):
    external_id: str | None
    id: uuid.UUID | None
    result: str = Field(description="created, updated, unchanged or error.")
    errors: list[FieldError]


class ImportResponse(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "external_id": "ZZU-TECH-000123",
                            "id": "3f1c2b9e-7a41-4c55-9a0e-2d5b8e6f4a10",
                            "result": "created",
                            "errors": [],
                        },
                        {
                            "external_id": "ZZU-TECH-000124",
                            "id": "8b0e2f55-1d3a-4e6b-9c7f-0a2d4e6f8b1c",
                            "result": "unchanged",
                            "errors": [],
                        },
                    ]
                }
            ]
        }
    )

    results: list[ImportItemResult]


ImportStatusField = Annotated[
    CatalogStatus | None,
    Field(
        description="draft, published or withdrawn; new items default to draft, existing ones"
        " keep theirs. Publishing in the same call is allowed."
    ),
]


STAFF_OWNER = "Staff only: the owning organization (default: yours)."


def _subclass(base: type[Any], name: str, example: Any, namespace: dict[str, Any]) -> Any:
    """``base`` with the fields of ``namespace`` and ``example`` as its documented example,
    named as the catalog's module would have named it."""
    return type(
        name,
        (base,),
        {
            "__module__": base.__module__,
            "__qualname__": name,
            "model_config": ConfigDict(json_schema_extra={"examples": [example]}),
            **namespace,
        },
    )


def create_shape(
    fields: type[F], name: str, example: dict[str, Any], *, owner: str = STAFF_OWNER
) -> type[F]:
    """A catalog's create shape: its fields, and the owning organization (``owner`` says who
    may name it)."""
    return cast(
        "type[F]",
        _subclass(
            fields,
            name,
            example,
            {
                "__annotations__": {"owner_id": uuid.UUID | None},
                "owner_id": Field(default=None, description=owner),
            },
        ),
    )


def import_shapes(
    fields: type[F], noun: str, plural: str, example: dict[str, Any]
) -> tuple[type[F], type[ImportRequest[Any]]]:
    """A catalog's import item (its fields, keyed by a required external_id, with a status)
    and the batch of them (``<noun>ImportItem``, ``<noun>ImportRequest``)."""
    imported = {**example, "status": "published"}
    item = _subclass(
        fields,
        f"{noun}ImportItem",
        imported,
        {
            "__annotations__": {"external_id": ExternalId, "status": ImportStatusField},
            "status": None,
        },
    )
    request = _subclass(
        ImportRequest[item],  # type: ignore[valid-type]
        f"{noun}ImportRequest",
        {"mode": "atomic", "items": [imported]},
        {"__doc__": f"Up to 1,000 {plural} keyed by external_id."},
    )
    return cast("type[F]", item), cast("type[ImportRequest[Any]]", request)
