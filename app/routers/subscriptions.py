"""/v1/subscriptions and /v1/events: saved queries whose new matches an organization is told
of, by webhook (Standard Webhooks) or by reading its events feed."""

import uuid
from typing import Annotated

from fastapi import Query, Response, status

from app.core.config import Environment
from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.subscriptions import DeliveryAttempt, Event, Subscription
from app.routers.deps import CurrentPrincipal, Cursor, Limit, SessionDep, SettingsDep
from app.schemas.subscriptions import (
    DeliveryAttemptPage,
    EventFeed,
    EventRead,
    SubscriptionCreate,
    SubscriptionPage,
    SubscriptionRead,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)
from app.services import deliveries as deliveries_service
from app.services import subscriptions as subscriptions_service

router = PrefixRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
events_router = PrefixRouter(prefix="/v1/events", tags=["subscriptions"])


def _shown_once(found: subscriptions_service.WithSecret) -> SubscriptionWithSecret:
    read = SubscriptionRead.model_validate(found.subscription)
    return SubscriptionWithSecret(**read.model_dump(), secret=found.secret)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionWithSecret,
    responses={**problem_responses(401, 403, 409, 422), **sends_headers(201, "Location")},
)
async def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    response: Response,
) -> SubscriptionWithSecret:
    """Save a query for your organization (scope subscriptions:write); its signing secret is
    in this answer only."""
    created = await subscriptions_service.create_subscription(
        session,
        principal=principal,
        data=subscriptions_service.SubscriptionInput(
            name=body.name,
            catalog=body.catalog.value,
            q=body.q,
            filters=body.filters,
            url=body.url,
        ),
        production=settings.env is Environment.production,
    )
    response.headers["Location"] = f"/v1/subscriptions/{created.subscription.id}"
    return _shown_once(created)


@router.get("", response_model=SubscriptionPage, responses=problem_responses(400, 401, 403, 422))
async def list_subscriptions(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Subscription]:
    """Your organization's subscriptions, newest first."""
    return await subscriptions_service.list_subscriptions(
        session, principal=principal, limit=limit, cursor=cursor
    )


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Subscription:
    """One subscription, with why it was disabled if it was."""
    return await subscriptions_service.get_subscription(
        session, principal=principal, subscription_id=subscription_id
    )


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Subscription:
    """Change the query or the target; enabled: true turns a disabled subscription on."""
    return await subscriptions_service.update_subscription(
        session,
        principal=principal,
        subscription_id=subscription_id,
        values=body.model_dump(exclude_unset=True),
        production=settings.env is Environment.production,
    )


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """No more events; those recorded stay in the feed and the delivery log."""
    await subscriptions_service.delete_subscription(
        session, principal=principal, subscription_id=subscription_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    responses=problem_responses(401, 403, 404, 422),
)
async def rotate_subscription_secret(
    subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> SubscriptionWithSecret:
    """A new signing secret, shown this once; the old one signs beside it for 24 hours."""
    rotated = await subscriptions_service.rotate_secret(
        session, principal=principal, subscription_id=subscription_id
    )
    return _shown_once(rotated)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryAttemptPage,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_subscription_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryAttempt]:
    """The delivery log: every attempt to send the subscription's events, newest first."""
    return await deliveries_service.list_deliveries(
        session, principal=principal, subscription_id=subscription_id, limit=limit, cursor=cursor
    )


@router.post(
    "/{subscription_id}/events/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def redeliver_event(
    subscription_id: uuid.UUID,
    event_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Event:
    """Send an event again now, delivered or failed alike (its webhook-id stays the same)."""
    return await deliveries_service.redeliver(
        session, principal=principal, subscription_id=subscription_id, event_id=event_id
    )


@events_router.get("", response_model=EventFeed, responses=problem_responses(400, 401, 403, 422))
async def list_events(
    session: SessionDep,
    principal: CurrentPrincipal,
    after: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The next_cursor of the previous read; none: from the start.",
        ),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> deliveries_service.Feed:
    """Your organization's events in the order they happened, for partners who poll instead
    of receiving webhooks (scope subscriptions:write)."""
    return await deliveries_service.list_events(
        session, principal=principal, after=after, limit=limit
    )
