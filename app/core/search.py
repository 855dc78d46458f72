"""CJK-aware text indexing and querying, the same on both backends.

Chinese has no spaces, so the app builds each item's search text itself, as Lucene's CJK
analyzer does: Latin words and numbers are lower-cased tokens; every run of CJK characters is
cut into overlapping bigrams, and the run's last character is also kept on its own so that
every character begins some token (a one-character query is then a prefix query). A run of
one character is that character.

    "盾构机 TBM-5G" → "盾构 构机 机 tbm 5g"

PostgreSQL keeps the text as a ``tsvector`` (``simple`` configuration, GIN index); SQLite in an
FTS5 table (``unicode61``, which splits on the spaces we put there). A query goes through the
same function: each CJK run of the query becomes a phrase of adjacent bigrams (FTS5 phrase,
tsquery ``<->``), so a Chinese query means "this substring"; terms are ANDed; a one-character
CJK term becomes a prefix query.
"""

import operator
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, func, literal_column, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession

# CJK Unified Ideographs (+ extension A, compatibility), kana, hangul.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_QUERY_TERMS = 16


SEARCH_VECTOR_COLUMN = "search_vector"
TITLE_VECTOR_COLUMN = "title_vector"


def fts_table(table: str) -> str:
    """The SQLite FTS5 table indexing ``table``."""
    return f"{table}_fts"


async def rebuild_index(session: AsyncSession, table: str) -> None:
    """Rebuild ``table``'s search index from its rows.

    SQLite: the FTS5 table refers to rows by rowid, which ``VACUUM`` may renumber; FTS5's
    ``rebuild`` command reads every row again. PostgreSQL: the tsvector columns are generated
    and cannot drift, so only the GIN indexes are rebuilt (``REINDEX``, e.g. after bloat).
    """
    if session.get_bind().dialect.name == "sqlite":
        name = fts_table(table)
        await session.execute(text(f"INSERT INTO {name}({name}) VALUES ('rebuild')"))
    else:
        await session.execute(text(f"REINDEX TABLE {table}"))


@asynccontextmanager
async def suspend_search_index(session: AsyncSession, table: str) -> AsyncIterator[None]:
    """Index the rows inserted inside the block once, at its end, instead of row by row.

    The objects that index each inserted row (SQLite: the AFTER INSERT trigger feeding the
    FTS5 table; PostgreSQL: the GIN indexes on the generated tsvectors) are dropped, and
    created again afterwards from their own saved definitions; on SQLite the FTS5 table is
    then rebuilt from the table (:func:`rebuild_index`). The index ends up as the triggers
    would have left it, two to three times faster for a bulk load into an empty table. Both
    backends have transactional DDL: run it inside a transaction that holds the write lock,
    so nobody sees the table without its index and a failure rolls it all back.
    """
    dialect = session.get_bind().dialect.name
    definitions: list[str] = []
    if dialect == "sqlite":
        fts = fts_table(table)
        triggers = await session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        )
        for name, sql in triggers.all():
            if "AFTER INSERT" in sql.upper() and f"INSERT INTO {fts}(" in sql:
                definitions.append(sql)
                await session.execute(text(f'DROP TRIGGER "{name}"'))
    elif dialect == "postgresql":
        indexes = await session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename = :t"
            ),
            {"t": table},
        )
        for name, definition in indexes.all():
            if is_search_index_object(name, "index"):
                definitions.append(definition)
                await session.execute(text(f'DROP INDEX "{name}"'))
    yield
    if not definitions:
        return
    if dialect == "postgresql":
        await session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in definitions:
        await session.execute(text(definition))
    if dialect == "sqlite":
        await rebuild_index(session, table)


def is_search_index_object(name: str | None, type_: str) -> bool:
    """The backend-specific search objects (tsvector column and its GIN index on PostgreSQL,
    FTS5 tables on SQLite): created by migrations, outside the models' metadata."""
    if name is None:
        return False
    if type_ == "column":
        return name in (SEARCH_VECTOR_COLUMN, TITLE_VECTOR_COLUMN)
    if type_ == "index":
        return name.endswith(("_search_vector", "_title_vector"))
    if type_ == "table":
        return "_fts" in name
    return False


def _normalize(text: str) -> str:
    # Full-width Latin and digits (ＴＢＭ５Ｇ) become ASCII; case folds.
    return unicodedata.normalize("NFKC", text).lower()


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def index_text(*parts: str | None) -> str:
    """The search text of some fields: space-separated tokens, in order."""
    tokens: list[str] = []
    extend, append = tokens.extend, tokens.append
    for part in parts:
        if not part:
            continue
        for word in _TOKEN.findall(_normalize(part)):
            if _IS_CJK.match(word):
                # bigrams built in C (map over two offset views), then the run's last char
                extend(map(operator.add, word, word[1:]))
                append(word[-1])
            else:
                append(word)
    return " ".join(tokens)


@dataclass(frozen=True, slots=True)
class Term:
    """One ANDed part of a query: a phrase of tokens, or a one-character prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


def parse_query(text: str) -> list[Term]:
    """Terms of a user query; empty when the query has nothing searchable."""
    terms: list[Term] = []
    for match in _TOKEN.finditer(_normalize(text)):
        word = match.group()
        if _IS_CJK.match(word):
            if len(word) == 1:
                terms.append(Term(tokens=(word,), prefix=True))
            else:
                terms.append(Term(tokens=tuple(word[i : i + 2] for i in range(len(word) - 1))))
        else:
            terms.append(Term(tokens=(word,)))
        if len(terms) == MAX_QUERY_TERMS:
            break
    return terms


def _pg_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def to_tsquery(terms: list[Term]) -> str:
    """A ``to_tsquery('simple', …)`` expression for PostgreSQL."""
    parts = []
    for term in terms:
        if term.prefix:
            parts.append(_pg_lexeme(term.tokens[0]) + ":*")
        else:
            parts.append("(" + " <-> ".join(_pg_lexeme(t) for t in term.tokens) + ")")
    return " & ".join(parts)


def to_fts5(terms: list[Term]) -> str:
    """An FTS5 MATCH expression for SQLite."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(t.replace('"', '""') for t in term.tokens) + '"'
        parts.append(quoted + ("*" if term.prefix else ""))
    return " AND ".join(parts)


# --- SQL for each backend --------------------------------------------------------------------


def _tsquery(terms: list[Term]) -> ColumnElement[Any]:
    return func.to_tsquery(
        literal_column("'simple'::regconfig"), bindparam(None, to_tsquery(terms))
    )


#: On SQLite, a match set up to this size is read first and looked up by rowid; a larger one
#: (a common word) is probed while walking the newest-first index, which soon fills a page.
SMALL_MATCH_SET = 2000


async def _fts_in(session: AsyncSession, table: str, expression: str) -> ColumnElement[bool]:
    fts = fts_table(table)
    matching: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(sql_table(fts))
        .where(literal_column(fts).op("MATCH")(bindparam(None, expression)))
    )
    rowid: ColumnElement[Any] = literal_column(f"{table}.rowid")
    found = list((await session.scalars(matching.limit(SMALL_MATCH_SET + 1))).all())
    if len(found) <= SMALL_MATCH_SET:
        return rowid.in_(found) if found else false()
    # Many matches (a common word): the walk down the newest-first index finds a page soon;
    # SQLite materializes the subquery's rowids once for its membership probes.
    return rowid.in_(matching.scalar_subquery())


async def match_condition(
    session: AsyncSession, table: str, terms: list[Term]
) -> ColumnElement[bool]:
    """Rows of ``table`` whose title or body matches every term."""
    if session.get_bind().dialect.name == "postgresql":
        return literal_column(f"{table}.{SEARCH_VECTOR_COLUMN}").op("@@")(_tsquery(terms))
    return await _fts_in(session, table, to_fts5(terms))


async def title_match_condition(
    session: AsyncSession, table: str, terms: list[Term]
) -> ColumnElement[bool]:
    """Rows of ``table`` whose title alone matches every term (the first relevance tier)."""
    if session.get_bind().dialect.name == "postgresql":
        return literal_column(f"{table}.{TITLE_VECTOR_COLUMN}").op("@@")(_tsquery(terms))
    return await _fts_in(session, table, "search_title : (" + to_fts5(terms) + ")")
