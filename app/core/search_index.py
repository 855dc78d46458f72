"""The search index: an embedded tantivy index per table and per process, derived from the
database, where searches, facet counts and totals are computed.

Why an embedded index: docs/decisions.md, "Search at search-engine speed (issue 13)". In
short, ranking every match and counting facets over every match cannot be done inside either
database within the latency bound; tantivy (BM25, positions, columnar fast fields) does it in
milliseconds, and needs no server: it is a library in each worker.

**The database stays the source of truth.** Each worker holds its own index in memory and
keeps it in step with the table before every search (:meth:`TableIndex.refresh`):

- Every committed change raises the catalog's generation (``catalog_generations``, read on
  the fast read path for the response cache already). When it moved since the index last
  looked, the index reads ``(id, updated_at)`` of the rows changed since its watermark, less
  :data:`OVERLAP` (a transaction that wrote a row earlier may commit later), and re-indexes
  the rows whose ``updated_at`` it does not know yet. A committed write is therefore in the
  next search on every worker and every replica that reads the raised generation.
- Whether or not the generation moved, the index looks again after :data:`MAX_QUIET`
  seconds, so a generation lost between a commit and its raise (a crash) delays a change by
  that long at most; and it compares every row's ``updated_at`` with what it holds after
  :data:`RECONCILE_EVERY` seconds (rows deleted, or committed later than the overlap).
- A worker builds its index from the table when it starts (``innoshare serve``'s start-up;
  ``innoshare reindex`` checks the build), so a lost index is never more than a restart away.

Documents carry the tokens ``app/core/search.py`` wrote into ``search_title`` and
``search_body`` (CJK bigrams, lower-cased words, split on spaces by tantivy's ``whitespace``
tokenizer, positions kept for phrases) and every short column as a fast field, so that the
filters of ``app/core/filters.py`` run here exactly as they run in SQL.
"""

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

import tantivy
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.filters import Filter
from app.core.search import Term

logger = logging.getLogger(__name__)

ID, TITLE, BODY = "id", "_title", "_body"
NULLS = "_null"
"""Names of the columns that are null in a document (``Range(or_null=True)``)."""

#: How much a match in the title weighs against one in the body, and a match of the whole
#: query as one phrase against its words scattered.
TITLE_BOOST = 3.0
PHRASE_BOOST = 2.0
#: The share of a long Chinese phrase's bigrams that must be found when they are not side by
#: side (rounded up: all three of three, three of four, six of seven) ...
SCATTERED_SHARE = 0.75
#: ... which a search widens to when the phrases themselves match fewer items than this.
#: Always widening scored a little better on the judged queries (nDCG@10 0.806 against 0.795)
#: but cost two to three times as much for a long common phrase (科技成果转化 over 100,000
#: policies: 18 ms against 8 ms), so the search widens only when the phrase finds little.
WIDEN_BELOW = 10
#: Hits are ordered by score, then newest first: the index keeps each segment's documents
#: newest first, and a page is sorted by (score, created_at) before it is returned.
RECENCY_FIELD = "created_at"

#: A row written this long before another one may still commit after it.
OVERLAP = timedelta(seconds=60)
#: The index looks for changes at least this often, even when no generation moved (seconds).
MAX_QUIET = 5.0
#: It compares every row with the table this often (seconds).
RECONCILE_EVERY = 600.0
#: The deepest hit a page may start at (as search engines' result window).
MAX_WINDOW = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NULL_FACET = "\x00null"
_LOAD_CHUNK = 2000

ExtrasLoader = Callable[
    [AsyncSession, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, dict[str, list[str]]]]
]
"""Values of related rows indexed with each item (a demand's invited organizations)."""
SessionFactory = Callable[[], Any]
"""An async context manager yielding a read session (``Database.unit_of_work``)."""


class Kind(Enum):
    text = "text"
    integer = "integer"
    date = "date"
    datetime = "datetime"
    boolean = "boolean"
    list = "list"


def _kind_of(column: Any) -> Kind | None:
    column_type = column.type
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, Text) or isinstance(column_type, Text):
        return None
    if isinstance(impl, Boolean):
        return Kind.boolean
    if isinstance(impl, Integer):
        return Kind.integer
    if isinstance(impl, DateTime):
        return Kind.datetime
    if isinstance(impl, Date):
        return Kind.date
    if isinstance(impl, JSON):
        return Kind.list
    if isinstance(impl, String):
        return Kind.text if (impl.length or 10_000) <= 300 else None
    try:
        return Kind.text if column_type.python_type is uuid.UUID else None
    except NotImplementedError:
        return None


def _microseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_microseconds(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class IndexLayout:
    """Which columns of ``table`` the index holds, and how."""

    table: Table
    title_column: str = "search_title"
    body_column: str = "search_body"
    extras: tuple[str, ...] = ()
    """List fields supplied by an :data:`ExtrasLoader`, not columns."""
    kinds: dict[str, Kind] = field(init=False)
    schema: Any = field(init=False)

    def __post_init__(self) -> None:
        kinds: dict[str, Kind] = {}
        for column in self.table.columns:
            if column.name in (ID, self.title_column, self.body_column):
                continue
            kind = _kind_of(column)
            if kind is not None:
                kinds[column.name] = kind
        kinds.update(dict.fromkeys(self.extras, Kind.list))
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(ID, stored=True, tokenizer_name="raw")
        builder.add_text_field(TITLE, tokenizer_name="whitespace", index_option="position")
        builder.add_text_field(BODY, tokenizer_name="whitespace", index_option="position")
        builder.add_text_field(NULLS, tokenizer_name="raw")
        for name, kind in kinds.items():
            if kind in (Kind.text, Kind.list):
                builder.add_text_field(name, fast=True, tokenizer_name="raw")
            else:
                builder.add_integer_field(name, indexed=True, fast=True)
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "schema", builder.build())

    @property
    def columns(self) -> list[str]:
        """The columns a document is made of."""
        names = [ID, self.title_column, self.body_column]
        return names + [name for name in self.kinds if name not in self.extras]

    def term(self, name: str, value: Any) -> Any:
        """A filter's value as the index stores it in field ``name``."""
        kind = self.kinds.get(name)
        if kind is None:
            raise KeyError(f"{self.table.name}.{name} is not in the search index")
        if kind in (Kind.text, Kind.list):
            return value.value if isinstance(value, Enum) else str(value)
        if kind is Kind.datetime:
            return _microseconds(value)
        if kind is Kind.date:
            return (value.date() if isinstance(value, datetime) else value).toordinal()
        return int(value)

    def value(self, name: str, stored: Any) -> Any:
        """A value as the index gives it back (a facet bucket's key), as the column holds it."""
        kind = self.kinds[name]
        if stored == _NULL_FACET:
            return None
        if kind is Kind.integer:
            return int(stored)
        if kind is Kind.boolean:
            return bool(stored)
        if kind is Kind.date:
            return date.fromordinal(int(stored))
        if kind is Kind.datetime:
            return _from_microseconds(int(stored))
        return stored

    def document(self, row: Mapping[str, Any], extra: Mapping[str, list[str]]) -> Any:
        document = tantivy.Document()
        document.add_text(ID, str(row[ID]))
        document.add_text(TITLE, row[self.title_column] or "")
        document.add_text(BODY, row[self.body_column] or "")
        for name, kind in self.kinds.items():
            value = extra.get(name, []) if name in self.extras else row[name]
            if value is None or (kind is Kind.list and not value):
                document.add_text(NULLS, name)
                continue
            if kind is Kind.list:
                for element in value:
                    if not isinstance(element, dict | list):
                        document.add_text(name, self.term(name, element))
            elif kind is Kind.text:
                document.add_text(name, self.term(name, value))
            else:
                document.add_integer(name, self.term(name, value))
        return document


# --- queries -------------------------------------------------------------------------------


def _filter_query(layout: IndexLayout, condition: Filter) -> Any:
    schema, query = layout.schema, tantivy.Query
    match condition:
        case filters.Everything():
            return query.all_query()
        case filters.OneOf(name, values):
            # Term queries read posting lists; a term set query would scan the fast field of
            # every document (2.7 ms over 100,000 policies for status = published).
            terms = [query.term_query(schema, name, layout.term(name, v)) for v in values]
            if not terms:
                return query.empty_query()
            if len(terms) == 1:
                return terms[0]
            return query.boolean_query([(tantivy.Occur.Should, term) for term in terms])
        case filters.Range(name, low, high, low_exclusive, high_exclusive, or_null):
            if low is None and high is None:
                return query.all_query() if or_null else query.exists_query(name)
            within = query.range_query(
                schema,
                name,
                tantivy.FieldType.Integer,
                layout.term(name, low) if low is not None else None,
                layout.term(name, high) if high is not None else None,
                include_lower=not low_exclusive,
                include_upper=not high_exclusive,
            )
            if not or_null:
                return within
            null = query.term_query(schema, NULLS, name)
            return query.boolean_query(
                [(tantivy.Occur.Should, within), (tantivy.Occur.Should, null)]
            )
        case filters.Has(name, value):
            return query.term_query(schema, name, layout.term(name, value))
        case filters.AllOf(parts):
            return query.boolean_query(
                [(tantivy.Occur.Must, _filter_query(layout, part)) for part in parts]
            )
        case filters.AnyOf(parts):
            return query.boolean_query(
                [(tantivy.Occur.Should, _filter_query(layout, part)) for part in parts]
            )
        case filters.Not(part):
            return query.boolean_query(
                [
                    (tantivy.Occur.Must, query.all_query()),
                    (tantivy.Occur.MustNot, _filter_query(layout, part)),
                ]
            )
        case filters.Related(_, indexed):
            return _filter_query(layout, indexed)
    raise TypeError(f"not a filter: {condition!r}")


def _term_query(schema: Any, name: str, term: Term) -> Any:
    if term.prefix:
        return tantivy.Query.phrase_prefix_query(schema, name, [term.tokens[0]])
    if len(term.tokens) == 1:
        return tantivy.Query.term_query(schema, name, term.tokens[0])
    return tantivy.Query.phrase_query(schema, name, list(term.tokens))


def _in_title_or_body(schema: Any, query_of: Callable[[str], Any]) -> Any:
    """``query_of(field)`` in the title (weighing TITLE_BOOST times more) or in the body."""
    should = tantivy.Occur.Should
    return tantivy.Query.boolean_query(
        [
            (should, tantivy.Query.boost_query(query_of(TITLE), TITLE_BOOST)),
            (should, query_of(BODY)),
        ]
    )


def _word(schema: Any, token: str) -> Callable[[str], Any]:
    return lambda name: tantivy.Query.term_query(schema, name, token)


def _term_match(schema: Any, term: Term, *, scattered: bool) -> Any:
    """Where one term of a query matches. ``scattered``: a long Chinese phrase (three bigrams
    or more) also matches when SCATTERED_SHARE of its bigrams are found apart (高新技术企业认定
    in "首次认定的高新技术企业"), scoring as those bigrams do, the phrase adding PHRASE_BOOST."""
    phrase = _in_title_or_body(schema, lambda name: _term_query(schema, name, term))
    tokens = list(dict.fromkeys(term.tokens))
    if not scattered or not widens(term):
        return phrase
    should = tantivy.Occur.Should
    bigrams = [(should, _in_title_or_body(schema, _word(schema, token))) for token in tokens]
    needed = math.ceil(SCATTERED_SHARE * len(tokens))
    apart = tantivy.Query.boolean_query(bigrams, minimum_number_should_match=needed)
    return tantivy.Query.boolean_query(
        [(should, tantivy.Query.boost_query(phrase, PHRASE_BOOST)), (should, apart)]
    )


def widens(term: Term) -> bool:
    """Whether a term can match scattered: a Chinese phrase of three bigrams or more."""
    return not term.prefix and len(set(term.tokens)) >= 3


def _text_query(
    schema: Any, terms: Sequence[Term], phrase: Term | None, *, scattered: bool = False
) -> Any:
    """Every term matches (:func:`_term_match`); the whole query as one phrase, when it is more
    than one term, adds PHRASE_BOOST."""
    should, must = tantivy.Occur.Should, tantivy.Occur.Must
    parts = [(must, _term_match(schema, term, scattered=scattered)) for term in terms]
    if phrase is not None:
        whole = _in_title_or_body(schema, lambda name: _term_query(schema, name, phrase))
        parts.append((should, tantivy.Query.boost_query(whole, PHRASE_BOOST)))
    return tantivy.Query.boolean_query(parts)


def whole_phrase(terms: Sequence[Term]) -> Term | None:
    """The query's terms as one phrase (its words adjacent), when there are several."""
    if len(terms) < 2 or any(term.prefix for term in terms):
        return None
    return Term(tokens=tuple(token for term in terms for token in term.tokens))


def and_query(*queries: Any) -> Any:
    """Documents every one of ``queries`` matches (scored as the sum)."""
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, query) for query in queries])


@dataclass(frozen=True, slots=True)
class SortKey:
    """An order of hits: by relevance (``field`` None), or by a fast field."""

    field: str | None = None
    descending: bool = True


@dataclass(slots=True)
class Hits:
    ids: list[uuid.UUID]
    total: int
    more: bool
    """Whether a hit follows the page (within :data:`MAX_WINDOW`)."""
    scores: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Answer:
    query: Any
    """The index query that answered (widened or not), for further counts."""
    hits: Hits
    facets: dict[str, dict[Any, int]]


def total_of(layout: IndexLayout, counts: dict[str, dict[Any, int]]) -> int | None:
    """The number of matches, from the counts of a single-valued field (nulls included)."""
    for name, by_value in counts.items():
        if layout.kinds[name] is not Kind.list:
            return sum(by_value.values())
    return None


class Snapshot:
    """One consistent view of a table's index: every answer of a request comes from it."""

    def __init__(self, layout: IndexLayout, searcher: Any) -> None:
        self.layout = layout
        self._searcher = searcher

    def query(
        self, condition: Filter, terms: Sequence[Term] = (), *, scattered: bool = False
    ) -> Any:
        """The index query of ``terms`` (ranked) among the items ``condition`` admits;
        ``scattered``: long phrases also match by most of their bigrams."""
        admitted = tantivy.Query.const_score_query(_filter_query(self.layout, condition), 0.0)
        if not terms:
            return admitted
        text = _text_query(self.layout.schema, terms, whole_phrase(terms), scattered=scattered)
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text), (tantivy.Occur.Must, admitted)]
        )

    def search(
        self,
        condition: Filter,
        terms: Sequence[Term],
        *,
        sort: SortKey,
        offset: int,
        limit: int,
        facets: Sequence[str] = (),
    ) -> "Answer":
        """A page of hits, the exact total and the facets of ``terms`` among the items
        ``condition`` admits. When the query's phrases match fewer than WIDEN_BELOW items and
        a phrase is long, the search widens to its scattered bigrams (the phrase still ranks
        first). One pass for the page and the total, one for the facets (which give the total
        too, when asked for)."""
        answer = self._answer(self.query(condition, terms), sort, offset, limit, facets)
        if answer.hits.total < WIDEN_BELOW and any(widens(term) for term in terms):
            wider = self.query(condition, terms, scattered=True)
            answer = self._answer(wider, sort, offset, limit, facets)
        return answer

    def _answer(
        self, query: Any, sort: SortKey, offset: int, limit: int, facets: Sequence[str]
    ) -> "Answer":
        counts = self.facets(query, facets) if facets else {}
        total = total_of(self.layout, counts)
        return Answer(
            query=query,
            hits=self.hits(query, sort=sort, offset=offset, limit=limit, total=total),
            facets=counts,
        )

    def hits(
        self, query: Any, *, sort: SortKey, offset: int, limit: int, total: int | None = None
    ) -> Hits:
        """A page of ids from ``offset``, the exact total (counted unless given), and whether
        more follow. By relevance, equal scores go newest first."""
        wanted = min(limit + 1, max(MAX_WINDOW - offset, 0))
        options: dict[str, Any] = {
            "limit": max(wanted, 1),
            "offset": offset,
            "count": total is None,
        }
        if sort.field is not None:
            options["order_by_field"] = sort.field
            options["order"] = tantivy.Order.Desc if sort.descending else tantivy.Order.Asc
        found = self._searcher.search(query, **options)
        found_hits = found.hits if wanted else []
        page = found_hits[:limit]
        if sort.field is None and page:
            created = self._searcher.fast_field_values(RECENCY_FIELD, [a for _, a in page])
            ordered = sorted(
                zip(page, created, strict=True), key=lambda hit: (-hit[0][0], -(hit[1] or 0))
            )
            page = [hit for hit, _ in ordered]
        ids = [uuid.UUID(self._searcher.doc(address).get_first(ID)) for _, address in page]
        scores = [float(key) for key, _ in page] if sort.field is None else []
        return Hits(
            ids=ids,
            total=found.count if total is None else total,
            more=wanted > limit and len(found_hits) > limit,
            scores=scores,
        )

    def count(self, query: Any) -> int:
        return int(self._searcher.search(query, limit=1, count=True).count)

    def facets(self, query: Any, names: Sequence[str]) -> dict[str, dict[Any, int]]:
        """Exact counts of every value of each named field over all of ``query``'s matches
        (nulls under None)."""
        aggregation = {
            name: {
                "terms": {
                    "field": name,
                    "size": 65_000,
                    "segment_size": 65_000,
                    "missing": _NULL_FACET
                    if self.layout.kinds[name] in (Kind.text, Kind.list)
                    else -(2**62),
                }
            }
            for name in names
        }
        found = self._searcher.aggregate(query, aggregation)
        counts: dict[str, dict[Any, int]] = {}
        for name in names:
            buckets = found[name]["buckets"]
            numeric = self.layout.kinds[name] not in (Kind.text, Kind.list)
            counts[name] = {
                (
                    None
                    if numeric and int(b["key"]) == -(2**62)
                    else self.layout.value(name, b["key"])
                ): int(b["doc_count"])
                for b in buckets
            }
        return counts


# --- keeping in step with the table ---------------------------------------------------------


class TableIndex:
    """One table's index in this process, and what it knows of the table."""

    def __init__(self, layout: IndexLayout, extras: ExtrasLoader | None = None) -> None:
        self.layout = layout
        self.extras = extras
        self._lock = asyncio.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next refresh builds the index from the table."""
        self._index = tantivy.Index(
            self.layout.schema, sort_by_field=RECENCY_FIELD, sort_order=tantivy.Order.Desc
        )
        self._writer: Any = None
        self._known: dict[uuid.UUID, datetime] = {}
        self._watermark: datetime | None = None
        self._generation: int | None = None
        self._checked_at = 0.0
        self._reconciled_at = 0.0
        self._snapshot = Snapshot(self.layout, self._index.searcher())

    @property
    def size(self) -> int:
        return len(self._known)

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def _stale(self, generation: int | None) -> bool:
        return (
            self._generation is None
            or generation != self._generation
            or time.monotonic() - self._checked_at > MAX_QUIET
        )

    async def refresh(self, sessions: SessionFactory, generation: int | None) -> Snapshot:
        """The index, in step with every change committed before ``generation`` was read."""
        if not self._stale(generation):
            return self._snapshot
        async with self._lock:
            if self._stale(generation):
                await self._catch_up(sessions, generation)
        return self._snapshot

    async def rebuild(self, sessions: SessionFactory, generation: int | None = None) -> int:
        """Build the index afresh from the table; the number of rows indexed."""
        async with self._lock:
            self.reset()
            await self._catch_up(sessions, generation)
            return self.size

    async def _catch_up(self, sessions: SessionFactory, generation: int | None) -> None:
        table = self.layout.table
        now = time.monotonic()
        full = self._watermark is None or now - self._reconciled_at > RECONCILE_EVERY
        stamps = select(table.c.id, table.c.updated_at)
        if self._watermark is not None and not full:
            stamps = stamps.where(table.c.updated_at >= self._watermark - OVERLAP)
        columns = [table.c[name] for name in self.layout.columns]
        written = False
        async with sessions() as session:
            current = {row.id: row.updated_at for row in (await session.execute(stamps)).all()}
            changed = [i for i, stamp in current.items() if self._known.get(i) != stamp]
            gone = [i for i in self._known if i not in current] if full else []
            if gone:
                await asyncio.to_thread(self._delete, gone)
                written = True
            for start in range(0, len(changed), _LOAD_CHUNK):
                chunk = changed[start : start + _LOAD_CHUNK]
                found = await session.execute(select(*columns).where(table.c.id.in_(chunk)))
                rows = [row._mapping for row in found.all()]
                extra = await self.extras(session, chunk) if self.extras is not None else {}
                await asyncio.to_thread(self._add, rows, extra)
                written = True
        if written:
            await asyncio.to_thread(self._commit)
        if current:
            latest = max(current.values())
            self._watermark = max(latest, self._watermark) if self._watermark else latest
        elif self._watermark is None:
            self._watermark = _EPOCH
        self._generation = generation
        self._checked_at = now
        if full:
            self._reconciled_at = now

    def _open_writer(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=16_000_000, num_threads=1)
        return self._writer

    def _delete(self, gone: Iterable[uuid.UUID]) -> None:
        writer = self._open_writer()
        for item_id in gone:
            writer.delete_documents_by_term(ID, str(item_id))
            self._known.pop(item_id, None)

    def _add(
        self, rows: Iterable[Mapping[str, Any]], extra: Mapping[uuid.UUID, Mapping[str, list[str]]]
    ) -> None:
        writer = self._open_writer()
        for row in rows:
            item_id = row[ID]
            if item_id in self._known:
                writer.delete_documents_by_term(ID, str(item_id))
            writer.add_document(self.layout.document(row, extra.get(item_id, {})))
            self._known[item_id] = row["updated_at"]

    def _commit(self) -> None:
        self._open_writer().commit()
        self._index.reload()
        self._snapshot = Snapshot(self.layout, self._index.searcher())
