"""The one catalog mechanism behind the five catalogs: workflow, ownership, visibility,
search, facets, keyset pages, history and partner imports, parameterized by a CatalogSpec.

The catalogs differ in their fields and filters only; each has a small module
(``services/technologies.py`` …) holding its spec, its field checks and its typed list
function, which builds filter conditions and calls :func:`search_items`.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    Select,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from app.core import bulk, filters, highlight, search, search_index
from app.core.calendar import utcnow
from app.core.db import Database, after_commit, locking
from app.core.errors import (
    AppError,
    Conflict,
    FieldError,
    Forbidden,
    IllegalTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from app.core.filters import Filter
from app.core.pagination import (
    CursorSlot,
    KeysetOrder,
    Page,
    decode_cursor,
    encode_cursor,
    paginate,
)
from app.core.reads import RowReader
from app.core.security import Principal, Scope
from app.core.sql import select_sql, table_of
from app.models.catalog import (
    CatalogGeneration,
    CatalogHistory,
    CatalogItem,
    CatalogStatus,
    HistoryAction,
)
from app.models.orgs import Organization, OrganizationKind

M = TypeVar("M", bound=CatalogItem)

FACET_LIMIT = 50
IMPORT_MAX_ITEMS = 1000

#: Checks of whole items, some needing the database (referenced ids exist, ranges in order
#: after a partial update, …): given complete values of one or many items, the field errors
#: of each (locations like ["body", "price_min"]), empty lists for good ones.
ValuesCheck = Callable[
    [AsyncSession, Principal, Sequence[Mapping[str, Any]]], Awaitable[list[list[FieldError]]]
]


@dataclass(frozen=True)
class Workflow:
    """How a catalog's items move through their statuses and who sees them.

    The five catalogs share :data:`CATALOG_WORKFLOW` (draft → published → withdrawn, their
    transitions in ``transition_item``); demands have their own (app/services/demands.py),
    where a status also follows from the clock (``derived``).
    """

    listed: tuple[str, ...]
    """The statuses a list shows when the caller asks for none."""
    editable: frozenset[str]
    """The stored statuses in which an item's fields may change."""
    public: Filter
    """Items everyone may see."""
    is_public: Callable[[Any], bool]
    """The same test for one loaded item."""
    frozen_code: str
    """The error code of a change to an item that is no longer editable."""
    derived: Mapping[str, tuple[str, Callable[[datetime], Filter]]] = field(default_factory=dict)
    """Statuses read, never stored: name → (the stored status it is read from, when at a
    moment). Demands: an open demand whose deadline has passed reads as closed."""

    def status_filter(self, statuses: Sequence[str], now: datetime) -> Filter:
        """Items whose status, as read at ``now``, is one of ``statuses``."""
        parts: list[Filter] = []
        for status in statuses:
            if status in self.derived:
                source, when = self.derived[status]
                parts.append(filters.all_of(filters.OneOf("status", (source,)), when(now)))
                continue
            unless = [when(now) for source, when in self.derived.values() if source == status]
            parts.append(
                filters.all_of(
                    filters.OneOf("status", (status,)), *(filters.Not(u) for u in unless)
                )
            )
        return filters.any_of(*parts) if parts else filters.OneOf("status", ())


CATALOG_WORKFLOW = Workflow(
    listed=(CatalogStatus.published,),
    editable=frozenset({CatalogStatus.draft, CatalogStatus.published}),
    public=filters.OneOf("status", (CatalogStatus.published,)),
    is_public=lambda item: item.status is CatalogStatus.published,
    frozen_code="item_withdrawn",
)


@dataclass(frozen=True)
class UniqueKey:
    """Fields no two of one owner's items may share: a unique constraint of the catalog's
    table (with ``owner_id``), and the problem code a write that would break it gets."""

    fields: tuple[str, ...]
    code: str
    constraint: str
    """The constraint's name, as the database names it in an IntegrityError."""

    def values_of(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """This key's values in ``values``; None when one is null (nulls never collide)."""
        found = tuple(values.get(name) for name in self.fields)
        return None if any(v is None for v in found) else found

    def describe(self, found: Sequence[Any]) -> str:
        return " and ".join(
            f"{name} {_text_of(value)}" for name, value in zip(self.fields, found, strict=True)
        )


#: The code of every catalog's external_id key; a spec names the codes of its other keys.
EXTERNAL_ID_TAKEN: dict[tuple[str, ...], str] = {("external_id",): "external_id_taken"}


def unique_keys(model: type[Any], codes: Mapping[tuple[str, ...], str]) -> tuple[UniqueKey, ...]:
    """Every unique constraint of ``model``'s table as a UniqueKey; a constraint without a
    code in ``codes`` stops the app at import, so none can be left to answer 500."""
    keys = []
    for constraint in table_of(model).constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        names = [column.name for column in constraint.columns]
        fields = tuple(name for name in names if name != "owner_id")
        if "owner_id" not in names or fields not in codes:
            raise TypeError(f"{constraint.name}: declare its problem code in the CatalogSpec")
        keys.append(UniqueKey(fields, codes[fields], str(constraint.name)))
    return tuple(keys)


#: Search text: written for the index, never read back.
_UNREAD_COLUMNS = frozenset({"search_title", "search_body"})


@dataclass(frozen=True)
class CatalogSpec(Generic[M]):
    name: str
    """Plural, as in URLs and history: ``technologies``."""
    noun: str
    """Singular, for messages: ``technology``."""
    model: type[M]
    fields: tuple[str, ...]
    """The item's own content fields (compared by imports, recorded in history)."""
    title_fields: tuple[str, ...]
    body_fields: tuple[str, ...]
    facets: tuple[str, ...]
    """Columns whose value counts can be asked for."""
    sorts: Mapping[str, KeysetOrder] = field(default_factory=dict)
    """Orders besides relevance, newest and oldest."""
    staff_only: bool = False
    """Only admins and operators write (operators curate policies)."""
    owner_kinds: frozenset[OrganizationKind] | None = None
    private_fields: frozenset[str] = frozenset()
    """Hidden from anonymous callers (talents' contact details)."""
    list_omits: tuple[str, ...] = ()
    """Long fields lists and search hits leave out (a policy's full text)."""
    check: ValuesCheck | None = None
    workflow: Workflow = CATALOG_WORKFLOW
    write_scope: Scope = Scope.catalog_write
    visibility: Callable[[Principal | None], Filter] | None = None
    """Who sees which items, when it is more than "public ones, and your own" (demands:
    invitations, moderation, auditors)."""
    snippet_fields: tuple[str, ...] | None = None
    """The fields a hit's highlight is cut from, in order (default: the body fields)."""
    index_extras: tuple[str, ...] = ()
    """Values of related rows the search index holds with each item (filters' ``Related``)."""
    index_extras_loader: search_index.ExtrasLoader | None = None
    taken_codes: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    """The problem code of each unique key besides external_id (ip_assets: kind and number)."""
    rows_suffice: bool = True
    """Whether a row's columns are all its read model needs, so that search pages are read on
    the fast read path; False when the model computes something (a demand's status past its
    deadline), and so is read through the ORM."""
    index_layout: search_index.IndexLayout = field(init=False, repr=False, compare=False)
    reader: RowReader = field(init=False, repr=False, compare=False)
    """One item's fields by id, on the fast read path (:func:`get_item`)."""
    list_reader: RowReader = field(init=False, repr=False, compare=False)
    """The fields lists show (without ``list_omits``), on the fast read path."""
    unique_keys: tuple[UniqueKey, ...] = field(init=False, repr=False, compare=False)
    """The table's unique constraints: checked before every write (create, update, import)."""

    def __post_init__(self) -> None:
        keys = unique_keys(self.model, {**EXTERNAL_ID_TAKEN, **self.taken_codes})
        object.__setattr__(self, "unique_keys", keys)
        columns = [c.name for c in table_of(self.model).columns if c.name not in _UNREAD_COLUMNS]
        object.__setattr__(self, "reader", RowReader(self.model, columns))
        listed = [name for name in columns if name not in self.list_omits]
        object.__setattr__(self, "list_reader", RowReader(self.model, listed))
        layout = search_index.IndexLayout(table_of(self.model), extras=self.index_extras)
        object.__setattr__(self, "index_layout", layout)
        if self.snippet_fields is None:
            object.__setattr__(self, "snippet_fields", self.body_fields)

    def newest(self) -> KeysetOrder:
        return KeysetOrder(f"{self.name}:newest", (self.model.created_at, self.model.id))

    def oldest(self) -> KeysetOrder:
        return KeysetOrder(
            f"{self.name}:oldest", (self.model.created_at, self.model.id), descending=False
        )


class Redacted:
    """An item seen through a mask: the private fields read as None."""

    __slots__ = ("_hidden", "_item")

    def __init__(self, item: CatalogItem, hidden: frozenset[str]) -> None:
        self._item = item
        self._hidden = hidden

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            return None
        return getattr(self._item, name)


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: Any
    count: int


@dataclass(slots=True)
class CatalogQuery:
    """A list request after parsing: text, typed filter conditions, order, facets, page."""

    q: str | None = None
    filter: Filter | None = None
    """The catalog's own typed filters (app/core/filters.py)."""
    statuses: Sequence[str] | None = None
    owner_ids: list[uuid.UUID] | None = None
    tags: list[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: str | None = None
    facets: list[str] = field(default_factory=list)
    limit: int = 20
    cursor: str | None = None
    highlight: bool = False
    index: "CatalogIndexes | None" = None
    """This process's search index (the router's dependency gives it)."""


@dataclass(slots=True)
class CatalogPage(Generic[M]):
    items: list[Any]
    next_cursor: str | None
    facets: dict[str, list[FacetCount]] | None = None
    facets_exact: bool | None = None
    total: int | None = None
    total_exact: bool = True
    highlights: dict[str, str] | None = None


# --- values, search text, history ----------------------------------------------------------


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(_text_of(v) for v in value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def search_columns(spec: CatalogSpec[Any], values: Mapping[str, Any]) -> dict[str, str]:
    """search_title and search_body of an item with these values (tags join the body)."""
    return {
        "search_title": search.index_text(*(_text_of(values.get(f)) for f in spec.title_fields)),
        "search_body": search.index_text(
            *(_text_of(values.get(f)) for f in spec.body_fields), _text_of(values.get("tags"))
        ),
    }


def imported_row(
    spec: CatalogSpec[Any],
    values: Mapping[str, Any],
    *,
    item_id: uuid.UUID,
    owner_id: uuid.UUID,
    status: CatalogStatus,
    at: datetime,
) -> dict[str, Any]:
    """The whole row of an item an import creates in ``status`` at ``at`` (version 1, no
    history yet), search columns included."""
    return {
        **values,
        "id": item_id,
        "owner_id": owner_id,
        "status": status,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "published_at": at if status is CatalogStatus.published else None,
        "withdrawn_at": at if status is CatalogStatus.withdrawn else None,
        **search_columns(spec, values),
    }


def jsonable(value: Any) -> Any:
    """A value as history stores it (JSON): dates as ISO text, ids as text, enums as values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _content_fields(spec: CatalogSpec[Any]) -> tuple[str, ...]:
    return (*spec.fields, "tags", "external_id")


def history_entry(
    spec: CatalogSpec[Any],
    item: CatalogItem,
    *,
    action: HistoryAction,
    principal: Principal | None,
    changes: Mapping[str, Any],
    source: str = "api",
) -> CatalogHistory:
    """A history row of a change to ``item`` at its current version (added by the caller)."""
    return CatalogHistory(
        catalog=spec.name,
        item_id=item.id,
        action=action,
        actor_kind=principal.kind.value if principal else "system",
        actor_id=principal.id if principal else None,
        source=source,
        version=item.version,
        changes=dict(changes),
    )


# --- access -------------------------------------------------------------------------------


def _check_writer(spec: CatalogSpec[Any], principal: Principal, owner_id: uuid.UUID) -> None:
    principal.require_scope(spec.write_scope)
    if spec.staff_only and not principal.is_staff:
        raise Forbidden(f"Only operators curate {spec.name}.", code="staff_only")
    if not principal.acts_for(owner_id):
        raise Forbidden(
            f"You may change the {spec.name} of your own organization only.", code="not_owner"
        )


def _may_see_unpublished(principal: Principal | None, item: CatalogItem) -> bool:
    return principal is not None and principal.acts_for(item.owner_id)


def _visible_filter(spec: CatalogSpec[Any], principal: Principal | None) -> Filter:
    if spec.visibility is not None:
        return spec.visibility(principal)
    if principal is not None and principal.is_staff:
        return filters.Everything()
    published = spec.workflow.public
    if principal is not None and principal.organization_id is not None:
        return filters.any_of(published, filters.OneOf("owner_id", (principal.organization_id,)))
    return published


def present(spec: CatalogSpec[M], item: M, principal: Principal | None) -> M | Redacted:
    """The item as this caller may see it."""
    if principal is None and spec.private_fields:
        return Redacted(item, spec.private_fields)
    return item


async def _load(session: AsyncSession, spec: CatalogSpec[M], item_id: uuid.UUID) -> M:
    item = await session.get(spec.model, item_id)
    if item is None:
        raise NotFound(f"No {spec.noun} {item_id}.")
    return item


async def get_item(
    db: Database,
    spec: CatalogSpec[Any],
    *,
    principal: Principal | None,
    item_id: uuid.UUID,
) -> dict[str, Any]:
    """One item's fields; unpublished ones exist only for their owners and staff.

    The busiest read of the platform, so it reads one row on the fast read path (the spec's
    RowReader): outside the request's unit of work (it writes nothing), without the ORM.
    """
    row = await spec.reader.fetch(db.reads, item_id)
    if row is None:
        raise NotFound(f"No {spec.noun} {item_id}.")
    if row["status"] != CatalogStatus.published.value and not (
        principal is not None and principal.acts_for(row["owner_id"])
    ):
        raise NotFound(f"No {spec.noun} {item_id}.")
    if principal is None and spec.private_fields:
        row.update(dict.fromkeys(spec.private_fields))
    return row


async def _load_for_write(
    session: AsyncSession, spec: CatalogSpec[M], principal: Principal, item_id: uuid.UUID
) -> M:
    item = await _load(session, spec, item_id)
    if not spec.workflow.is_public(item) and not _may_see_unpublished(principal, item):
        raise NotFound(f"No {spec.noun} {item_id}.")
    _check_writer(spec, principal, item.owner_id)
    return item


def etag_of(
    item: CatalogItem | Redacted | Mapping[str, Any], *, public: bool = False, variant: str = ""
) -> str:
    """A strong ETag naming the item's version, then letters for what else makes its body
    differ: ``variant`` (a demand read as closed) and ``p``, the redacted variant. If-Match
    compares the version only."""
    version = item["version"] if isinstance(item, Mapping) else item.version
    return f'"{version}{variant}{"p" if public else ""}"'


def check_precondition(spec: CatalogSpec[Any], item: CatalogItem, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    current = str(item.version)
    for candidate in if_match.split(","):
        tag = candidate.strip()
        if tag.startswith("W/"):
            continue  # If-Match uses strong comparison
        if tag.strip('"').rstrip("abcdefghijklmnopqrstuvwxyz") == current:
            return
    raise PreconditionFailed(
        f"The {spec.noun} has changed (it is at version {current}); fetch it again.",
        code="stale_etag",
    )


async def _check_owner(session: AsyncSession, spec: CatalogSpec[Any], owner_id: uuid.UUID) -> None:
    owner = await session.get(Organization, owner_id)
    if owner is None:
        raise ValidationFailed(
            f"Organization {owner_id} does not exist.", code="unknown_organization"
        )
    if spec.owner_kinds is not None and owner.kind not in spec.owner_kinds:
        kinds = ", ".join(sorted(k.value for k in spec.owner_kinds))
        raise ValidationFailed(
            f"{spec.name} belong to organizations of kind {kinds}.", code="wrong_owner_kind"
        )


async def _run_check(
    session: AsyncSession, spec: CatalogSpec[Any], principal: Principal, values: Mapping[str, Any]
) -> None:
    if spec.check is None:
        return
    [errors] = await spec.check(session, principal, [values])
    if errors:
        raise ValidationFailed(
            f"The {spec.noun} is not valid: {errors[0].message}.",
            code="invalid_item",
            errors=errors,
        )


def _taken(spec: CatalogSpec[Any], key: UniqueKey, found: Sequence[Any]) -> Conflict:
    return Conflict(
        f"This organization already has a {spec.noun} with {key.describe(found)}.",
        code=key.code,
    )


async def _holders(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    key: UniqueKey,
    owner_id: uuid.UUID,
    wanted: Iterable[tuple[Any, ...]],
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The owner's items holding any of the ``wanted`` values of ``key``: values → the item's
    id and external_id."""
    wanted = set(wanted)
    if not wanted:
        return {}
    table = spec.model.__table__
    columns = [table.c[name] for name in key.fields]
    stmt = select(table.c.id, table.c.external_id, *columns).where(
        table.c.owner_id == owner_id,
        *(column.in_({w[i] for w in wanted}) for i, column in enumerate(columns)),
    )
    held: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item_id, external_id, *found in (await session.execute(stmt)).all():
        if tuple(found) in wanted:
            held[tuple(found)] = {"id": item_id, "external_id": external_id}
    return held


async def check_unique(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    *,
    owner_id: uuid.UUID,
    values: Mapping[str, Any],
    changed: Iterable[str] | None = None,
    item_id: uuid.UUID | None = None,
) -> None:
    """Raise the key's Conflict when another of the owner's items already holds ``values``
    of a unique key (only the keys touching ``changed`` fields, when given)."""
    touched = None if changed is None else set(changed)
    for key in spec.unique_keys:
        if touched is not None and not touched & set(key.fields):
            continue
        found = key.values_of(values)
        if found is None:
            continue
        holder = (await _holders(session, spec, key, owner_id, [found])).get(found)
        if holder is not None and holder["id"] != item_id:
            raise _taken(spec, key, found)


def _broken_key(spec: CatalogSpec[Any], exc: IntegrityError) -> UniqueKey | None:
    """The unique key an IntegrityError reports broken, if it is one of the spec's
    (PostgreSQL names the constraint; SQLite lists its columns)."""
    message = str(exc.orig)
    table = table_of(spec.model).name
    for key in spec.unique_keys:
        columns = ", ".join(f"{table}.{name}" for name in ("owner_id", *key.fields))
        if key.constraint in message or message.endswith(columns):
            return key
    return None


def _taken_meanwhile(
    spec: CatalogSpec[Any], exc: IntegrityError, values: Mapping[str, Any]
) -> Conflict:
    """A unique key broken although check_unique found it free: a concurrent write won."""
    key = _broken_key(spec, exc)
    if key is None:
        return Conflict(
            f"The {spec.noun} conflicts with another item of this organization.", code="conflict"
        )
    found = key.values_of(values) or ()
    return Conflict(
        f"Another request gave a {spec.noun} of this organization {key.describe(found)} at"
        " the same time; fetch it and retry.",
        code=key.code,
    )


# --- generations: what cached list answers are checked against ----------------------------

_CHANGED_CATALOGS = "innoshare.changed_catalogs"
_GENERATIONS_SQL = select_sql(table_of(CatalogGeneration), ("catalog", "generation"))


def note_changed(session: AsyncSession, names: Iterable[str]) -> None:
    """Raise these catalogs' generations once the session's transaction has committed.

    After the commit, not inside the transaction: a counter row updated in it would be
    locked until the end, and every writer of the catalog (two universities' imports) would
    queue behind the other. A reader between the commit and the raise may still be served
    the answer of just before the change (app/core/response_cache.py explains why no answer
    older than that can be).
    """
    session.info.setdefault(_CHANGED_CATALOGS, set()).update(names)
    after_commit(session, _raise_generations)


async def _raise_generations(session: AsyncSession) -> None:
    names = sorted(session.info.pop(_CHANGED_CATALOGS, ()))
    if names:
        await session.execute(
            update(CatalogGeneration)
            .where(CatalogGeneration.catalog.in_(names))
            .values(generation=CatalogGeneration.generation + 1)
            .execution_options(synchronize_session=False)
        )


async def read_generations(db: Database) -> dict[str, int]:
    """Every catalog's generation, on the fast read path (read on every cached list)."""
    return {
        str(name): int(generation)
        for name, generation in await db.reads.fetch_rows(_GENERATIONS_SQL)
    }


# --- create, update, publish, withdraw -----------------------------------------------------


async def create_item(
    session: AsyncSession,
    spec: CatalogSpec[M],
    *,
    principal: Principal,
    values: Mapping[str, Any],
    owner_id: uuid.UUID | None = None,
) -> M:
    """A new draft owned by ``owner_id`` (staff) or the caller's organization."""
    owner = owner_id or principal.organization_id
    if owner is None:
        raise ValidationFailed(
            f"owner_id is required: say which organization the {spec.noun} belongs to.",
            code="owner_required",
        )
    _check_writer(spec, principal, owner)
    await _check_owner(session, spec, owner)
    await _run_check(session, spec, principal, values)
    await check_unique(session, spec, owner_id=owner, values=values)
    item = spec.model(
        **values, owner_id=owner, status=CatalogStatus.draft, **search_columns(spec, values)
    )
    session.add(item)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _taken_meanwhile(spec, exc, values) from exc
    changes = {f: [None, jsonable(values.get(f))] for f in _content_fields(spec) if f in values}
    session.add(
        history_entry(spec, item, action=HistoryAction.create, principal=principal, changes=changes)
    )
    note_changed(session, [spec.name])
    return item


async def update_item(
    session: AsyncSession,
    spec: CatalogSpec[M],
    *,
    principal: Principal,
    item_id: uuid.UUID,
    values: Mapping[str, Any],
    if_match: str | None = None,
) -> M:
    """Change the fields sent; nothing changes (no version, no history) when they are equal."""
    item = await _load_for_write(session, spec, principal, item_id)
    check_precondition(spec, item, if_match)
    if item.status not in spec.workflow.editable:
        raise Conflict(
            f"A {item.status.value} {spec.noun} cannot change.", code=spec.workflow.frozen_code
        )
    changes = {
        name: [jsonable(getattr(item, name)), jsonable(value)]
        for name, value in values.items()
        if jsonable(getattr(item, name)) != jsonable(value)
    }
    if not changes:
        return item
    merged = {name: getattr(item, name) for name in _content_fields(spec)} | dict(values)
    await _run_check(session, spec, principal, merged)
    await check_unique(
        session, spec, owner_id=item.owner_id, values=merged, changed=changes, item_id=item.id
    )
    for name, value in values.items():
        setattr(item, name, value)
    searchable = {*spec.title_fields, *spec.body_fields, "tags"}
    if searchable & changes.keys():
        current = {name: getattr(item, name) for name in (*spec.fields, "tags")}
        for name, value in search_columns(spec, current).items():
            setattr(item, name, value)
    await record_change(
        session, spec, item, principal=principal, action=HistoryAction.update, changes=changes
    )
    return item


async def record_change(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    item: CatalogItem,
    *,
    principal: Principal | None,
    action: HistoryAction,
    changes: Mapping[str, Any],
) -> None:
    """Write a change made to ``item`` (its version checked), with its history entry, and
    mark the catalog changed: the end of every update and change of status."""
    # Imported here: subscriptions build on the catalogs' specs (app/services/catalog_registry)
    from app.services import subscriptions as subscriptions_service

    await _flush_change(session, spec, item)
    session.add(history_entry(spec, item, action=action, principal=principal, changes=changes))
    note_changed(session, [spec.name])
    await subscriptions_service.item_changed(session, spec, item, action)


async def _flush_change(session: AsyncSession, spec: CatalogSpec[Any], item: CatalogItem) -> None:
    # Read before the flush: a failed flush expires the item, and it can no longer load.
    keys = {name: getattr(item, name) for key in spec.unique_keys for name in key.fields}
    try:
        await session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"The {spec.noun} was changed by someone else meanwhile; fetch it and retry.",
            code="concurrent_update",
        ) from exc
    except IntegrityError as exc:
        raise _taken_meanwhile(spec, exc, keys) from exc


_TRANSITIONS: dict[HistoryAction, dict[CatalogStatus, CatalogStatus]] = {
    HistoryAction.publish: {CatalogStatus.draft: CatalogStatus.published},
    HistoryAction.withdraw: {
        CatalogStatus.draft: CatalogStatus.withdrawn,
        CatalogStatus.published: CatalogStatus.withdrawn,
    },
}


def _apply_status(item: CatalogItem, status: CatalogStatus, now: datetime) -> None:
    item.status = status
    if status is CatalogStatus.published:
        item.published_at = now
    elif status is CatalogStatus.withdrawn:
        item.withdrawn_at = now


async def transition_item(
    session: AsyncSession,
    spec: CatalogSpec[M],
    *,
    principal: Principal,
    item_id: uuid.UUID,
    action: HistoryAction,
    if_match: str | None = None,
) -> M:
    """Publish a draft, or withdraw a draft or a published item (withdrawn is final)."""
    item = await _load_for_write(session, spec, principal, item_id)
    check_precondition(spec, item, if_match)
    target = _TRANSITIONS[action].get(item.status)
    if target is None:
        raise IllegalTransition(f"A {item.status.value} {spec.noun} cannot be {action.value}ed.")
    before = item.status
    _apply_status(item, target, utcnow())
    changes = {"status": [before.value, target.value]}
    await record_change(session, spec, item, principal=principal, action=action, changes=changes)
    return item


async def list_history(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    *,
    principal: Principal,
    item_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[CatalogHistory]:
    """Changes to an item, oldest first; for its owners and staff."""
    item = await _load(session, spec, item_id)
    if not _may_see_unpublished(principal, item):
        if not spec.workflow.is_public(item):
            raise NotFound(f"No {spec.noun} {item_id}.")
        raise Forbidden(f"Only the owners of this {spec.noun} and staff see its history.")
    return await history_page(session, spec, item_id=item.id, limit=limit, cursor=cursor)


HISTORY_OLDEST = KeysetOrder(
    "history:oldest", (CatalogHistory.created_at, CatalogHistory.id), descending=False
)


async def history_page(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    *,
    item_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[CatalogHistory]:
    """One page of an item's history, oldest first, for a caller already allowed to read it."""
    order = HISTORY_OLDEST
    stmt = select(CatalogHistory).where(
        CatalogHistory.catalog == spec.name, CatalogHistory.item_id == item_id
    )
    return await paginate(session, stmt, order=order, limit=limit, cursor=cursor)


# --- lists, search, facets -----------------------------------------------------------------


class CatalogIndexes:
    """This process's search index of every indexed spec (app/core/search_index.py), kept in
    step with the database by the catalogs' generations.

    ``innoshare reindex`` raises the :data:`REBUILD` generation; every process that reads it
    raised builds its indexes afresh from the database before its next search.
    """

    def __init__(
        self,
        db: Database,
        specs: Iterable[CatalogSpec[Any]],
        tables: Iterable[tuple[str, search_index.IndexLayout]] = (),
    ) -> None:
        """``tables``: other tables indexed besides the specs', by their generation's name
        (service-provider organizations, for matchmaking)."""
        self.db = db
        self.tables = {
            spec.name: search_index.TableIndex(spec.index_layout, spec.index_extras_loader)
            for spec in specs
        }
        self.tables.update((name, search_index.TableIndex(layout)) for name, layout in tables)
        self._rebuilds: int | None = None

    def _sessions(self) -> Any:
        return self.db.unit_of_work(write=False)

    def _follow_rebuilds(self, generations: Mapping[str, int]) -> None:
        asked = generations.get(REBUILD, 0)
        if self._rebuilds is not None and asked != self._rebuilds:
            self.reset()
        self._rebuilds = asked

    async def snapshots(self, specs: Sequence[CatalogSpec[Any]]) -> list[search_index.Snapshot]:
        """Each spec's index, holding every change committed before this call."""
        return await self.named_snapshots([spec.name for spec in specs])

    async def named_snapshots(self, names: Sequence[str]) -> list[search_index.Snapshot]:
        """Each named table's index, holding every change committed before this call."""
        generations = await read_generations(self.db)
        self._follow_rebuilds(generations)
        return [
            await self.tables[name].refresh(self._sessions, generations.get(name)) for name in names
        ]

    async def build(self) -> dict[str, int]:
        """Every index afresh from its table (at start-up); rows indexed per catalog."""
        generations = await read_generations(self.db)
        self._follow_rebuilds(generations)
        return {
            name: await table.rebuild(self._sessions, generations.get(name))
            for name, table in self.tables.items()
        }

    def reset(self) -> None:
        """Forget every index: the next search builds each from its table."""
        for table in self.tables.values():
            table.reset()


#: The generation ``innoshare reindex`` raises to have every process rebuild its indexes.
REBUILD = "search_index"


async def request_rebuild(session: AsyncSession) -> int:
    """Ask every process to rebuild its search indexes from the database before its next
    search (``innoshare reindex``); the new rebuild generation."""
    raised = await session.execute(
        update(CatalogGeneration)
        .where(CatalogGeneration.catalog == REBUILD)
        .values(generation=CatalogGeneration.generation + 1)
        .returning(CatalogGeneration.generation)
    )
    generation = raised.scalar_one_or_none()
    if generation is None:
        session.add(CatalogGeneration(catalog=REBUILD, generation=1))
        generation = 1
    return int(generation)


def list_filter(
    spec: CatalogSpec[Any], principal: Principal | None, query: CatalogQuery, now: datetime
) -> Filter:
    """Everything a list asks for but the text: who may see what, statuses, typed filters."""
    owners = filters.one_of("owner_id", query.owner_ids)
    return filters.all_of(
        _visible_filter(spec, principal),
        spec.workflow.status_filter(query.statuses or spec.workflow.listed, now),
        query.filter,
        owners,
        filters.has_all("tags", query.tags),
        filters.at_least("created_at", query.created_from),
        filters.Range("created_at", high=query.created_to, high_exclusive=True)
        if query.created_to is not None
        else None,
    )


def _order_for(spec: CatalogSpec[Any], sort: str) -> KeysetOrder:
    if sort == "newest":
        return spec.newest()
    if sort == "oldest":
        return spec.oldest()
    if sort in spec.sorts:
        return spec.sorts[sort]
    choices = ", ".join(["relevance", "newest", "oldest", *spec.sorts])
    raise ValidationFailed(
        f"sort must be one of: {choices}.",
        errors=[FieldError(loc=["query", "sort"], message=f"one of {choices}", type="enum")],
    )


def _check_query(spec: CatalogSpec[Any], query: CatalogQuery) -> list[search.Term]:
    terms = search.parse_query(query.q) if query.q else []
    if query.q and not terms:
        raise ValidationFailed(
            "q has nothing to search for (only punctuation or spaces).",
            code="empty_query",
            errors=[
                FieldError(loc=["query", "q"], message="no searchable text", type="empty_query")
            ],
        )
    for name in query.facets:
        if name not in spec.facets:
            raise ValidationFailed(
                f"facets may name: {', '.join(spec.facets)}.",
                errors=[
                    FieldError(
                        loc=["query", "facets"], message=f"unknown facet {name}", type="enum"
                    )
                ],
            )
    if (query.sort or "") == "relevance" and not terms:
        raise ValidationFailed("sort=relevance needs q.", code="relevance_without_q")
    return terms


def _index_order(spec: CatalogSpec[Any], sort: str) -> search_index.SortKey:
    if sort == "relevance":
        return search_index.SortKey()
    order = _order_for(spec, sort)
    return search_index.SortKey(order.columns[0].key, descending=order.descending)


def _hits_offset(cursor: str | None, order_name: str) -> int:
    if cursor is None:
        return 0
    (offset,) = decode_cursor(cursor, order_name, _HITS_OFFSET)
    return int(offset)


#: A page of hits starts after the previous ones, within the window the index ranks.
_HITS_OFFSET = (CursorSlot.integer(1, search_index.MAX_WINDOW - 1),)


async def search_items(
    session: AsyncSession,
    spec: CatalogSpec[M],
    *,
    principal: Principal | None,
    query: CatalogQuery,
) -> CatalogPage[M]:
    """A page of items the caller may see: filtered, matched against ``q``, ordered, faceted,
    counted.

    With ``q`` the search index ranks the matches (BM25, title above body, the whole query as
    a phrase above its words scattered, a gentle recency boost) or orders them by a field, and
    pages by position (up to search_index.MAX_WINDOW); the page's rows are then read from the
    database by id, under the same filter, so nothing the caller may no longer see is shown.
    Without ``q`` the database pages through the filtered set with a keyset. Either way the
    index counts ``total`` and the facets over every match, exactly.
    """
    terms = _check_query(spec, query)
    if query.index is None:
        raise RuntimeError("search_items needs the search index (CatalogQuery.index)")
    now = utcnow()
    condition = list_filter(spec, principal, query, now)
    sort = query.sort or ("relevance" if terms else "newest")
    (snapshot,) = await query.index.snapshots([spec])
    facets = None
    if terms:
        order_name = f"{spec.name}:{sort}:hits"
        offset = _hits_offset(query.cursor, order_name)
        # tantivy releases the GIL: off the event loop, two searches use both cores
        answer = await asyncio.to_thread(
            snapshot.search,
            condition,
            terms,
            sort=_index_order(spec, sort),
            offset=offset,
            limit=query.limit,
            facets=query.facets,
        )
        matching, counts, hits = answer.query, answer.facets, answer.hits
        items = await read_back(
            session, query.index.db, spec, condition, hits.ids, whole=query.highlight
        )
        next_cursor = encode_cursor(order_name, [offset + query.limit]) if hits.more else None
        total = hits.total
    else:
        matching = snapshot.query(condition)
        order = _order_for(spec, sort)
        stmt = order.apply(
            _listing(spec).where(filters.to_sql(condition, spec.model)), query.cursor
        )
        rows = list((await session.scalars(stmt.limit(query.limit + 1))).all())
        next_cursor = order.cursor_for(rows[query.limit - 1]) if len(rows) > query.limit else None
        items = rows[: query.limit]
        total, counts = await asyncio.to_thread(_count_and_facets, snapshot, matching, query.facets)
    if query.facets:
        facets = _facet_counts(spec, snapshot, matching, counts, now)
    highlights = _highlights(spec, terms, items) if query.highlight and terms else None
    return CatalogPage(
        items=[present(spec, item, principal) for item in items],
        next_cursor=next_cursor,
        facets=facets,
        facets_exact=True if facets is not None else None,
        total=total,
        highlights=highlights,
    )


def _count_and_facets(
    snapshot: search_index.Snapshot, matching: Any, facets: Sequence[str]
) -> tuple[int, dict[str, dict[Any, int]]]:
    """The total and the facets of a list without ``q`` (one pass when facets are asked)."""
    if not facets:
        return snapshot.count(matching), {}
    counts = snapshot.facets(matching, facets)
    total = search_index.total_of(snapshot.layout, counts)
    return (snapshot.count(matching) if total is None else total), counts


def _facet_counts(
    spec: CatalogSpec[Any],
    snapshot: search_index.Snapshot,
    matching: Any,
    counts: dict[str, dict[Any, int]],
    now: datetime,
) -> dict[str, list[FacetCount]]:
    """The index's counts as the API shows them: statuses as read (a derived status moved
    out of the one it is read from), most frequent first, at most FACET_LIMIT values."""
    result = {}
    for name, by_value in counts.items():
        by_value = {jsonable(value): n for value, n in by_value.items()}
        if name == "status":
            for derived, (source, when) in spec.workflow.derived.items():
                moved = snapshot.count(
                    search_index.and_query(
                        matching,
                        snapshot.query(
                            filters.all_of(filters.OneOf("status", (source,)), when(now))
                        ),
                    )
                )
                if moved:
                    by_value[source] = by_value.get(source, 0) - moved
                    by_value[derived] = moved
                    if not by_value[source]:
                        del by_value[source]
        ordered = sorted(by_value.items(), key=lambda pair: (-pair[1], str(pair[0])))
        result[name] = [FacetCount(value=value, count=n) for value, n in ordered[:FACET_LIMIT]]
    return result


async def read_back(
    session: AsyncSession,
    db: Database,
    spec: CatalogSpec[M],
    condition: Filter,
    ids: Sequence[uuid.UUID],
    *,
    whole: bool = False,
) -> list[Any]:
    """The rows of ``ids``, in that order, that still pass ``condition`` in the database
    (``whole``: with the long fields lists leave out, to cut highlights from).

    Read by primary key, then tested in Python (``filters.matches``): the condition in the
    SQL would tempt SQLite's planner into walking a status index instead (14 ms for 20 rows of
    100,000 policies). A condition on another table (``Related``) is asked of the database.
    Rows come on the fast read path (what is committed, as the index saw it) as plain objects
    with the columns as attributes: through the ORM, 20 rows cost 3-4 ms of CPU, a search's
    largest part; a spec whose read model computes something is read as models."""
    if not ids:
        return []
    model = spec.model
    rows: list[Any]
    if spec.rows_suffice:
        reader = spec.reader if whole else spec.list_reader
        rows = [SimpleNamespace(**row) for row in await reader.fetch_many(db.reads, ids)]
    else:
        stmt = (select(model) if whole else _listing(spec)).where(model.id.in_(list(ids)))
        rows = list((await session.scalars(stmt)).all())
    try:
        passing = {row.id: row for row in rows if filters.matches(condition, row)}
    except filters.NeedsSQL:
        checked = select(model.id).where(model.id.in_(list(ids)), filters.to_sql(condition, model))
        allowed = set((await session.scalars(checked)).all())
        passing = {row.id: row for row in rows if row.id in allowed}
    return [passing[item_id] for item_id in ids if item_id in passing]


def _highlights(
    spec: CatalogSpec[Any], terms: Sequence[search.Term], items: Sequence[Any]
) -> dict[str, str]:
    """Each item's snippet of its body fields with the query's terms marked (the items whose
    body matched; a title-only match has none)."""
    found = {}
    for item in items:
        texts = [_text_of(_loaded(item, name)) for name in spec.snippet_fields or ()]
        snippet = highlight.snippet(terms, *texts)
        if snippet is not None:
            found[str(item.id)] = snippet
    return found


def _loaded(item: Any, name: str) -> Any:
    """A field of a listed item, None for the long ones lists leave unloaded (or unread)."""
    if isinstance(item, SimpleNamespace):
        return getattr(item, name, None)
    if name in instance_state(item).unloaded:
        return None
    return getattr(item, name)


def _listing(spec: CatalogSpec[M]) -> Select[M]:
    """Items as lists show them: without the long fields lists leave out."""
    stmt = select(spec.model)
    if spec.list_omits:
        omitted = [getattr(spec.model, name) for name in spec.list_omits]
        stmt = stmt.options(defer(*omitted, raiseload=True))
    return stmt


@dataclass(frozen=True, slots=True)
class SearchHit:
    type: str
    item: Any
    score: float
    highlight: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResultsView:
    items: list[SearchHit]


async def search_everywhere(
    session: AsyncSession,
    specs: Sequence[CatalogSpec[Any]],
    *,
    index: CatalogIndexes,
    principal: Principal | None,
    q: str,
    limit: int,
    highlight: bool = False,
) -> SearchResultsView:
    """The best published matches across catalogs: each catalog's first relevance page from
    the index, merged by score (then newest)."""
    terms = search.parse_query(q)
    if not terms:
        raise ValidationFailed("q has nothing to search for.", code="empty_query")
    now = utcnow()
    snapshots = await index.snapshots(specs)
    scored: list[tuple[float, datetime, SearchHit]] = []
    for spec, snapshot in zip(specs, snapshots, strict=True):
        condition = list_filter(spec, principal, CatalogQuery(q=q), now)
        answer = await asyncio.to_thread(
            snapshot.search, condition, terms, sort=search_index.SortKey(), offset=0, limit=limit
        )
        hits = answer.hits
        items = await read_back(session, index.db, spec, condition, hits.ids, whole=highlight)
        score_of = dict(zip(hits.ids, hits.scores, strict=True))
        snippets = _highlights(spec, terms, items) if highlight else {}
        for item in items:
            hit = SearchHit(
                type=spec.name,
                item=present(spec, item, principal),
                score=round(score_of[item.id], 4),
                highlight=snippets.get(str(item.id)),
            )
            scored.append((score_of[item.id], item.created_at, hit))
    scored.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return SearchResultsView(items=[hit for _, _, hit in scored[:limit]])


# --- partner imports -----------------------------------------------------------------------


@dataclass(slots=True)
class ImportResult:
    external_id: str | None
    result: str
    """created, updated, unchanged or error."""
    id: uuid.UUID | None = None
    errors: list[FieldError] = field(default_factory=list)


class ImportRejected(AppError):
    status = 422
    code = "import_rejected"
    title = "Unprocessable Content"

    def __init__(self, detail: str, results: list[ImportResult]) -> None:
        super().__init__(detail)
        self.results = results
        self.extra = {
            "results": [
                {
                    "external_id": r.external_id,
                    "id": str(r.id) if r.id else None,
                    "result": r.result,
                    "errors": [e.model_dump() for e in r.errors],
                }
                for r in results
            ]
        }


@dataclass(slots=True)
class ImportOutcome:
    results: list[ImportResult]


_IMPORT_STATUSES = {
    None: {CatalogStatus.draft, CatalogStatus.published, CatalogStatus.withdrawn},
    CatalogStatus.draft: {CatalogStatus.draft, CatalogStatus.published, CatalogStatus.withdrawn},
    CatalogStatus.published: {CatalogStatus.published, CatalogStatus.withdrawn},
    CatalogStatus.withdrawn: {CatalogStatus.withdrawn},
}


def _item_errors(exc: ValidationError, index: int) -> list[FieldError]:
    return [
        FieldError(
            loc=["body", "items", index, *[p if isinstance(p, int) else str(p) for p in e["loc"]]],
            message=e["msg"],
            type=e["type"],
        )
        for e in exc.errors()
    ]


async def import_items(
    session: AsyncSession,
    spec: CatalogSpec[M],
    *,
    principal: Principal,
    item_schema: type[BaseModel],
    raw_items: Sequence[Any],
    atomic: bool,
) -> ImportOutcome:
    """Create or update the caller's organization's items by ``external_id``.

    Identical items write nothing (no version, no history, no timestamp). ``atomic``: one
    bad item rejects the batch and nothing is written; otherwise good items are written and
    bad ones reported.
    """
    owner_id = principal.organization_id
    if owner_id is None:
        raise Forbidden(
            "Imported items belong to the caller's organization, and this caller has none.",
            code="no_organization",
        )
    _check_writer(spec, principal, owner_id)
    await _check_owner(session, spec, owner_id)
    if len(raw_items) > IMPORT_MAX_ITEMS:
        raise ValidationFailed(f"At most {IMPORT_MAX_ITEMS} items a batch.", code="batch_too_large")

    results: list[ImportResult] = []
    parsed: dict[int, dict[str, Any]] = {}
    first_holder: dict[tuple[UniqueKey, tuple[Any, ...]], int] = {}
    for index, raw in enumerate(raw_items):
        external_id = raw.get("external_id") if isinstance(raw, dict) else None
        result = ImportResult(
            external_id=external_id if isinstance(external_id, str) else None, result="error"
        )
        results.append(result)
        try:
            values = item_schema.model_validate(raw).model_dump()
        except ValidationError as exc:
            result.errors = _item_errors(exc, index)
            continue
        result.errors = _duplicates_in_batch(spec, first_holder, index, values)
        if not result.errors:
            parsed[index] = values

    existing: dict[str, dict[str, Any]] = {}
    if parsed:
        existing = await _existing_items(
            session, spec, owner_id, [v["external_id"] for v in parsed.values()]
        )

    wanted_statuses: dict[int, CatalogStatus | None] = {
        index: values.pop("status", None) for index, values in parsed.items()
    }
    if spec.check is not None and parsed:
        checked = await spec.check(session, principal, list(parsed.values()))
        for index, errors in zip(list(parsed), checked, strict=True):
            if errors:
                results[index].errors = _located(errors, index)
                del parsed[index]
    for index, errors in (await _taken_in_import(session, spec, owner_id, parsed)).items():
        results[index].errors = errors
        del parsed[index]

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for index, values in parsed.items():
        result = results[index]
        current = existing.get(values["external_id"])
        status = wanted_statuses[index] or (current["status"] if current else CatalogStatus.draft)
        if current is None:
            if status not in _IMPORT_STATUSES[None]:
                result.errors = _located_transition(index, None, status)
                continue
            row = imported_row(
                spec, values, item_id=uuid.uuid4(), owner_id=owner_id, status=status, at=now
            )
            inserts.append(row)
            result.result, result.id = "created", row["id"]
            continue
        result.id = current["id"]
        if status not in _IMPORT_STATUSES[current["status"]]:
            result.errors = _located_transition(index, current["status"], status)
            continue
        changes = _changed_values(current, values)
        if status is not current["status"]:
            changes["status"] = [current["status"].value, status.value]
        if not changes:
            result.result = "unchanged"
            continue
        result.result = "updated"
        updates.append((current, values | {"status": status}, changes))

    failed = [(i, r) for i, r in enumerate(results) if r.result == "error"]
    if failed and atomic:
        index, first = failed[0]
        named = f"item {index}" + (f" ({first.external_id})" if first.external_id else "")
        reason = f": {first.errors[0].message}" if first.errors else ""
        raise ImportRejected(
            f"{len(failed)} of {len(results)} items are not valid, the first {named}{reason};"
            " nothing was written.",
            results,
        )
    await _write_import(session, spec, principal, inserts, updates, now)
    return ImportOutcome(results=results)


def _duplicates_in_batch(
    spec: CatalogSpec[Any],
    first_holder: dict[tuple[UniqueKey, tuple[Any, ...]], int],
    index: int,
    values: Mapping[str, Any],
) -> list[FieldError]:
    """The errors of an item sharing a unique key's values with an earlier item of its batch
    (the earlier one is kept); otherwise none, and its values are noted."""
    found = {key: key.values_of(values) for key in spec.unique_keys}
    for key, value in found.items():
        earlier = first_holder.get((key, value)) if value is not None else None
        if earlier is not None:
            return [
                FieldError(
                    loc=["body", "items", index, key.fields[-1]],
                    message=f"has the same {' and '.join(key.fields)} as item {earlier} of this"
                    " batch",
                    type="duplicate_in_batch",
                )
            ]
    for key, value in found.items():
        if value is not None:
            first_holder[(key, value)] = index
    return []


async def _taken_in_import(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    owner_id: uuid.UUID,
    parsed: Mapping[int, Mapping[str, Any]],
) -> dict[int, list[FieldError]]:
    """Items whose values of a unique key another of the owner's items holds (as stored before
    the batch), by index, with their errors. The external_id key names the item itself, so
    only the other keys can collide."""
    taken: dict[int, list[FieldError]] = {}
    for key in spec.unique_keys:
        if key.fields == ("external_id",):
            continue
        wanted = {i: v for i, values in parsed.items() if (v := key.values_of(values))}
        holders = await _holders(session, spec, key, owner_id, wanted.values())
        for index, value in wanted.items():
            holder = holders.get(value)
            if holder is None or holder["external_id"] == parsed[index]["external_id"]:
                continue
            other = holder["external_id"] or holder["id"]
            taken.setdefault(index, []).append(
                FieldError(
                    loc=["body", "items", index, key.fields[-1]],
                    message=f"{spec.noun} {other} already has {key.describe(value)}",
                    type=key.code,
                )
            )
    return taken


async def _existing_items(
    session: AsyncSession, spec: CatalogSpec[Any], owner_id: uuid.UUID, external_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The owner's items with these external ids, by external id: plain dicts of the columns
    an import compares and writes (no ORM objects: 1,000 of them cost more than the query)."""
    table = spec.model.__table__
    names = ("id", "status", "version", *_content_fields(spec))
    stmt = locking(
        session,
        select(*(table.c[name] for name in names)).where(
            table.c.owner_id == owner_id, table.c.external_id.in_(external_ids)
        ),
    )
    key = names.index("external_id")
    rows = (await session.execute(stmt)).all()
    return {row[key]: dict(zip(names, row, strict=True)) for row in rows}


#: Types whose values are their own JSON form (what history stores, see jsonable()).
_JSON_SCALARS = frozenset({str, int, float, bool})


def _stored(value: Any) -> Any:
    """jsonable(value), without the call for the plain values most fields hold."""
    if value is None or value.__class__ in _JSON_SCALARS:
        return value
    return jsonable(value)


def _changed_values(current: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Field → [old, new] as history stores them, for the values that differ from current.

    Equal Python values are equal once stored (an enum equals its value, a list of equal
    items is equal), so only values that differ here are converted and compared again.
    """
    changes: dict[str, Any] = {}
    for name, value in values.items():
        old = current[name]
        if old == value:
            continue
        old_stored, new_stored = jsonable(old), jsonable(value)
        if old_stored != new_stored:
            changes[name] = [old_stored, new_stored]
    return changes


def _located(errors: list[FieldError], index: int) -> list[FieldError]:
    return [
        FieldError(loc=["body", "items", index, *e.loc[1:]], message=e.message, type=e.type)
        for e in errors
    ]


def _located_transition(
    index: int, before: CatalogStatus | None, after: CatalogStatus
) -> list[FieldError]:
    where = before.value if before else "new"
    return [
        FieldError(
            loc=["body", "items", index, "status"],
            message=f"a {where} item cannot become {after.value}",
            type="illegal_transition",
        )
    ]


def _import_raced(spec: CatalogSpec[Any], exc: IntegrityError) -> Conflict:
    """A unique key the batch was checked against, taken by a concurrent request meanwhile."""
    key = _broken_key(spec, exc)
    fields = " and ".join(key.fields) if key else "keys"
    return Conflict(
        f"Another request gave {spec.name} of this organization some of these items' {fields}"
        " at the same time; send the batch again (it will update the items it now finds or"
        " report the collisions item by item).",
        code="import_conflict",
    )


async def _write_import(
    session: AsyncSession,
    spec: CatalogSpec[Any],
    principal: Principal,
    inserts: list[dict[str, Any]],
    updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
    now: datetime,
) -> None:
    """The batch's new rows in a few statements, changed rows with one executemany per set
    of columns written, one history row for each, and an outbox entry for each item it
    published or changed while published (app/services/subscriptions.py)."""
    from app.services import subscriptions as subscriptions_service

    table = spec.model.__table__
    history: list[dict[str, Any]] = []
    actor = {"actor_kind": principal.kind.value, "actor_id": principal.id, "source": "import"}
    if inserts:
        try:
            await bulk.insert_rows(session, spec.model, inserts)
        except IntegrityError as exc:
            raise _import_raced(spec, exc) from exc
        recorded = [f for f in _content_fields(spec) if f in inserts[0]]
        for row in inserts:
            history.append(
                {
                    "catalog": spec.name,
                    "item_id": row["id"],
                    "action": HistoryAction.create,
                    "version": 1,
                    "changes": {f: [None, _stored(row[f])] for f in recorded},
                    **actor,
                }
            )
    searchable = {*spec.title_fields, *spec.body_fields, "tags"}
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for current, values, changes in updates:
        new_values = dict(values)
        status = new_values["status"]
        if status is not current["status"]:
            if status is CatalogStatus.published:
                new_values["published_at"] = now
            elif status is CatalogStatus.withdrawn:
                new_values["withdrawn_at"] = now
        if searchable & changes.keys():
            merged = {name: current[name] for name in (*spec.fields, "tags")} | values
            new_values.update(search_columns(spec, merged))
        version = current["version"] + 1
        new_values.update(version=version, updated_at=now)
        parameters = {f"new_{name}": value for name, value in new_values.items()}
        parameters.update(old_id=current["id"], old_version=current["version"])
        by_columns.setdefault(tuple(new_values), []).append(parameters)
        history.append(
            {
                "catalog": spec.name,
                "item_id": current["id"],
                "action": HistoryAction.update,
                "version": version,
                "changes": changes,
                **actor,
            }
        )
    for names, parameter_sets in by_columns.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("old_id"), table.c.version == bindparam("old_version"))
            .values({name: bindparam(f"new_{name}") for name in names})
        )
        try:
            await session.execute(stmt, parameter_sets)
        except IntegrityError as exc:
            raise _import_raced(spec, exc) from exc
    if history:
        for entry in history:
            entry.update(id=uuid.uuid4(), created_at=now, updated_at=now)
        await bulk.insert_rows(session, CatalogHistory, history)
        note_changed(session, [spec.name])
    published = [row["id"] for row in inserts if row["status"] is CatalogStatus.published]
    updated: list[uuid.UUID] = []
    for current, values, _ in updates:
        if values["status"] is CatalogStatus.published:
            was_published = current["status"] is CatalogStatus.published
            (updated if was_published else published).append(current["id"])
    await subscriptions_service.items_imported(session, spec, published, updated)
