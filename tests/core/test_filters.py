"""The filter algebra (app/core/filters.py): its constructors, and the Python predicate
against SQL on a real database; the search index against SQL is tested in
tests/catalog/test_search_index.py."""

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.filters import AllOf, Everything, OneOf, Range
from app.models.catalog import CatalogStatus
from app.models.technologies import Technology
from tests import builders


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


async def test_the_python_predicate_decides_as_sql_does(session: AsyncSession) -> None:
    """Every kind of filter, on rows with nulls, empty lists and edge values: the ids SQL
    selects are the ids the compiled predicate (and so ``matches``) passes."""
    owner = await builders.create_organization(session)
    rng = random.Random(14)
    for n in range(40):
        low = rng.choice([None, 100, 500, 1000])
        session.add(
            Technology(
                owner_id=owner.id,
                title=f"技术 {n}",
                trl=rng.randint(1, 9),
                field=rng.choice([None, "新能源", "新材料"]),
                price_min=low,
                price_max=None if low is None or rng.random() < 0.3 else low * 2,
                transfer_modes=rng.sample(["license", "assignment", "equity"], rng.randint(0, 2)),
                tags=[],
                status=rng.choice(list(CatalogStatus)),
                search_title="",
                search_body="",
            )
        )
    await session.commit()
    conditions = [
        filters.Everything(),
        filters.OneOf("field", ("新能源",)),
        filters.OneOf("field", ()),
        filters.Range("trl", low=3, high=6),
        filters.Range("trl", low=3, high=6, low_exclusive=True, high_exclusive=True),
        filters.Range("price_max", low=1000, or_null=True),
        filters.Range("price_min"),
        filters.Has("transfer_modes", "license"),
        filters.Not(filters.OneOf("field", ("新材料",))),
        filters.any_of(filters.Has("transfer_modes", "equity"), filters.Range("trl", high=2)),
        filters.all_of(
            filters.OneOf("status", (CatalogStatus.published, CatalogStatus.draft)),
            filters.overlapping("price_min", "price_max", 600, 900),
        ),
    ]
    rows = list((await session.scalars(select(Technology))).all())
    for condition in conditions:
        by_sql = set(
            (
                await session.scalars(
                    select(Technology.id).where(filters.to_sql(condition, Technology))
                )
            ).all()
        )
        test = filters.predicate(condition)
        assert {row.id for row in rows if test(row)} == by_sql, condition
        assert {row.id for row in rows if filters.matches(condition, row)} == by_sql
