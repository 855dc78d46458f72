"""Keyset (cursor) pagination: opaque cursors over a stable, unique sort key."""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import BigInteger, Select, SmallInteger, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

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


#: Longer than any cursor this service writes (and the query parameter's own bound).
MAX_CURSOR_LENGTH = 1000

_INT_BOUNDS = {16: (-(2**15), 2**15 - 1), 32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}


@dataclass(frozen=True, slots=True)
class CursorSlot:
    """What one value of a cursor must be. A cursor is opaque to clients but decodable by
    anyone, so each value is checked against its ordering's column before it reaches a query:
    a crafted one (wrong type, null, naive time, a date where a time belongs, an integer the
    column cannot hold) is a 400 ``invalid_cursor``, never a 500 or a silently empty page."""

    kind: Literal["datetime", "date", "uuid", "int", "str"]
    nullable: bool = False
    low: int | None = None
    high: int | None = None

    @classmethod
    def integer(cls, low: int, high: int) -> "CursorSlot":
        return cls("int", low=low, high=high)

    @classmethod
    def of_column(cls, attribute: InstrumentedAttribute[Any]) -> "CursorSlot":
        """The slot of a keyset column, from its SQL type and nullability."""
        column = attribute.property.columns[0]
        type_ = column.type
        if isinstance(type_, TypeDecorator):  # e.g. models.base.UTCDateTime: its SQL type
            type_ = type_.impl_instance
        nullable = bool(column.nullable)
        python_type = type_.python_type
        if python_type is datetime:
            if not getattr(type_, "timezone", False):
                raise TypeError(f"{attribute}: keyset times must be timezone-aware columns")
            return cls("datetime", nullable)
        if python_type is date:
            return cls("date", nullable)
        if python_type is uuid.UUID:
            return cls("uuid", nullable)
        if python_type is int:
            bits = 64 if isinstance(type_, BigInteger) else 32
            low, high = _INT_BOUNDS[16 if isinstance(type_, SmallInteger) else bits]
            return cls("int", nullable, low, high)
        if python_type is str:
            return cls("str", nullable)
        raise TypeError(f"{attribute}: no cursor slot for a {python_type.__name__} column")

    def decode(self, raw: Any) -> Any:
        """The value ``raw`` (as JSON gave it) stands for; ValueError when it does not fit."""
        if raw is None:
            if self.nullable:
                return None
            raise ValueError("null in a cursor")
        if self.kind == "int":
            if type(raw) is not int:  # not a bool, not a float
                raise ValueError("not an integer")
            if (self.low is not None and raw < self.low) or (
                self.high is not None and raw > self.high
            ):
                raise ValueError("integer out of range")
            return raw
        if self.kind == "str":
            if not isinstance(raw, str) or len(raw) > MAX_CURSOR_LENGTH or "\x00" in raw:
                raise ValueError("not a string")
            raw.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
            return raw
        tag = {"datetime": "t", "date": "d", "uuid": "u"}[self.kind]
        if not isinstance(raw, dict) or len(raw) != 1 or not isinstance(raw.get(tag), str):
            raise ValueError(f"not a {self.kind}")
        text: str = raw[tag]
        if self.kind == "uuid":
            return uuid.UUID(text)
        if self.kind == "date":
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError("a time without its offset")
        return moment.astimezone(UTC)  # OverflowError at the ends of the calendar


def encode_cursor(order_name: str, values: Sequence[Any]) -> str:
    payload = json.dumps([order_name, [_encode_value(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order_name: str, slots: Sequence[CursorSlot]) -> list[Any]:
    """Values of a cursor made for this ordering, each checked against its slot; 400
    ``invalid_cursor`` for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise ValueError("not a cursor")
        name, values = decoded
        if name != order_name or not isinstance(values, list) or len(values) != len(slots):
            raise ValueError("cursor belongs to another ordering")
        return [slot.decode(value) for slot, value in zip(slots, values, strict=True)]
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
        UnicodeError,
    ) as exc:
        raise InvalidCursor("The cursor is not valid for this list.") from exc


@dataclass(frozen=True, slots=True)
class KeysetOrder:
    """A sort over columns that ends in a unique one, all ascending or all descending."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = True
    slots: tuple[CursorSlot, ...] = field(init=False, repr=False, compare=False)
    """What each value of this ordering's cursors must be, from its columns' types."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", tuple(CursorSlot.of_column(c) for c in self.columns))

    def apply(self, stmt: Select[Any], cursor: str | None) -> Select[Any]:
        if cursor is not None:
            values = decode_cursor(cursor, self.name, self.slots)
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
