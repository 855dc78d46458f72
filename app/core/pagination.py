"""Keyset (cursor) pagination: opaque cursors over a stable, unique sort key."""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": value.hex}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "d" in value:
            return date.fromisoformat(value["d"])
        if "u" in value:
            return uuid.UUID(value["u"])
        raise ValueError("unknown cursor value")
    return value


def encode_cursor(order_name: str, values: Sequence[Any]) -> str:
    payload = json.dumps([order_name, [_encode_value(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order_name: str, width: int) -> list[Any]:
    """Values of a cursor made for this ordering; 400 ``invalid_cursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, values = json.loads(raw)
        if name != order_name or not isinstance(values, list) or len(values) != width:
            raise ValueError("cursor belongs to another ordering")
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not valid for this list.") from exc


@dataclass(frozen=True, slots=True)
class KeysetOrder:
    """A sort over columns that ends in a unique one, all ascending or all descending."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = True

    def apply(self, stmt: Select[Any], cursor: str | None) -> Select[Any]:
        if cursor is not None:
            values = decode_cursor(cursor, self.name, len(self.columns))
            key = tuple_(*self.columns)
            stmt = stmt.where(key < tuple_(*values) if self.descending else key > tuple_(*values))
        order = [c.desc() if self.descending else c.asc() for c in self.columns]
        return stmt.order_by(*order)

    def cursor_for(self, row: Any) -> str:
        return encode_cursor(self.name, [getattr(row, c.key) for c in self.columns])


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    order: KeysetOrder,
    limit: int,
    cursor: str | None,
    key_of: Callable[[Any], Any] | None = None,
) -> Page[Any]:
    """Run ``stmt`` for one page; fetch one extra row to learn whether another page exists."""
    rows = list((await session.scalars(order.apply(stmt, cursor).limit(limit + 1))).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = order.cursor_for(key_of(rows[-1]) if key_of else rows[-1]) if has_more else None
    return Page(items=rows, next_cursor=next_cursor)
