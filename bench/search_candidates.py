"""The search candidates of issue 13, side by side, over the seeded 100,000 policies.

    .venv/bin/python bench/search_candidates.py [--sqlite PATH] [--postgres URL]
        [--repeat 30] [--only NAME ...]

Not the API: each candidate's own query, from one client, each query of the bench's mix
(bench_search.QUERIES, the ones with ``q``) repeated REPEAT times after a warm-up, to see
what a ranked top page and exact facet counts cost in each engine before one is chosen
(docs/decisions.md, "Search at search-engine speed (issue 13)"). Every candidate answers the
same terms (app/core/search.py's bigram tokens: a phrase per CJK run, a prefix for one
character):

- ``pg_gin_newest``   the shipped PostgreSQL path's shape: GIN match, newest first, a page;
- ``pg_gin_rank``     GIN match, ordered by ts_rank_cd (title weighted): every match ranked;
- ``pg_rum_rank``     a RUM index (postgresql-15-rum) on a weighted vector, ordered by its
                      ``<=>`` distance inside the index;
- ``pg_facets``       exact counts by level and category, and the total, over every match;
- ``sqlite_bm25``     FTS5's bm25() (title weighted), every match ranked;
- ``sqlite_facets``   exact counts and the total over every match, joined to the rows;
- ``tantivy_bm25``    an embedded tantivy index (pip install tantivy) fed from the database:
                      BM25 top page, title boosted;
- ``tantivy_facets``  exact counts by level and category through tantivy's terms aggregation.

Prints p50/p99 ms per candidate and query, and writes bench/results/search_candidates.json.
The RUM column and index are made in the PostgreSQL database given (a bench database), once.
The database-side candidates need the databases' own full-text indexes, which migration 0009
dropped when the index moved out of the database: run them against databases migrated to
0008 (``alembic upgrade 0008`` before seeding), as they were measured.
"""

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from bench_results import run_header
from bench_search import QUERIES

from app.core.search import Term, parse_query

RESULTS = Path(__file__).resolve().parent / "results" / "search_candidates.json"
PAGE = 21  # a page of 20 and one more to know there is a next

Runner = Callable[[list[Term]], Awaitable[Any]]


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


def queries() -> list[tuple[str, list[Term]]]:
    seen: dict[str, list[Term]] = {}
    for _, params in QUERIES:
        text = params.get("q")
        if isinstance(text, str) and text not in seen:
            seen[text] = parse_query(text)
    return list(seen.items())


async def measure(run: Runner, terms: list[Term], repeat: int) -> tuple[list[float], Any]:
    answer = await run(terms)  # warm-up, and the answer reported
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await run(terms)
        times.append((time.perf_counter() - start) * 1000)
    return times, answer


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p99": round(p99, 2)}


# --- PostgreSQL ---------------------------------------------------------------------------

RUM_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS rum",
    "ALTER TABLE policies ADD COLUMN IF NOT EXISTS weighted_vector tsvector GENERATED ALWAYS AS"
    " (setweight(to_tsvector('simple', search_title), 'A')"
    " || setweight(to_tsvector('simple', search_body), 'D')) STORED",
    "CREATE INDEX IF NOT EXISTS bench_policies_weighted_rum ON policies"
    " USING rum (weighted_vector rum_tsvector_ops)",
    "ANALYZE policies",
]


async def postgres_candidates(url: str) -> tuple[dict[str, Runner], Callable[[], Awaitable[None]]]:
    pool = await asyncpg.create_pool(url.replace("+asyncpg", ""), min_size=1, max_size=1)
    async with pool.acquire() as connection:
        for statement in RUM_SETUP:
            await connection.execute(statement)

    def run(sql: str, fetch: str = "fetch") -> Runner:
        async def query(terms: list[Term]) -> Any:
            async with pool.acquire() as connection:
                rows = await getattr(connection, fetch)(sql, to_tsquery(terms))
            return len(rows) if isinstance(rows, list) else rows

        return query

    q = "to_tsquery('simple', $1)"
    published = "status = 'published'"
    facets_sql = (
        f"SELECT count(*) AS total, jsonb_object_agg(level, n) AS levels FROM ("
        f" SELECT level, count(*) AS n FROM policies WHERE {published} AND search_vector @@ {q}"
        f" GROUP BY level) AS counted"
    )
    categories_sql = (
        f"SELECT category, count(*) FROM policies WHERE {published} AND search_vector @@ {q}"
        " GROUP BY category ORDER BY 2 DESC LIMIT 50"
    )

    async def facets(terms: list[Term]) -> Any:
        async with pool.acquire() as connection:
            row = await connection.fetchrow(facets_sql, to_tsquery(terms))
            categories = await connection.fetch(categories_sql, to_tsquery(terms))
        levels = json.loads(row["levels"]) if row["levels"] else {}
        return {"total": sum(levels.values()), "categories": len(categories)}

    candidates: dict[str, Runner] = {
        "pg_gin_newest": run(
            f"SELECT id FROM policies WHERE {published} AND search_vector @@ {q}"
            f" ORDER BY created_at DESC, id DESC LIMIT {PAGE}"
        ),
        "pg_gin_rank": run(
            f"SELECT id FROM policies WHERE {published} AND search_vector @@ {q}"
            f" ORDER BY ts_rank_cd(title_vector, {q}) * 4 + ts_rank_cd(search_vector, {q}) DESC,"
            f" created_at DESC LIMIT {PAGE}"
        ),
        "pg_rum_rank": run(
            f"SELECT id FROM policies WHERE {published} AND weighted_vector @@ {q}"
            f" ORDER BY weighted_vector <=> {q} LIMIT {PAGE}"
        ),
        "pg_facets": facets,
    }
    return candidates, pool.close


# --- SQLite -------------------------------------------------------------------------------


def sqlite_candidates(path: str) -> tuple[dict[str, Runner], Callable[[], Awaitable[None]]]:
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA mmap_size = 1073741824")

    def run(sql: str) -> Runner:
        async def query(terms: list[Term]) -> Any:
            return len(connection.execute(sql, (to_fts5(terms),)).fetchall())

        return query

    matches = "SELECT rowid FROM policies_fts WHERE policies_fts MATCH ?"

    async def facets(terms: list[Term]) -> Any:
        expression = to_fts5(terms)
        levels = connection.execute(
            f"SELECT p.level, count(*) FROM policies AS p WHERE p.status = 'published'"
            f" AND p.rowid IN ({matches}) GROUP BY p.level",
            (expression,),
        ).fetchall()
        categories = connection.execute(
            f"SELECT p.category, count(*) FROM policies AS p WHERE p.status = 'published'"
            f" AND p.rowid IN ({matches}) GROUP BY p.category ORDER BY 2 DESC LIMIT 50",
            (expression,),
        ).fetchall()
        return {"total": sum(n for _, n in levels), "categories": len(categories)}

    async def close() -> None:
        connection.close()

    return {
        "sqlite_bm25": run(
            "SELECT p.id FROM policies_fts AS f JOIN policies AS p ON p.rowid = f.rowid"
            " WHERE policies_fts MATCH ? AND p.status = 'published'"
            f" ORDER BY bm25(policies_fts, 4.0, 1.0) LIMIT {PAGE}"
        ),
        "sqlite_facets": facets,
    }, close


# --- tantivy ------------------------------------------------------------------------------


def tantivy_candidates(path: str) -> tuple[dict[str, Runner], Callable[[], Awaitable[None]]]:
    import tantivy  # noqa: PLC0415 (optional: only this candidate needs it)

    directory = tempfile.mkdtemp(prefix="tantivy-")
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("body", tokenizer_name="whitespace")
    builder.add_text_field("level", fast=True, tokenizer_name="raw")
    builder.add_text_field("category", fast=True, tokenizer_name="raw")
    builder.add_integer_field("created", fast=True)
    schema = builder.build()
    index = tantivy.Index(schema, path=directory)
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    started = time.perf_counter()
    source = sqlite3.connect(path)
    rows = source.execute(
        "SELECT id, search_title, search_body, level, coalesce(category, ''),"
        " CAST(strftime('%s', created_at) AS INTEGER) FROM policies WHERE status = 'published'"
    )
    for id_, title, body, level, category, created in rows:
        writer.add_document(
            tantivy.Document(
                id=str(id_), title=title, body=body, level=level, category=category,
                created=created,
            )
        )  # fmt: skip
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    source.close()
    print(f"tantivy: indexed in {time.perf_counter() - started:.1f} s")
    searcher = index.searcher()

    def query_of(terms: list[Term]) -> Any:
        parts = []
        for term in terms:
            per_field = []
            for name, boost in (("title", 4.0), ("body", 1.0)):
                if term.prefix:
                    inner = tantivy.Query.phrase_prefix_query(schema, name, [term.tokens[0]])
                elif len(term.tokens) == 1:
                    inner = tantivy.Query.term_query(schema, name, term.tokens[0])
                else:
                    inner = tantivy.Query.phrase_query(schema, name, list(term.tokens))
                per_field.append((tantivy.Occur.Should, tantivy.Query.boost_query(inner, boost)))
            parts.append((tantivy.Occur.Must, tantivy.Query.boolean_query(per_field)))
        return tantivy.Query.boolean_query(parts)

    async def top(terms: list[Term]) -> Any:
        return len(searcher.search(query_of(terms), PAGE, count=False).hits)

    aggregation = {
        "level": {"terms": {"field": "level", "size": 50}},
        "category": {"terms": {"field": "category", "size": 50}},
    }

    async def facets(terms: list[Term]) -> Any:
        found = searcher.aggregate(query_of(terms), aggregation)
        levels = found["level"]["buckets"]
        return {
            "total": sum(b["doc_count"] for b in levels),
            "categories": len(found["category"]["buckets"]),
        }

    async def close() -> None:
        shutil.rmtree(directory, ignore_errors=True)

    return {"tantivy_bm25": top, "tantivy_facets": facets}, close


# --- the run ------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", default="var/bench/search.db")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()

    candidates: dict[str, Runner] = {}
    closers = []
    for make, source in (
        (postgres_candidates, args.postgres),
        (sqlite_candidates, args.sqlite),
        (tantivy_candidates, args.sqlite),
    ):
        if source:
            found, close = make(source) if make is not postgres_candidates else await make(source)
            candidates.update(found)
            closers.append(close)
    if args.only:
        candidates = {name: run for name, run in candidates.items() if name in args.only}

    results: dict[str, Any] = {"run": run_header(), "repeat": args.repeat, "candidates": {}}
    try:
        for name, run in candidates.items():
            per_query: dict[str, Any] = {}
            every: list[float] = []
            for text, terms in queries():
                times, answer = await measure(run, terms, args.repeat)
                every += times
                per_query[text] = {**summary(times), "answer": answer}
            worst = max(per_query.items(), key=lambda item: item[1]["p50"])
            results["candidates"][name] = {
                "all": summary(every),
                "worst_p50": {"query": worst[0], "ms": worst[1]["p50"]},
                "queries": per_query,
            }
            print(
                f"{name:<16} all p50 {summary(every)['p50']:>7.2f} ms  p99"
                f" {summary(every)['p99']:>8.2f} ms   worst p50 {worst[1]['p50']:>8.2f} ms"
                f" ({worst[0]})"
            )
    finally:
        for close in closers:
            await close()
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
