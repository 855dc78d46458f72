"""Reviews of the seeded deals (issue 15): most settled deals are reviewed, mostly by both
sides, some by one; ratings lean positive, as on any marketplace whose parties chose each
other. Rows go in as the deals' rows do (``bulk.copy_rows``), with the rules of
:mod:`app.services.reviews` kept by construction: only settled deals, one review per side, each
written after its deal settled and before the seed's end of May 2020 (reviews the parties
would write later are not written yet). Whether a review shows is derived when it is read."""

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.demo.deals import SEED_ACTOR, PlannedDeal
from app.demo.plan import AS_OF
from app.demo.rows import Progress
from app.demo.text import new_id
from app.models.deals import DealStatus
from app.models.reviews import Review, ReviewSide

#: Stars and how often they are given.
RATING_WEIGHTS = {5: 52, 4: 31, 3: 11, 2: 4, 1: 2}

# What a buyer says of its seller (the technology and its delivery), and a seller of its buyer
# (payment and cooperation), by rating: 5–4 praise, 3 mixed, 2–1 complaints.
_BUYER_SAYS = {
    "good": (
        "技术资料完整, 交付及时, 现场调试配合顺畅。",
        "成果转化效果超出预期, 产线良品率明显提升。",
        "专家团队响应迅速, 技术培训细致到位。",
        "合同履约规范, 知识产权权属清晰, 值得长期合作。",
        "样机性能指标全部达标, 后续服务有保障。",
    ),
    "mixed": (
        "技术方案可行, 但交付节点比合同约定晚了两周。",
        "核心指标达到要求, 文档还需进一步完善。",
        "总体满意, 现场支持人员偏少。",
    ),
    "poor": (
        "交付严重延期, 部分技术指标未达到合同约定。",
        "技术资料不完整, 沟通响应慢。",
    ),
}
_SELLER_SAYS = {
    "good": (
        "付款及时, 需求明确, 验收流程高效。",
        "企业技术团队配合积极, 中试条件完备。",
        "对接顺畅, 期待在下一代产品上继续合作。",
        "里程碑验收标准清楚, 合作愉快。",
    ),
    "mixed": (
        "需求中途有调整, 整体配合尚可。",
        "验收周期较长, 付款按约定完成。",
    ),
    "poor": (
        "验收一再拖延, 需求变更频繁。",
        "现场条件与约定不符, 影响了实施进度。",
    ),
}


def _text(rng: random.Random, side: ReviewSide, rating: int) -> str:
    says = _BUYER_SAYS if side is ReviewSide.buyer else _SELLER_SAYS
    tone = "good" if rating >= 4 else "mixed" if rating == 3 else "poor"
    first, *rest = rng.sample(says[tone], k=min(2, len(says[tone])))
    return first + (rest[0] if rest and rng.random() < 0.5 else "")


def _rating(rng: random.Random) -> int:
    return rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]


def plan_reviews(rng: random.Random, planned: list[PlannedDeal]) -> list[dict[str, Any]]:
    """The review rows of the settled deals: about 85 % are reviewed, four in five of those by
    both sides; each written 2 hours to 30 days after the deal settled."""
    rows: list[dict[str, Any]] = []
    for deal in planned:
        if deal.status is not DealStatus.settled:
            continue
        settled_at = deal.times[-1]  # the last release
        draw = rng.random()
        if draw < 0.15:
            sides: tuple[ReviewSide, ...] = ()
        elif draw < 0.32:
            sides = (ReviewSide.buyer,) if rng.random() < 0.65 else (ReviewSide.seller,)
        else:
            sides = (ReviewSide.buyer, ReviewSide.seller)
        for side in sides:
            written_at: datetime = settled_at + timedelta(hours=rng.uniform(2, 30 * 24))
            rating = _rating(rng)
            row_id = new_id(rng)
            text = _text(rng, side, rating)
            if written_at > AS_OF:
                continue
            buyer, seller = deal.buyer.id, deal.seller.id
            rows.append(
                {
                    "id": row_id,
                    "created_at": written_at,
                    "updated_at": written_at,
                    "deal_id": deal.id,
                    "side": side,
                    "reviewer_id": buyer if side is ReviewSide.buyer else seller,
                    "reviewee_id": seller if side is ReviewSide.buyer else buyer,
                    "rating": rating,
                    "written_by": SEED_ACTOR,
                    "version": 1,
                    "hidden_at": None,
                    "hidden_reason": None,
                    "text": text,
                }
            )
    return rows


async def write_reviews(
    session: AsyncSession, *, rng: random.Random, planned: list[PlannedDeal], progress: Progress
) -> int:
    """The settled deals' reviews (after :func:`app.demo.deals.write_deals`); how many."""
    rows = plan_reviews(rng, planned)
    await bulk.copy_rows(session, Review, rows, progress.task("reviews", len(rows)))
    return len(rows)
