"""The filter algebra's constructors (app/core/filters.py); what filters mean is tested where
they run, against SQL and the search index (tests/catalog/test_search_index.py)."""

from app.core import filters
from app.core.filters import AllOf, Everything, OneOf, Range


def test_a_conjunction_leaves_out_nothing_everything_and_repeats() -> None:
    public = OneOf("status", ("published",))
    recent = Range("trl", low=5)
    assert filters.all_of() == Everything()
    assert filters.all_of(None, Everything()) == Everything()
    assert filters.all_of(public, None, OneOf("status", ("published",))) == public
    assert filters.all_of(public, recent, public, Everything(), recent) == AllOf((public, recent))


def test_a_conjunction_keeps_parts_that_differ_in_any_value() -> None:
    one, other = OneOf("status", ("published",)), OneOf("status", ("published", "draft"))
    assert filters.all_of(one, other) == AllOf((one, other))
    assert (
        filters.matches(filters.all_of(one, other), type("Row", (), {"status": "draft"})) is False
    )
