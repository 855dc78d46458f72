"""Subscriptions: an organization's saved queries, and the events recorded when an item comes
to match one.

**Changes go into an outbox.** Publishing an item (opening a demand), or changing a published
one, writes an outbox entry in the transaction of the change (``catalog.record_change`` for one
item, the import's batch for many): a change rolled back leaves none, a committed one is told.
The delivery worker (app/services/deliveries.py) then matches each entry's item against the
saved queries (:func:`events_for`) and writes the events, one per subscription, that it
delivers and the events feed reads. A write costs one small row however many subscriptions
exist.

**Matching stays cheap as subscriptions grow.** Each process keeps every active saved query
compiled in memory (:class:`SavedQueries`), compiled again when the ``subscriptions``
generation changes (in the transaction that changes a subscription); queries asking the same
are tested once. An item is tested only against the saved queries that could match it: those
filed under one of its tokens (each query under its token the fewest queries share), under the
values it holds that a filter-only query requires (field, TRL, a tag: all at once), and the
few with neither. The text test is the index's (every term's tokens side by side in the title
or the body, a prefix term a token's start); the filters are ``filters.predicate``, the same
algebra the search index and SQL run.
"""

import itertools
import secrets
import uuid
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk, filters, search, webhooks
from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.search_index import Kind
from app.core.security import Principal, Scope
from app.models.catalog import CatalogGeneration, HistoryAction
from app.models.demands import DemandInvitation, DemandStatus
from app.models.subscriptions import (
    DeliveryState,
    Event,
    OutboxEntry,
    Subscription,
    SubscriptionStatus,
)
from app.services import catalog_registry
from app.services import demands as demands_service
from app.services.catalog import CatalogSpec

#: The generation raised whenever a subscription changes (catalog_generations).
GENERATION = "subscriptions"
#: How long the previous secret keeps signing after a rotation.
ROTATION_GRACE = timedelta(hours=24)
#: Active subscriptions an organization may hold.
MAX_PER_ORGANIZATION = 100

SUBSCRIBABLE: dict[str, CatalogSpec[Any]] = {
    **{str(name): spec for name, spec in catalog_registry.CATALOGS.items()},
    demands_service.SPEC.name: demands_service.SPEC,
}

# --- saved queries --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedQuery:
    """A subscription as matching needs it."""

    id: uuid.UUID
    id_text: str
    organization_id: uuid.UUID
    catalog: str
    terms: tuple[search.Term, ...]
    condition: filters.Filter
    delivers: bool
    """Whether it has a webhook target (else its events are for the feed only)."""
    tokens: frozenset[str] = frozenset()
    """Every token its text needs (prefix terms aside): a quick test before the phrases."""
    phrases: tuple[str, ...] = ()
    """Its terms of several tokens, spaced as :class:`ItemText` (" 锂电 电池 ")."""
    prefixes: tuple[str, ...] = ()
    test: filters.Predicate = field(default=lambda item: True, compare=False)
    """``condition`` compiled (filters.predicate)."""


def _value_of(spec: CatalogSpec[Any], name: str, raw: Any) -> Any:
    """One accepted value of filter ``name`` as the column holds it (ValueError: not one)."""
    column = spec.model.__table__.c[name]
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError("a string or an integer")
    if isinstance(python_type, type) and issubclass(python_type, Enum):
        return python_type(raw)
    if python_type is uuid.UUID:
        return uuid.UUID(str(raw))
    if python_type is int:
        if isinstance(raw, str) and not (raw.isascii() and raw.strip().lstrip("-").isdigit()):
            raise ValueError("an integer")
        return int(raw)
    return str(raw)


def filter_names(spec: CatalogSpec[Any]) -> list[str]:
    """What a saved query of ``spec`` may filter on: its facets but the status, and tags."""
    return [name for name in spec.facets if name != "status"] + ["tags"]


def compile_filters(spec: CatalogSpec[Any], given: Mapping[str, Sequence[Any]]) -> filters.Filter:
    """A saved query's typed filters as one :class:`filters.Filter`: each named facet one of
    its listed values, every tag listed; :class:`ValidationFailed` naming what is wrong."""
    allowed = filter_names(spec)
    errors: list[FieldError] = []
    parts: list[filters.Filter | None] = []
    for name, raw_values in given.items():
        where = ["body", "filters", name]
        if name not in allowed:
            message = f"not a filter of {spec.name}: one of {', '.join(allowed)}"
            errors.append(FieldError(loc=where, message=message, type="enum"))
            continue
        if name == "tags":
            parts.append(filters.has_all("tags", [str(value) for value in raw_values]))
            continue
        try:
            values = [_value_of(spec, name, raw) for raw in raw_values]
        except ValueError as error:
            message = f"not a value of {name}: {error}"
            errors.append(FieldError(loc=where, message=message, type="value_error"))
            continue
        if spec.index_layout.kinds.get(name) is Kind.list:
            parts.append(filters.any_of(*(filters.Has(name, str(value)) for value in values)))
        else:
            parts.append(filters.one_of(name, values))
    if errors:
        raise ValidationFailed("The subscription's filters are not valid.", errors=errors)
    return filters.all_of(*parts)


def compile_terms(q: str | None) -> tuple[search.Term, ...]:
    if q is None:
        return ()
    terms = search.parse_query(q)
    if not terms:
        raise ValidationFailed(
            "q has nothing to search for (only punctuation or spaces).",
            code="empty_query",
            errors=[
                FieldError(loc=["body", "q"], message="no searchable text", type="empty_query")
            ],
        )
    return tuple(terms)


def saved_query(subscription: Any) -> SavedQuery:
    spec = SUBSCRIBABLE[subscription.catalog]
    terms = compile_terms(subscription.q)
    condition = compile_filters(spec, subscription.filters or {})
    return SavedQuery(
        id=subscription.id,
        id_text=str(subscription.id),
        organization_id=subscription.organization_id,
        catalog=subscription.catalog,
        terms=terms,
        condition=condition,
        delivers=subscription.url is not None,
        tokens=frozenset(token for term in terms if not term.prefix for token in term.tokens),
        phrases=tuple(
            f" {' '.join(term.tokens)} "
            for term in terms
            if not term.prefix and len(term.tokens) > 1
        ),
        prefixes=tuple(term.tokens[0] for term in terms if term.prefix),
        test=filters.predicate(condition),
    )


@dataclass(frozen=True, slots=True)
class ItemText:
    """An item's search tokens as matching reads them: the set, and the title and body as
    text with a space around every token (so a phrase is a substring)."""

    tokens: frozenset[str]
    title: str
    body: str

    @classmethod
    def of(cls, item: Any) -> "ItemText":
        title, body = (item.search_title or "").split(), (item.search_body or "").split()
        return cls(
            tokens=frozenset((*title, *body)),
            title=f" {' '.join(title)} ",
            body=f" {' '.join(body)} ",
        )


def query_matches(query: SavedQuery, item: Any, text: ItemText) -> bool:
    """Whether ``item`` matches the saved query as the search index would find it: every
    term's tokens side by side in the title or the body (a prefix term: a token starting
    with it), and the filters."""
    return (
        query.tokens <= text.tokens
        and all(f" {p}" in text.title or f" {p}" in text.body for p in query.prefixes)
        and all(phrase in text.title or phrase in text.body for phrase in query.phrases)
        and query.test(item)
    )


def _key_token(query: SavedQuery, popularity: Mapping[str, int]) -> str | None:
    """The token a saved query is filed under: of the tokens its text needs, the one the
    fewest saved queries need (a popular topic's words are the ones items share most), the
    last of a longest term on a tie."""
    plain = [term for term in query.terms if not term.prefix]
    if not plain:
        return None
    ordered = [
        token for term in sorted(plain, key=lambda t: len(t.tokens)) for token in term.tokens
    ]
    return min(reversed(ordered), key=lambda token: popularity[token])


def _required_values(condition: filters.Filter) -> tuple[tuple[str, Any], ...]:
    """The (field, value) pairs every item the condition admits has, by field: the list
    elements it requires (tags) and its one-valued :class:`filters.OneOf` conjuncts."""
    parts = condition.parts if isinstance(condition, filters.AllOf) else (condition,)
    required = [
        (part.field, part.value) if isinstance(part, filters.Has) else (part.field, part.values[0])
        for part in parts
        if isinstance(part, filters.Has)
        or (isinstance(part, filters.OneOf) and len(part.values) == 1)
    ]
    return tuple(sorted(required, key=lambda pair: (pair[0], str(pair[1]))))


@dataclass(slots=True)
class _CatalogQueries:
    """One catalog's saved queries, filed so that an item meets only those it might match:
    under a token of their text; else under the values their filters require (every one of
    them: a query wanting 新能源, TRL 7 and the tag 钙钛矿 is looked up by the three at once);
    else always."""

    by_token: dict[str, list[SavedQuery]] = field(default_factory=dict)
    by_values: dict[tuple[str, ...], dict[tuple[Any, ...], list[SavedQuery]]] = field(
        default_factory=dict
    )
    """Field names → their required values → the queries."""
    always: list[SavedQuery] = field(default_factory=list)
    members: dict[int, list[SavedQuery]] = field(default_factory=dict)
    """A filed query (by id()) → every saved query asking the same."""

    @classmethod
    def of(cls, queries: Sequence[SavedQuery]) -> "_CatalogQueries":
        """The queries filed; those asking the same (many partners watch 锂电池) are filed and
        tested once, as one, which stands for all of them."""
        alike: dict[tuple[Any, ...], list[SavedQuery]] = {}
        for query in queries:
            alike.setdefault((query.terms, query.condition), []).append(query)
        popularity: Counter[str] = Counter()
        for same in alike.values():
            popularity.update(same[0].tokens)
        filed = cls()
        for same in alike.values():
            filed.members[id(same[0])] = same
            filed._add(same[0], popularity)
        return filed

    def _add(self, query: SavedQuery, popularity: Mapping[str, int]) -> None:
        token = _key_token(query, popularity)
        if token is not None:
            self.by_token.setdefault(token, []).append(query)
            return
        required = _required_values(query.condition)
        if required:
            names = tuple(name for name, _ in required)
            values = tuple(value for _, value in required)
            self.by_values.setdefault(names, {}).setdefault(values, []).append(query)
        else:
            self.always.append(query)

    def candidates(self, item: Any, tokens: frozenset[str]) -> list[SavedQuery]:
        found: list[SavedQuery] = []
        for token in tokens:
            found.extend(self.by_token.get(token, ()))
        for names, filed in self.by_values.items():
            choices = []
            for name in names:
                value = getattr(item, name, None)
                choices.append(value if isinstance(value, list) else (value,))
            for values in itertools.product(*choices):
                found.extend(filed.get(values, ()))
        found.extend(self.always)
        return found

    def matching(self, item: Any) -> list[SavedQuery]:
        """The saved queries ``item`` (a row with its search columns) matches."""
        text = ItemText.of(item)
        matched: dict[int, SavedQuery] = {}
        for query in self.candidates(item, text.tokens):
            if id(query) not in matched and query_matches(query, item, text):
                matched[id(query)] = query
        return [member for key in matched for member in self.members[key]]


@dataclass(slots=True)
class SavedQueries:
    """Every active saved query, compiled, as of one ``subscriptions`` generation."""

    generation: int | None = None
    catalogs: dict[str, _CatalogQueries] = field(default_factory=dict)


#: Each database's saved queries in this process (keyed by its engine).
_SAVED: "weakref.WeakKeyDictionary[Any, SavedQueries]" = weakref.WeakKeyDictionary()


async def _generation(session: AsyncSession) -> int:
    found = await session.scalar(
        select(CatalogGeneration.generation).where(CatalogGeneration.catalog == GENERATION)
    )
    return int(found or 0)


async def _raise_generation(session: AsyncSession) -> None:
    """Mark the saved queries changed, inside the transaction that changes one, so that no
    change committed after it is matched against the saved queries of before. The mark is a
    random number, not a count: a database put back to an earlier state (a restore, a test's
    reset) cannot then meet a process's compiled queries under the same number."""
    stamp = secrets.randbits(62)
    changed = await session.execute(
        update(CatalogGeneration)
        .where(CatalogGeneration.catalog == GENERATION)
        .values(generation=stamp)
        .returning(CatalogGeneration.generation)
    )
    if changed.scalar_one_or_none() is None:
        session.add(CatalogGeneration(catalog=GENERATION, generation=stamp))
        await session.flush()


async def saved_queries(session: AsyncSession) -> SavedQueries:
    """The active saved queries as this transaction sees them (reloaded when the generation
    moved since this process last compiled them)."""
    engine = session.get_bind()
    current = await _generation(session)
    saved = _SAVED.get(engine)
    if saved is not None and saved.generation == current:
        return saved
    saved = SavedQueries(generation=current)
    rows = await session.execute(
        select(
            Subscription.id,
            Subscription.organization_id,
            Subscription.catalog,
            Subscription.q,
            Subscription.filters,
            Subscription.url,
        ).where(Subscription.status == SubscriptionStatus.active)
    )
    by_catalog: dict[str, list[SavedQuery]] = {}
    for row in rows.all():
        try:
            query = saved_query(row)
        except (ValidationFailed, KeyError):
            continue  # saved under rules since tightened: it matches nothing
        by_catalog.setdefault(query.catalog, []).append(query)
    saved.catalogs = {name: _CatalogQueries.of(queries) for name, queries in by_catalog.items()}
    _SAVED[engine] = saved
    return saved


# --- events ---------------------------------------------------------------------------------

#: Each catalog's name in event types: ``technology.published``.
EVENT_NOUNS = {
    "technologies": "technology",
    "talents": "talent",
    "policies": "policy",
    "ip_assets": "ip_asset",
    "financial_products": "financial_product",
    "demands": "demand",
}
#: What a change is called in an event type (a demand is opened, not published).
PUBLISHED, UPDATED = "published", "updated"


def event_type(spec: CatalogSpec[Any], change: str) -> str:
    if spec.name == demands_service.SPEC.name and change == PUBLISHED:
        change = "opened"
    return f"{EVENT_NOUNS[spec.name]}.{change}"


def _is_live(spec: CatalogSpec[Any], item: Any, now: datetime) -> bool:
    """Whether ``item`` is shown to subscribers: public, and for a demand open."""
    if not spec.workflow.is_public(item):
        return False
    if spec.name == demands_service.SPEC.name:
        return item.status is DemandStatus.open and item.deadline > now
    return True


def _summary(spec: CatalogSpec[Any], item: Any) -> dict[str, Any]:
    title = " ".join(str(getattr(item, name) or "") for name in spec.title_fields).strip()
    return {
        "id": str(item.id),
        "title": title,
        "owner_id": str(item.owner_id),
        "url": f"/v1/{spec.name}/{item.id}",
    }


@dataclass(frozen=True, slots=True)
class Change:
    """An outbox entry as matching reads it."""

    catalog: str
    item_id: uuid.UUID
    change: str
    at: datetime


async def events_for(session: AsyncSession, changes: Sequence[Change]) -> list[dict[str, Any]]:
    """The event of every change for every active subscription its item now matches, as
    rows of ``events`` (without ``tx``): the items read afresh in this transaction (a change
    since, or a withdrawal, is what counts), tested against the saved queries of now."""
    saved = await saved_queries(session)
    now = utcnow()
    events: list[dict[str, Any]] = []
    by_catalog: dict[str, list[Change]] = {}
    for change in changes:
        if change.catalog in saved.catalogs:
            by_catalog.setdefault(change.catalog, []).append(change)
    for name, among in by_catalog.items():
        spec, queries = SUBSCRIBABLE[name], saved.catalogs[name]
        items = await _items(session, spec, {change.item_id for change in among})
        invited = await _invited(session, [i for i in items.values() if _restricted(spec, i)])
        for change in among:
            item = items.get(change.item_id)
            if item is None or not _is_live(spec, item, now):
                continue
            shown_to = (
                invited.get(item.id, set()) | {item.owner_id} if _restricted(spec, item) else None
            )
            kind, summary = event_type(spec, change.change), _summary(spec, item)
            for query in queries.matching(item):
                if shown_to is not None and query.organization_id not in shown_to:
                    continue  # an invited-only demand: told to those invited only
                events.append(
                    {
                        "id": uuid.uuid4(),
                        "created_at": change.at,
                        "organization_id": query.organization_id,
                        "subscription_id": query.id,
                        "type": kind,
                        "data": {
                            "subscription_id": query.id_text,
                            "catalog": name,
                            "change": change.change,
                            "item": summary,
                        },
                        "state": DeliveryState.pending if query.delivers else DeliveryState.feed,
                        "attempts": 0,
                        "next_attempt_at": now if query.delivers else None,
                    }
                )
    return events


async def _items(
    session: AsyncSession, spec: CatalogSpec[Any], ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The items' rows with the columns the search index holds (their search text too)."""
    table = spec.model.__table__
    columns = [table.c[name] for name in spec.index_layout.columns]
    found: dict[uuid.UUID, Any] = {}
    chosen = list(ids)
    for start in range(0, len(chosen), 1000):
        rows = await session.execute(
            select(*columns).where(table.c.id.in_(chosen[start : start + 1000]))
        )
        found.update((row.id, row) for row in rows.all())
    return found


def _restricted(spec: CatalogSpec[Any], item: Any) -> bool:
    """An invited-only demand (a catalog row has no such column)."""
    return spec.name == demands_service.SPEC.name and bool(item.invited_only)


async def _invited(
    session: AsyncSession, demands: Sequence[Any]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    invited: dict[uuid.UUID, set[uuid.UUID]] = {}
    if demands:
        found = await session.execute(
            select(DemandInvitation.demand_id, DemandInvitation.organization_id).where(
                DemandInvitation.demand_id.in_([demand.id for demand in demands])
            )
        )
        for demand_id, organization_id in found.all():
            invited.setdefault(demand_id, set()).add(organization_id)
    return invited


#: The history actions after which an item is told to subscribers, and as what.
_CHANGES = {HistoryAction.publish: PUBLISHED, HistoryAction.update: UPDATED}


async def item_changed(
    session: AsyncSession, spec: CatalogSpec[Any], item: Any, action: HistoryAction
) -> None:
    """``catalog.record_change``'s call: a published (or opened) item, or a change to one,
    goes into the outbox in the change's transaction."""
    change = _CHANGES.get(action)
    if change is not None and spec.name in SUBSCRIBABLE and _is_live(spec, item, utcnow()):
        session.add(OutboxEntry(catalog=spec.name, item_id=item.id, change=change))


async def items_imported(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    published: Sequence[uuid.UUID],
    updated: Sequence[uuid.UUID],
) -> None:
    """An import's call: the items it published and the published items it changed go into
    the outbox, in the import's transaction (one small row each)."""
    if spec.name not in SUBSCRIBABLE:
        return
    now = utcnow()
    rows = [
        {"created_at": now, "catalog": spec.name, "item_id": item_id, "change": change}
        for ids, change in ((published, PUBLISHED), (updated, UPDATED))
        for item_id in ids
    ]
    await bulk.insert_rows(session, OutboxEntry, rows)


# --- subscriptions --------------------------------------------------------------------------

NEWEST_FIRST = KeysetOrder("subscriptions:newest", (Subscription.created_at, Subscription.id))


@dataclass(slots=True)
class SubscriptionInput:
    name: str
    catalog: str
    q: str | None = None
    filters: dict[str, list[Any]] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True, slots=True)
class WithSecret:
    """A subscription with its new secret, shown this once."""

    subscription: Subscription
    secret: str


def _organization_of(principal: Principal) -> uuid.UUID:
    """The caller's organization, whose subscriptions it manages (scope
    subscriptions:write)."""
    principal.require_scope(Scope.subscriptions_write)
    if principal.organization_id is None:
        raise Forbidden(
            "Subscriptions belong to an organization; sign in as one of its members or use"
            " its API key.",
            code="organization_required",
        )
    return principal.organization_id


def _check_query(catalog: str, q: str | None, given: Mapping[str, list[Any]]) -> None:
    spec = SUBSCRIBABLE[catalog]
    compile_terms(q)
    compile_filters(spec, given)


async def _check_url(url: str | None, *, production: bool) -> None:
    if url is not None:
        await webhooks.check_resolved(url, production=production)


async def create_subscription(
    session: AsyncSession, *, principal: Principal, data: SubscriptionInput, production: bool
) -> WithSecret:
    """A saved query of the caller's organization, with its signing secret (shown once)."""
    organization_id = _organization_of(principal)
    _check_query(data.catalog, data.q, data.filters)
    await _check_url(data.url, production=production)
    active = await session.scalar(
        select(Subscription.id)
        .where(
            Subscription.organization_id == organization_id,
            Subscription.status != SubscriptionStatus.deleted,
        )
        .offset(MAX_PER_ORGANIZATION - 1)
        .limit(1)
    )
    if active is not None:
        raise Conflict(
            f"An organization may hold {MAX_PER_ORGANIZATION} subscriptions; delete one first.",
            code="too_many_subscriptions",
        )
    secret = webhooks.new_secret()
    subscription = Subscription(
        organization_id=organization_id,
        name=data.name,
        catalog=data.catalog,
        q=data.q,
        filters=data.filters,
        url=data.url,
        secret=secret,
        created_by=principal.label,
    )
    session.add(subscription)
    await session.flush()
    await _raise_generation(session)
    return WithSecret(subscription, secret)


async def get_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID, lock: bool = False
) -> Subscription:
    """The subscription, for its organization's members and keys (staff read any): 404 for
    anyone else, and for a deleted one."""
    principal.require_scope(Scope.subscriptions_write)
    stmt = select(Subscription).where(Subscription.id == subscription_id)
    if lock:
        stmt = locking(session, stmt)
    subscription = await session.scalar(stmt)
    if (
        subscription is None
        or subscription.status is SubscriptionStatus.deleted
        or not (principal.is_staff or subscription.organization_id == principal.organization_id)
    ):
        raise NotFound("No such subscription.")
    return subscription


async def list_subscriptions(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> Page[Subscription]:
    """The caller's organization's subscriptions, newest first."""
    organization_id = _organization_of(principal)
    stmt = select(Subscription).where(
        Subscription.organization_id == organization_id,
        Subscription.status != SubscriptionStatus.deleted,
    )
    return await paginate(session, stmt, order=NEWEST_FIRST, limit=limit, cursor=cursor)


def _own(principal: Principal, subscription: Subscription) -> None:
    if subscription.organization_id != principal.organization_id and not principal.is_staff:
        raise NotFound("No such subscription.")


async def update_subscription(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    values: Mapping[str, Any],
    production: bool,
) -> Subscription:
    """Change the fields sent. ``enabled: true`` turns a disabled subscription back on (its
    failure clock restarts); ``enabled: false`` pauses it."""
    subscription = await get_subscription(
        session, principal=principal, subscription_id=subscription_id, lock=True
    )
    _own(principal, subscription)
    merged_q = values.get("q", subscription.q)
    merged_filters = values.get("filters", subscription.filters)
    _check_query(subscription.catalog, merged_q, merged_filters or {})
    if "url" in values:
        await _check_url(values["url"], production=production)
    for name in ("name", "q", "filters", "url"):
        if name in values:
            setattr(subscription, name, values[name])
    if "url" in values and values["url"] is None:
        # no target any more: what was waiting to be sent stays in the feed only
        await session.execute(
            update(Event)
            .where(Event.subscription_id == subscription.id, Event.state == DeliveryState.pending)
            .values(state=DeliveryState.feed, next_attempt_at=None)
        )
    enabled = values.get("enabled")
    if enabled is True and subscription.status is SubscriptionStatus.disabled:
        subscription.status = SubscriptionStatus.active
        subscription.disabled_at = subscription.disabled_reason = None
        subscription.failing_since = None
    elif enabled is False and subscription.status is SubscriptionStatus.active:
        disable(subscription, utcnow(), f"paused by {principal.label}")
    await session.flush()
    await _raise_generation(session)
    return subscription


def disable(subscription: Subscription, now: datetime, reason: str) -> None:
    subscription.status = SubscriptionStatus.disabled
    subscription.disabled_at = now
    subscription.disabled_reason = reason[:500]


async def delete_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> None:
    """No more events; its events and delivery log are kept (the feed still shows them), its
    pending deliveries are dropped."""
    subscription = await get_subscription(
        session, principal=principal, subscription_id=subscription_id, lock=True
    )
    _own(principal, subscription)
    subscription.status = SubscriptionStatus.deleted
    await session.execute(
        update(Event)
        .where(Event.subscription_id == subscription.id, Event.state == DeliveryState.pending)
        .values(state=DeliveryState.failed, next_attempt_at=None)
    )
    await session.flush()
    await _raise_generation(session)


async def rotate_secret(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> WithSecret:
    """A new signing secret, shown once; the old one keeps signing beside it for
    ROTATION_GRACE, so receivers can switch without losing a delivery."""
    subscription = await get_subscription(
        session, principal=principal, subscription_id=subscription_id, lock=True
    )
    _own(principal, subscription)
    now = utcnow()
    secret = webhooks.new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + ROTATION_GRACE
    subscription.secret = secret
    await session.flush()
    return WithSecret(subscription, secret)
