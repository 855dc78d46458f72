"""Typed list filters, written once and run by two engines: SQL and the search index.

A catalog list's filters (``level=省级``, a price range, a tag, who may see what) are values
of the small algebra below, naming the model's columns by name. :func:`to_sql` turns one into
a SQLAlchemy condition on a model (keyset lists without ``q``); :func:`matches` tests one
loaded row (the rows of a search page, read back by id); ``app/core/search_index.py`` turns
the same value into an index query (search, facets and totals). One definition, so the
engines cannot disagree about what a filter means.

SQL's nulls are kept: a range never matches a null unless it says ``or_null`` (an open end,
as a price range's missing maximum), and :class:`OneOf` never matches a null.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from app.core.db_json import json_array_contains


class Filter:
    """A condition on an item's fields (see the subclasses)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Everything(Filter):
    """Every item."""


@dataclass(frozen=True, slots=True)
class OneOf(Filter):
    """The field's value is one of ``values`` (none: nothing matches)."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Range(Filter):
    """``low <= field <= high`` (either end open when None; ``exclusive`` ends compare
    strictly); ``or_null``: a null field matches too."""

    field: str
    low: Any = None
    high: Any = None
    low_exclusive: bool = False
    high_exclusive: bool = False
    or_null: bool = False


@dataclass(frozen=True, slots=True)
class Has(Filter):
    """The field, a JSON list, has ``value`` among its elements."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class AllOf(Filter):
    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf(Filter):
    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not(Filter):
    part: Filter


@dataclass(frozen=True, slots=True)
class Related(Filter):
    """A condition on rows of another table, which SQL asks as a subquery (``sql``) and the
    index as ``indexed``, a filter on values the index stores with each item (a demand's
    invited organizations)."""

    sql: Callable[[Any], ColumnElement[bool]]
    indexed: Filter


def all_of(*parts: Filter | None) -> Filter:
    """The conjunction of the parts given (None parts, and repeats of a part, are left out:
    "public" and "the statuses listed by default" are often the same condition)."""
    kept: list[Filter] = []
    for part in parts:
        if part is not None and not isinstance(part, Everything) and part not in kept:
            kept.append(part)
    if not kept:
        return Everything()
    return kept[0] if len(kept) == 1 else AllOf(tuple(kept))


def any_of(*parts: Filter) -> Filter:
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def one_of(field: str, values: Sequence[Any] | None) -> Filter | None:
    """``field`` among ``values``; None (no filter) when no values are given."""
    return OneOf(field, tuple(values)) if values else None


def at_least(field: str, value: Any) -> Filter | None:
    return Range(field, low=value) if value is not None else None


def at_most(field: str, value: Any) -> Filter | None:
    return Range(field, high=value) if value is not None else None


def overlapping(low_field: str, high_field: str, low: Any, high: Any) -> Filter | None:
    """Items whose [low_field, high_field] range meets [low, high]; a null end is open.
    None (no filter) when neither end is given."""
    if low is None and high is None:
        return None
    return all_of(
        Range(high_field, low=low, or_null=True) if low is not None else None,
        Range(low_field, high=high, or_null=True) if high is not None else None,
    )


def has_all(field: str, values: Sequence[str] | None) -> Filter | None:
    """The JSON list ``field`` holds every one of ``values``; None when none are given."""
    if not values:
        return None
    return all_of(*(Has(field, value) for value in values))


class NeedsSQL(Exception):
    """The filter has a :class:`Related` part, which only SQL (or the index) can answer."""


def matches(condition: Filter, item: Any) -> bool:
    """Whether a loaded ``item`` (its attributes named as the columns) passes ``condition``,
    as :func:`to_sql` would decide. Raises :class:`NeedsSQL` for a :class:`Related` part."""
    return predicate(condition)(item)


Predicate = Callable[[Any], bool]


def predicate(condition: Filter) -> Predicate:
    """``condition`` as a function of a loaded item (:func:`matches`), compiled once for a
    condition tested against many items (a saved query against every item published:
    app/services/subscriptions.py). Raises :class:`NeedsSQL` for a :class:`Related` part."""
    match condition:
        case Everything():
            return lambda item: True
        case OneOf(field, values):
            accepted = frozenset(values)
            return lambda item: (value := getattr(item, field)) is not None and value in accepted
        case Range(field, low, high, low_exclusive, high_exclusive, or_null):

            def within(item: Any) -> bool:
                value = getattr(item, field)
                if value is None:
                    return or_null
                if low is not None and (value <= low if low_exclusive else value < low):
                    return False
                return high is None or (value < high if high_exclusive else value <= high)

            return within
        case Has(field, value):
            return lambda item: value in (getattr(item, field) or ())
        case AllOf(parts):
            tests = tuple(predicate(part) for part in parts)
            return lambda item: all(test(item) for test in tests)
        case AnyOf(parts):
            tests = tuple(predicate(part) for part in parts)
            return lambda item: any(test(item) for test in tests)
        case Not(part):
            test = predicate(part)
            return lambda item: not test(item)
        case Related():
            raise NeedsSQL
    raise TypeError(f"not a filter: {condition!r}")


def to_sql(condition: Filter, model: Any) -> ColumnElement[bool]:
    """``condition`` as a SQL condition on ``model``'s columns."""
    match condition:
        case Everything():
            return true()
        case OneOf(field, values):
            return getattr(model, field).in_(list(values)) if values else false()
        case Range(field, low, high, low_exclusive, high_exclusive, or_null):
            column = getattr(model, field)
            bounds = []
            if low is not None:
                bounds.append(column > low if low_exclusive else column >= low)
            if high is not None:
                bounds.append(column < high if high_exclusive else column <= high)
            within = and_(*bounds) if bounds else column.is_not(None)
            return or_(column.is_(None), within) if or_null else within
        case Has(field, value):
            return json_array_contains(getattr(model, field), value)
        case AllOf(parts):
            return and_(*(to_sql(part, model) for part in parts))
        case AnyOf(parts):
            return or_(*(to_sql(part, model) for part in parts))
        case Not(part):
            inner = to_sql(part, model)
            if _may_be_null(part, model):
                # a part that is NULL for a row (OneOf on a null column) is false there, as in
                # Python and in the search index, where NOT NULL would leave the row out
                inner = func.coalesce(inner, false())
            return not_(inner)
        case Related(sql, _):
            return sql(model)
    raise TypeError(f"not a filter: {condition!r}")


def _may_be_null(condition: Filter, model: Any) -> bool:
    """Whether ``condition`` in SQL can be NULL (unknown) for a row: a test of a nullable
    column that does not itself handle null."""

    def nullable(field: str) -> bool:
        return bool(model.__table__.c[field].nullable)

    match condition:
        case OneOf(field, values):
            return bool(values) and nullable(field)
        case Range(field, low, high, _, _, or_null):
            return not or_null and (low is not None or high is not None) and nullable(field)
        case Has(field, _):
            return nullable(field)
        case AllOf(parts) | AnyOf(parts):
            return any(_may_be_null(part, model) for part in parts)
        case Not():
            return False  # to_sql makes it definite
    return False
