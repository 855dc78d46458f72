"""Subscriptions, their delivery log and the events feed, as clients send and read them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from app.models.subscriptions import DeliveryState, SubscriptionStatus
from app.schemas.base import InputSchema, NotNull, Page, Schema, omittable


class SubscribableCatalog(StrEnum):
    talents = "talents"
    technologies = "technologies"
    policies = "policies"
    ip_assets = "ip_assets"
    financial_products = "financial_products"
    demands = "demands"


FilterValues = list[str | int]

_SUBSCRIPTION_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
_ORGANIZATION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
_INPUT: JsonDict = {
    "name": "新能源电池技术",
    "catalog": "technologies",
    "q": "锂电池",
    "filters": {"field": ["新能源"], "trl": [6, 7, 8, 9]},
    "url": "https://partner.example.com/innoshare/webhooks",
}
_READ: JsonDict = {
    **_INPUT,
    "id": _SUBSCRIPTION_ID,
    "organization_id": _ORGANIZATION_ID,
    "status": "active",
    "failing_since": None,
    "disabled_at": None,
    "disabled_reason": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-03-01T01:00:00Z",
    "updated_at": "2026-03-01T01:00:00Z",
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class SubscriptionCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, description="For people: what it watches.")
    catalog: SubscribableCatalog = Field(description="The catalog watched, or demands.")
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Text an item must contain, as catalog search reads q (every term).",
    )
    filters: dict[str, FilterValues] = Field(
        default_factory=dict,
        max_length=20,
        description=(
            "Typed filters: a facet of the catalog (its list's `facets` values but status) with"
            " the values accepted (any of them), or `tags` with tags every item must carry."
        ),
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        description=(
            "Where events are sent (Standard Webhooks). https (http outside production); in"
            " production never a loopback, private, link-local or metadata address. Leave it"
            " out to read the events from GET /v1/events only."
        ),
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_INPUT]})


_UPDATE_EXAMPLE: JsonDict = {"q": "固态电池", "enabled": True}


class SubscriptionUpdate(InputSchema):
    """The fields to change; ``enabled: true`` turns a disabled subscription back on."""

    name: Annotated[str, NotNull] = omittable(min_length=1, max_length=200)
    q: str | None = Field(
        default=None, min_length=1, max_length=200, description="null: no text query."
    )
    filters: Annotated[dict[str, FilterValues], NotNull] = omittable(max_length=20)
    url: str | None = Field(
        default=None, max_length=2000, description="null: no webhook, the events feed only."
    )
    enabled: Annotated[bool, NotNull] = omittable(
        description="true: turn a disabled subscription on; false: pause it."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_UPDATE_EXAMPLE]})


class SubscriptionRead(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    catalog: SubscribableCatalog
    q: str | None
    filters: dict[str, FilterValues]
    url: str | None
    status: SubscriptionStatus
    failing_since: datetime | None = Field(
        description="The first failed delivery since the last success."
    )
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why deliveries stopped, in words.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation signs too."
    )
    created_at: datetime
    updated_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [_READ]})


class SubscriptionWithSecret(SubscriptionRead):
    """A subscription with its signing secret: shown in this answer only, never again."""

    secret: str = Field(description="The signing secret (whsec_…): store it now.")

    model_config = ConfigDict(json_schema_extra={"examples": [{**_READ, "secret": _SECRET}]})


class SubscriptionPage(Page[SubscriptionRead]):
    """One page of webhook subscriptions."""


class DeliveryAttemptRead(Schema):
    event_id: uuid.UUID
    attempt: int = Field(description="1 for an event's first attempt, and so on.")
    started_at: datetime
    duration_ms: int
    status_code: int | None = Field(description="The receiver's status; none without an answer.")
    ok: bool
    error: str | None = Field(description="Why the attempt failed, in words.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170",
                    "attempt": 2,
                    "started_at": "2026-03-01T01:00:05Z",
                    "duration_ms": 84,
                    "status_code": 503,
                    "ok": False,
                    "error": "answered 503",
                }
            ]
        }
    )


class DeliveryAttemptPage(Page[DeliveryAttemptRead]):
    """One page of a subscription's delivery attempts."""


class EventRead(Schema):
    """One event: the body a webhook delivers (``type``, ``timestamp``, ``data``) with its id
    (the ``webhook-id`` without ``msg_``) and subscription."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    type: str = Field(description="technology.published, demand.opened, talent.updated, …")
    timestamp: datetime = Field(validation_alias="created_at")
    data: dict[str, Any]
    state: DeliveryState = Field(description="feed: the subscription has no webhook target.")
    attempts: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170",
                    "subscription_id": _SUBSCRIPTION_ID,
                    "type": "technology.published",
                    "timestamp": "2026-03-01T01:00:00Z",
                    "data": {
                        "subscription_id": _SUBSCRIPTION_ID,
                        "catalog": "technologies",
                        "change": "published",
                        "item": {
                            "id": "6c5b4a39-2817-4f6e-9d8c-7b6a59483726",
                            "title": "高安全锂电池固态电解质",
                            "owner_id": _ORGANIZATION_ID,
                            "url": "/v1/technologies/6c5b4a39-2817-4f6e-9d8c-7b6a59483726",
                        },
                    },
                    "state": "delivered",
                    "attempts": 1,
                }
            ]
        }
    )


class EventFeed(Schema):
    """Events in order; ``next_cursor`` is given even when ``items`` is empty: pass it as
    ``after`` to read on from here."""

    items: list[EventRead]
    next_cursor: str
