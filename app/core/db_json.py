"""Portable JSON-array predicates: 'this JSON list column contains that value'."""

from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean


class json_array_contains(FunctionElement[bool]):  # noqa: N801 - reads like a SQL function
    """True when the JSON array in ``column`` has ``value`` as an element."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_contains"

    def __init__(self, column: Any, value: str) -> None:
        super().__init__(column, literal(value))


@compiles(json_array_contains, "postgresql")
def _postgresql(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    containment = column.cast(JSONB).op("@>")(func.jsonb_build_array(value))
    return str(compiler.process(containment, **kw))


@compiles(json_array_contains, "sqlite")
def _sqlite(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    each = func.json_each(column).table_valued("value")
    exists: ClauseElement = (
        select(literal(1)).select_from(each).where(each.c.value == value).exists()
    )
    return str(compiler.process(exists, **kw))
