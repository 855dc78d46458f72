"""The ledger's driver SQL names only columns its tables have.

The statements of ``posting`` and ``rollup`` are built from the tables at import time, so a
renamed column already fails there; what is written by hand around them (``ORDER BY random()
… SKIP LOCKED``, ``RETURNING (SELECT …)``) and the settlements predicate of the models (the
partial index's and the rebuild's filter, text because the planner must see constants) are
checked here against the metadata."""

import re

from app.models.base import Base
from app.models.ledger import SETTLEMENTS_PREDICATE, JournalEntry
from app.services.ledger import posting, rollup

SQL_WORDS = {
    "and", "as", "by", "conflict", "do", "excluded", "for", "from", "insert", "into", "limit",
    "locked", "not", "null", "on", "or", "order", "random", "returning", "select", "set",
    "skip", "update", "values", "where",
}  # fmt: skip


def names_in(sql: str) -> set[str]:
    """The identifiers of a statement: its words less string literals, parameters, keywords."""
    bare = re.sub(r"'[^']*'|\$\d+", " ", sql)
    return {word.lower() for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", bare)} - SQL_WORDS


def known_names() -> set[str]:
    tables = Base.metadata.tables.values()
    return {table.name for table in tables} | {c.name for table in tables for c in table.columns}


def test_the_settlements_predicate_names_columns_of_the_entries() -> None:
    assert names_in(SETTLEMENTS_PREDICATE) == {"kind", "volume_fen"}
    assert names_in(SETTLEMENTS_PREDICATE) <= set(JournalEntry.__table__.c.keys())


def test_every_driver_statement_names_tables_and_columns_of_the_models() -> None:
    statements = [
        posting._FREE_CHAIN,
        posting._ONE_CHAIN,
        posting._ONE_CHAIN_LOCKED,
        posting._INSERT_ENTRY,
        posting._INSERT_POSTINGS(3),
        posting._ADVANCE_HEAD,
        posting._ADD_TO_BALANCES(3),
        rollup._ADD_TO_DEALS(4),
        rollup._ADD_TO_BUYERS(8),
        rollup._ADD_TO_TOTALS(16),
    ]
    known = known_names()
    for sql in statements:
        assert names_in(sql) <= known, sql
    # the checker itself sees a name the models lack
    assert not names_in("SELECT chain, last_sequence FROM ledger_chains") <= known


def test_the_text_is_the_one_the_driver_caches() -> None:
    """Statement text is the key of asyncpg's prepared-statement cache: one text per shape."""
    assert posting._INSERT_POSTINGS(2) is posting._INSERT_POSTINGS(2)
    assert posting._ADVANCE_HEAD == (
        "UPDATE ledger_chains SET last_seq = $1, last_hash = $2 WHERE chain = $3"
        " RETURNING (SELECT zone FROM ledger_totals_state)"
    )
    assert posting._ADD_TO_BALANCES(2) == (
        "INSERT INTO ledger_balances (account_id, shard, balance_fen) VALUES ($1, $2, $3),"
        " ($4, $5, $6) ON CONFLICT (account_id, shard) DO UPDATE SET"
        " balance_fen = ledger_balances.balance_fen + excluded.balance_fen"
    )
