"""The demo's reviews keep the rules: settled deals only, one per side, written after the
deal settled; most settled deals reviewed, mostly by both sides; ratings lean positive."""

from collections import Counter

from sqlalchemy import select

from app.core.db import Database, create_engine
from app.demo import load
from app.demo.plan import AS_OF, SCALES, ScaleName
from app.models.deals import Deal, DealStatus
from app.models.reviews import Review, ReviewSide
from app.services import reviews as reviews_service


async def test_the_seed_reviews_most_settled_deals(migrated_fresh_database_url: str) -> None:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            await load.seed_database(session, scale=SCALES[ScaleName.small], accounts=False)
        async with database.unit_of_work(write=False) as session:
            deals = {d.id: d for d in (await session.scalars(select(Deal))).all()}
            reviews = list((await session.scalars(select(Review))).all())
            settled = [d for d in deals.values() if d.status is DealStatus.settled]
            sides = Counter((r.deal_id, r.side) for r in reviews)
            assert max(sides.values()) == 1
            per_deal = Counter(r.deal_id for r in reviews)
            assert len(per_deal) >= len(settled) * 0.6
            assert sum(1 for n in per_deal.values() if n == 2) > len(per_deal) / 2
            assert any(n == 1 for n in per_deal.values())
            for review in reviews:
                deal = deals[review.deal_id]
                assert deal.status is DealStatus.settled
                assert deal.closed_at is not None
                assert deal.closed_at < review.created_at <= AS_OF
                buyer_wrote = review.side is ReviewSide.buyer
                assert review.reviewer_id == (deal.buyer_id if buyer_wrote else deal.seller_id)
                assert review.reviewee_id == (deal.seller_id if buyer_wrote else deal.buyer_id)
                assert 1 <= review.rating <= 5
                assert any("\u4e00" <= ch <= "\u9fff" for ch in review.text)
            ratings = [r.rating for r in reviews]
            assert sum(ratings) / len(ratings) > 4.0

            # every seeded review shows by now (2020's deals settled long ago): the profile's
            # rating is the plain mean of what an organization received
            reviewee = Counter(r.reviewee_id for r in reviews).most_common(1)[0][0]
            received = [r.rating for r in reviews if r.reviewee_id == reviewee]
            rating = await reviews_service.rating_of(session, organization_id=reviewee)
            assert rating.count == len(received)
            assert rating.average_tenths == (sum(received) * 20 + len(received)) // (
                2 * len(received)
            )
    finally:
        await database.dispose()
