"""The base of every request and response shape, and the page envelope of lists."""

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
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
    """Every shape: built from model attributes as well as from dicts."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(Schema):
    """A request body: unknown fields are an error, and text must be storable.

    PostgreSQL cannot store NUL in text and neither backend can store lone surrogates; both
    are rejected here with 422 so that SQLite and PostgreSQL answer alike.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


class Page(Schema, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page.",
        examples=["WyJjcmVhdGVkIixbeyJ0IjoiMjAyNi0xMS0yNFQwOToxMjozNSswMDowMCJ9XV0"],
    )

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        (item,) = params
        name = getattr(item, "__name__", "Item")
        return f"{name.removesuffix('Read')}Page"
