"""The base of every request and response shape, and the page envelope of lists."""

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, cast, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    Strict,
    WithJsonSchema,
    WrapValidator,
    create_model,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

T = TypeVar("T")


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "invalid_unicode", "Text must be valid Unicode (no lone surrogates)"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list | tuple | set | frozenset):
        _check_values(value)


def _check_values(values: Iterable[Any]) -> None:
    for item in values:
        _check_text(item)


class Schema(BaseModel):
    """Every response shape: built from model attributes (``amount_fen``, by the field's
    validation alias) and from its own JSON (``amount``, by name: a stored answer replayed)."""

    model_config = ConfigDict(
        from_attributes=True,
        validate_by_name=True,
        validate_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )


class InputSchema(Schema):
    """A request body: unknown fields are an error, text must be storable, and numbers and
    booleans are what JSON says they are.

    PostgreSQL cannot store NUL in text and neither backend can store lone surrogates; both
    are rejected here with 422 so that SQLite and PostgreSQL answer alike.

    Integer, boolean and float fields are strict (``Strict()`` added to each, below): pydantic's
    lax mode took ``5.0`` and ``"5"`` as 5 and ``0``/``"0"``/``"off"`` as false, silently. The
    whole model cannot be strict: FastAPI validates the parsed JSON in Python mode, where
    strict refuses the strings that carry dates, UUIDs and enums. Query parameters (strings)
    are not InputSchemas and stay lax.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_by_name=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if _make_scalars_strict(cls):
            cls.model_rebuild(force=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


_STRICT_SCALARS = (int, bool, float)


def _make_scalars_strict(model: type[BaseModel]) -> bool:
    """Add ``Strict()`` to every field of ``model`` that is an int, bool or float (or one or
    None) and has no validator of its own that reads text first (``MoneyIn``; ``NotNull`` only
    refuses null, so it does not count); True if any."""
    own = (Strict, BeforeValidator, PlainValidator, WrapValidator)
    changed = False
    for field in model.model_fields.values():
        annotation = field.annotation
        members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
        scalar = False
        metadata = list(field.metadata)
        for member in members or (annotation,):
            if get_origin(member) is Annotated:  # e.g. partial()'s Annotated[int, Ge(1)] | None
                member, *inner = get_args(member)
                metadata += inner
            scalar = scalar or member in _STRICT_SCALARS
        if scalar and not any(isinstance(m, own) and m is not NotNull for m in metadata):
            field.metadata.append(Strict())
            changed = True
    return changed


class Page(Schema, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page.",
        examples=["WyJjcmVhdGVkIixbeyJ0IjoiMjAyNi0xMS0yNFQwOToxMjozNSswMDowMCJ9XV0"],
    )


# --- days and times, in query parameters and bodies -----------------------------------------

#: The calendar the API accepts. Python's own ends (years 1 and 9999) overflow as soon as a
#: day is widened to its instants, moved to UTC or given a day after it (as_of=9999-12-31,
#: 0001-01-01T00:00:00+23:59: 500s); these leave centuries of room on both sides. 1900 is
#: before anything the platform records (the oldest policies and patents still cited are from
#: the 1980s), 2999 after any deadline, expiry or validity anyone can mean.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)

_ISO_DAY_START = re.compile(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_written(value: object) -> object:
    """Days and times are ISO 8601 text (or, from our own code, date objects): a number is
    not one (pydantic would read ``0.5`` as a Unix timestamp)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY_START.match(value):
        raise PydanticCustomError(
            "date_format", "Write days as 2020-05-01 and times as 2020-05-01T08:00:00+08:00"
        )
    return value


def _within_calendar(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "date_out_of_range",
            "Dates must lie between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


class _CalendarInSchema:
    """Says FIRST_DAY..LAST_DAY in the schema: ``format: date`` has no bounds, so a pattern on
    the year (19xx or 2xxx) tells generated clients and the fuzzer what the server takes."""

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = r"^(19|2[0-9])[0-9]{2}-"
        schema.setdefault(
            "description", f"Between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
        )
        return schema


_CALENDAR = _CalendarInSchema()

Day = Annotated[date, BeforeValidator(_iso_written), AfterValidator(_within_calendar), _CALENDAR]
"""A calendar day (``2020-05-01``) within FIRST_DAY..LAST_DAY: every date the API reads."""

Moment = Annotated[
    AwareDatetime, BeforeValidator(_iso_written), AfterValidator(_within_calendar), _CALENDAR
]
"""An instant with its UTC offset, on a day within FIRST_DAY..LAST_DAY: every time the API
reads."""


def _day_or_time(value: object) -> object:
    """A day is written ``2020-05-01``; anything longer is a time and must carry its offset.
    (Left to the union, ``2020-05-01T00:00:00Z`` would pass as a day: a date accepts a
    datetime at midnight, and the whole day in the platform's zone is not that instant.)"""
    value = _iso_written(value)
    if isinstance(value, str) and len(value.strip()) > len("2020-05-01"):
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            raise ValueError("a time needs its UTC offset, e.g. 2020-05-01T08:00:00+08:00")
        return moment
    return value


DayOrTime = Annotated[Moment | Day, BeforeValidator(_day_or_time)]
"""A query parameter that is a day (in the platform's time zone) or an instant."""


# --- money: integer fen inside, a decimal string outside ------------------------------------

#: ASCII digits only: ``\d`` also matches other scripts' digits (１０００.００, ٣٠٠.٠٠, 𝟗𝟗.𝟗𝟗),
#: which Decimal reads as numbers: they made real deals.
_MONEY_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
MONEY_EXAMPLE = "9500000.00"


def _yuan_to_fen(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise PydanticCustomError(
            "money_type", 'Money is a decimal string such as "9500000.00", never a number'
        )
    text = value.strip()
    if not re.match(_MONEY_PATTERN, text):
        raise PydanticCustomError(
            "money_format", "Money is a non-negative amount with at most 2 decimal places"
        )
    return int((Decimal(text) * 100).to_integral_value())


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


MoneyIn = Annotated[
    int,
    BeforeValidator(_yuan_to_fen),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MONEY_PATTERN,
            "examples": [MONEY_EXAMPLE],
            "description": "CNY as a decimal string, at most 2 decimal places.",
        }
    ),
]
"""A request amount: a decimal string in CNY, held as integer fen."""

MoneyOut = Annotated[
    str,
    BeforeValidator(lambda fen: fen_to_yuan(fen) if isinstance(fen, int) else fen),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "examples": [MONEY_EXAMPLE],
            "description": "CNY as a decimal string with 2 decimal places.",
        }
    ),
]
"""A response amount: integer fen rendered as a decimal string in CNY."""


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("null_not_allowed", "May be left out, but not set to null")
    return value


NotNull = BeforeValidator(_not_null)
"""Marks an update's field that may be left out but never set to null (with omittable())."""


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**kwargs: Any) -> Any:
    """The ``Field`` of an update's field that may be left out but is never null:
    ``role: Annotated[Role, NotNull] = omittable()``. Left out, it reads None (not in
    ``model_fields_set``); sent as null, it is a 422 ``null_not_allowed``; the schema
    declares it not nullable (and shows no null default)."""
    return Field(default=None, json_schema_extra=_without_default, **kwargs)


def _empty_if_null(value: list[Any] | None) -> list[Any]:
    return [] if value is None else value


def _nullable(annotation: Any) -> bool:
    return annotation is None or type(None) in get_args(annotation)


def partial(
    model: type[InputSchema], name: str, doc: str, example: dict[str, Any]
) -> type[InputSchema]:
    """An update shape: every field of ``model`` may be left out; sent as null, a field means
    what ``model`` gives it when left out, so null is declared where that is defined:
    a nullable field is cleared, a list that defaults to empty is emptied; any other field
    (required, or with another default: a boolean) is not nullable (422 ``null_not_allowed``)."""
    fields: dict[str, Any] = {}
    for n, f in model.model_fields.items():
        annotation: Any = Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation
        if _nullable(f.annotation):
            fields[n] = (annotation, Field(default=None, description=f.description))
        elif f.default_factory is list:
            described = " ".join(filter(None, [f.description, "null empties the list."]))
            cleared = Annotated[annotation | None, AfterValidator(_empty_if_null)]
            fields[n] = (cleared, Field(default=None, description=described))
        else:
            fields[n] = (Annotated[annotation, NotNull], omittable(description=f.description))

    base = type(
        f"{name}Base",
        (InputSchema,),
        {"model_config": ConfigDict(json_schema_extra={"examples": [example]})},
    )
    partial_model: Any = create_model(name, __base__=base, __doc__=doc, **fields)
    return cast("type[InputSchema]", partial_model)
