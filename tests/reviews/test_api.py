"""Reviews through HTTP: only after settlement, one per side, sealed until both sides have
written or 14 days have passed, final once shown, hidden by operators, counted in the
profile."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Scope
from app.models.catalog import CatalogHistory, HistoryAction
from tests import builders
from tests.deals.conftest import funded_deal, post
from tests.reviews.conftest import (
    Cast,
    created_deal,
    review,
    review_count,
    settled_days_ago,
    settled_deal,
    written,
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _deal_reviews(
    client: AsyncClient, deal_id: str, actor: builders.Actor
) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/deals/{deal_id}/reviews", headers=actor.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return list(answer.json()["items"])


async def _public(client: AsyncClient, organization_id: uuid.UUID, **params: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/organizations/{organization_id}/reviews", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _profile(client: AsyncClient, organization_id: uuid.UUID) -> tuple[int, int | None]:
    answer = await client.get(f"/v1/organizations/{organization_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["rating_count"], answer.json()["rating_average_tenths"]


# --- only after settlement, once per side --------------------------------------------------


async def test_reviews_wait_for_settlement(client: AsyncClient, cast: Cast) -> None:
    created = await created_deal(client, cast)
    refused = await review(client, created["id"], cast.buyer)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "deal_not_settled"

    funded = await post(client, f"/v1/deals/{created['id']}/fund", cast.operator)
    assert funded.status_code == 200, funded.text
    assert (await review(client, created["id"], cast.seller)).json()["code"] == "deal_not_settled"

    # cancelled without ever being paid: never through escrow
    other = await created_deal(client, cast)
    cancelled = await post(client, f"/v1/deals/{other['id']}/cancel", cast.buyer)
    assert cancelled.status_code == 200, cancelled.text
    assert (await review(client, other["id"], cast.buyer)).json()["code"] == "deal_not_settled"

    settled = await post(client, f"/v1/deals/{created['id']}/settle", cast.operator)
    assert settled.status_code == 200, settled.text
    mine = await written(client, created["id"], cast.buyer, 4, "  交付及时  ")
    assert mine["side"] == "buyer"
    assert mine["rating"] == 4
    assert mine["text"] == "交付及时"
    assert mine["reviewer_id"] == str(cast.market.buyer_org.id)
    assert mine["reviewee_id"] == str(cast.market.seller_org.id)


async def test_a_refunded_deal_is_not_reviewed(client: AsyncClient, cast: Cast) -> None:
    funded = await funded_deal(client, cast.market)
    refunded = await post(client, f"/v1/deals/{funded['id']}/refund", cast.operator)
    assert refunded.status_code == 200, refunded.text
    assert (await review(client, funded["id"], cast.buyer)).json()["code"] == "deal_not_settled"


async def test_each_side_reviews_once(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    await written(client, deal["id"], cast.buyer, 5)
    again = await review(client, deal["id"], cast.buyer, 1, "再评一次")
    assert again.status_code == 409
    assert again.json()["code"] == "review_exists"

    # a program of the buyer is the same side
    key = await builders.api_key_actor(
        session, organization=cast.market.buyer_org, scopes=[Scope.deals_write]
    )
    assert (await review(client, deal["id"], key, 2)).json()["code"] == "review_exists"

    seller = await written(client, deal["id"], cast.seller, 4)
    assert seller["side"] == "seller"
    assert seller["reviewee_id"] == str(cast.market.buyer_org.id)
    assert (await review(client, deal["id"], cast.seller)).json()["code"] == "review_exists"
    assert await review_count(session) == 2


async def test_an_api_key_needs_deals_write(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    reader = await builders.api_key_actor(
        session, organization=cast.market.seller_org, scopes=[Scope.catalog_write]
    )
    refused = await review(client, deal["id"], reader)
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing_scope"
    writer = await builders.api_key_actor(
        session, organization=cast.market.seller_org, scopes=[Scope.deals_write]
    )
    assert (await written(client, deal["id"], writer))["side"] == "seller"


async def test_outsiders_and_staff(client: AsyncClient, session: AsyncSession, cast: Cast) -> None:
    deal = await settled_deal(client, cast)
    await written(client, deal["id"], cast.buyer)

    outsider = await review(client, deal["id"], cast.outsider)
    assert outsider.status_code == 404
    assert outsider.json()["code"] == "not_found"
    listing = await client.get(f"/v1/deals/{deal['id']}/reviews", headers=cast.outsider.headers)
    assert listing.status_code == 404

    anonymous = await client.post(
        f"/v1/deals/{deal['id']}/reviews", json={"rating": 5, "text": "好"}
    )
    assert anonymous.status_code == 401
    assert (await client.get(f"/v1/deals/{deal['id']}/reviews")).status_code == 401

    operator = await review(client, deal["id"], cast.operator)
    assert operator.status_code == 403
    assert operator.json()["code"] == "not_a_party"
    auditor = await review(client, deal["id"], cast.auditor)
    assert auditor.status_code == 403

    unknown = await review(client, str(uuid.uuid4()), cast.buyer)
    assert unknown.status_code == 404
    assert await review_count(session) == 1

    # staff and auditors read the sealed review
    assert len(await _deal_reviews(client, deal["id"], cast.auditor)) == 1
    assert len(await _deal_reviews(client, deal["id"], cast.operator)) == 1


# --- sealed until both sides or 14 days ----------------------------------------------------


async def test_a_review_is_sealed_until_the_other_side_writes(
    client: AsyncClient, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    seller_org = cast.market.seller_org.id
    mine = await written(client, deal["id"], cast.buyer, 5, "技术资料完整")
    assert mine["shown"] is False
    assert _at(mine["shows_at"]) == _at(deal["closed_at"]) + timedelta(days=14)

    assert await _deal_reviews(client, deal["id"], cast.seller) == []
    own = await _deal_reviews(client, deal["id"], cast.buyer)
    assert [r["id"] for r in own] == [mine["id"]]
    assert (await _public(client, seller_org))["items"] == []
    assert await _profile(client, seller_org) == (0, None)

    theirs = await written(client, deal["id"], cast.seller, 3, "付款及时")
    assert theirs["shown"] is True
    assert _at(theirs["shows_at"]) == _at(theirs["created_at"])

    seen_by_seller = await _deal_reviews(client, deal["id"], cast.seller)
    assert {r["id"] for r in seen_by_seller} == {mine["id"], theirs["id"]}
    assert all(r["shown"] for r in seen_by_seller)
    buyers = next(r for r in seen_by_seller if r["id"] == mine["id"])
    assert _at(buyers["shows_at"]) == _at(theirs["created_at"])

    public = await _public(client, seller_org)
    assert [r["id"] for r in public["items"]] == [mine["id"]]
    assert await _profile(client, seller_org) == (1, 50)
    assert await _profile(client, cast.market.buyer_org.id) == (1, 30)


async def test_a_review_shows_14_days_after_settlement(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    seller_org = cast.market.seller_org.id
    mine = await written(client, deal["id"], cast.buyer, 2)

    await settled_days_ago(session, deal["id"], 13.9)
    assert await _deal_reviews(client, deal["id"], cast.seller) == []
    assert await _profile(client, seller_org) == (0, None)

    await settled_days_ago(session, deal["id"], 0.2)  # now 14.1 days ago
    seen = await _deal_reviews(client, deal["id"], cast.seller)
    assert [r["id"] for r in seen] == [mine["id"]]
    assert seen[0]["shown"] is True
    assert [r["id"] for r in (await _public(client, seller_org))["items"]] == [mine["id"]]
    assert await _profile(client, seller_org) == (1, 20)

    locked = await client.patch(
        f"/v1/reviews/{mine['id']}", headers=cast.buyer.headers, json={"rating": 5}
    )
    assert locked.status_code == 409
    assert locked.json()["code"] == "review_locked"

    # a review written later than 14 days shows at once
    late = await written(client, deal["id"], cast.seller, 4)
    assert late["shown"] is True


# --- editing until it shows ----------------------------------------------------------------


async def test_the_author_edits_until_the_review_shows(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    mine = await written(client, deal["id"], cast.buyer, 2, "初稿")
    path = f"/v1/reviews/{mine['id']}"

    # the other side cannot even see it yet
    assert (
        await client.patch(path, headers=cast.seller.headers, json={"rating": 1})
    ).status_code == 404
    assert (
        await client.patch(path, headers=cast.outsider.headers, json={"rating": 1})
    ).status_code == 404

    edited = await client.patch(
        path, headers=cast.buyer.headers, json={"rating": 4, "text": "定稿"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["rating"], edited.json()["text"]) == (4, "定稿")
    null = await client.patch(path, headers=cast.buyer.headers, json={"rating": None})
    assert null.status_code == 422

    await written(client, deal["id"], cast.seller, 5)
    locked = await client.patch(path, headers=cast.buyer.headers, json={"text": "改口"})
    assert locked.status_code == 409
    assert locked.json()["code"] == "review_locked"
    not_author = await client.patch(path, headers=cast.seller.headers, json={"rating": 1})
    assert not_author.status_code == 403
    assert not_author.json()["code"] == "not_author"

    [final] = [
        r for r in await _deal_reviews(client, deal["id"], cast.seller) if r["id"] == mine["id"]
    ]
    assert (final["rating"], final["text"]) == (4, "定稿")
    history = (
        await session.scalars(
            select(CatalogHistory)
            .where(CatalogHistory.item_id == uuid.UUID(mine["id"]))
            .order_by(CatalogHistory.version)
        )
    ).all()
    assert [(h.action, h.version) for h in history] == [
        (HistoryAction.create, 1),
        (HistoryAction.update, 2),
    ]
    assert history[1].changes == {"rating": [2, 4], "text": ["初稿", "定稿"]}


# --- operators hide abuse ------------------------------------------------------------------


async def test_operators_hide_and_unhide_with_a_reason(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    deal = await settled_deal(client, cast)
    seller_org = cast.market.seller_org.id
    abusive = await written(client, deal["id"], cast.buyer, 1, "骗子公司")
    await written(client, deal["id"], cast.seller, 5)
    assert await _profile(client, seller_org) == (1, 10)
    path = f"/v1/reviews/{abusive['id']}"

    member = await client.post(f"{path}/hide", headers=cast.seller.headers, json={"reason": "x"})
    assert member.status_code == 403
    assert member.json()["code"] == "forbidden_role"
    no_reason = await client.post(
        f"{path}/hide", headers=cast.operator.headers, json={"reason": ""}
    )
    assert no_reason.status_code == 422

    hidden = await client.post(
        f"{path}/hide", headers=cast.operator.headers, json={"reason": "辱骂"}
    )
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["hidden"], hidden.json()["hidden_reason"]) == (True, "辱骂")
    again = await client.post(
        f"{path}/hide", headers=cast.operator.headers, json={"reason": "再藏"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"

    assert (await _public(client, seller_org))["items"] == []
    assert await _profile(client, seller_org) == (0, None)
    assert abusive["id"] not in {
        r["id"] for r in await _deal_reviews(client, deal["id"], cast.seller)
    }
    [own] = [
        r for r in await _deal_reviews(client, deal["id"], cast.buyer) if r["id"] == abusive["id"]
    ]
    assert (own["hidden"], own["hidden_reason"]) == (True, "辱骂")

    shown = await client.post(f"{path}/unhide", headers=cast.operator.headers)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["hidden"], shown.json()["hidden_reason"]) == (False, None)
    assert await _profile(client, seller_org) == (1, 10)
    assert (await client.post(f"{path}/unhide", headers=cast.operator.headers)).status_code == 409

    history = (
        await session.scalars(
            select(CatalogHistory)
            .where(CatalogHistory.item_id == uuid.UUID(abusive["id"]))
            .order_by(CatalogHistory.version)
        )
    ).all()
    assert [(h.action, h.changes) for h in history[1:]] == [
        (HistoryAction.hide, {"hidden_reason": [None, "辱骂"]}),
        (HistoryAction.unhide, {"hidden_reason": ["辱骂", None]}),
    ]
    assert cast.operator.user is not None
    assert history[1].actor_id == cast.operator.user.id


# --- the profile's rating ------------------------------------------------------------------


async def test_profile_rating_over_shown_unhidden_reviews(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    seller_org = cast.market.seller_org.id
    # the seller receives 5, 4, 4 that show (by both sides, or 14 days) ...
    for rating in (5, 4):
        deal = await settled_deal(client, cast)
        await written(client, deal["id"], cast.buyer, rating)
        await written(client, deal["id"], cast.seller, 3)
    aged = await settled_deal(client, cast)
    await written(client, aged["id"], cast.buyer, 4)
    await settled_days_ago(session, aged["id"], 15)
    # ... a 1 that is still sealed, and a 1 an operator hid
    sealed = await settled_deal(client, cast)
    await written(client, sealed["id"], cast.buyer, 1)
    hidden = await settled_deal(client, cast)
    abusive = await written(client, hidden["id"], cast.buyer, 1)
    await written(client, hidden["id"], cast.seller, 3)
    answer = await client.post(
        f"/v1/reviews/{abusive['id']}/hide", headers=cast.operator.headers, json={"reason": "刷分"}
    )
    assert answer.status_code == 200, answer.text

    # (5 + 4 + 4) / 3 = 4.333… → 43 tenths; the buyer got 3, 3, 3 → 30
    assert await _profile(client, seller_org) == (3, 43)
    assert await _profile(client, cast.market.buyer_org.id) == (3, 30)
    assert await _profile(client, cast.outsider.organization.id) == (0, None)  # type: ignore[union-attr]

    # half a tenth rounds up: (5 + 4 + 4 + 4) / 4 = 4.25 → 43; add a 5: 22 / 5 = 4.4 → 44
    extra = await settled_deal(client, cast)
    await written(client, extra["id"], cast.buyer, 4)
    await written(client, extra["id"], cast.seller, 3)
    assert await _profile(client, seller_org) == (4, 43)
    extra = await settled_deal(client, cast)
    await written(client, extra["id"], cast.buyer, 5)
    await written(client, extra["id"], cast.seller, 3)
    assert await _profile(client, seller_org) == (5, 44)


async def test_rounding_half_up(client: AsyncClient, cast: Cast) -> None:
    seller_org = cast.market.seller_org.id
    for rating in (5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5):
        deal = await settled_deal(client, cast)
        await written(client, deal["id"], cast.buyer, rating)
        await written(client, deal["id"], cast.seller, 5)
    # 82 / 20 = 4.10 exactly; the buyer's 100 / 20 = 5.0
    assert await _profile(client, seller_org) == (20, 41)
    assert await _profile(client, cast.market.buyer_org.id) == (20, 50)


# --- the public list -----------------------------------------------------------------------


async def test_public_list_newest_first_by_cursor(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    seller_org = cast.market.seller_org.id
    ids = []
    for rating in (3, 4, 5):
        deal = await settled_deal(client, cast)
        ids.append((await written(client, deal["id"], cast.buyer, rating))["id"])
        await written(client, deal["id"], cast.seller, 5)
    first = await _public(client, seller_org, limit="2")
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    assert first["next_cursor"]
    second = await _public(client, seller_org, limit="2", cursor=first["next_cursor"])
    assert [r["id"] for r in second["items"]] == ids[:1]
    assert second["next_cursor"] is None
    assert all(r["hidden_reason"] is None and r["shown"] for r in first["items"])

    bad = await client.get(f"/v1/organizations/{seller_org}/reviews", params={"cursor": "junk"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"
    missing = await client.get(f"/v1/organizations/{uuid.uuid4()}/reviews")
    assert missing.status_code == 404
    too_many = await client.get(f"/v1/organizations/{seller_org}/reviews", params={"limit": "0"})
    assert too_many.status_code == 422


# --- invalid input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0, "text": "好"},
        {"rating": 6, "text": "好"},
        {"rating": -1, "text": "好"},
        {"rating": 4.5, "text": "好"},
        {"rating": "五", "text": "好"},
        {"rating": 5, "text": ""},
        {"rating": 5, "text": "   "},
        {"rating": 5, "text": "a\x00b"},
        {"rating": 5, "text": "长" * 5001},
        {"rating": 5},
        {"text": "好"},
        {"rating": 5, "text": "好", "side": "seller"},
        [],
        None,
    ],
)
async def test_invalid_reviews_write_nothing(
    client: AsyncClient, session: AsyncSession, cast: Cast, body: object
) -> None:
    deal = await settled_deal(client, cast)
    answer = await client.post(
        f"/v1/deals/{deal['id']}/reviews", headers=cast.buyer.headers, json=body
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "validation_error"
    assert await review_count(session) == 0


async def test_invalid_edits_change_nothing(client: AsyncClient, cast: Cast) -> None:
    deal = await settled_deal(client, cast)
    mine = await written(client, deal["id"], cast.buyer, 3, "原文")
    for body in ({"rating": 0}, {"rating": 6}, {"text": ""}, {"deal_id": str(uuid.uuid4())}):
        answer = await client.patch(
            f"/v1/reviews/{mine['id']}", headers=cast.buyer.headers, json=body
        )
        assert answer.status_code == 422, (body, answer.text)
    [own] = await _deal_reviews(client, deal["id"], cast.buyer)
    assert (own["rating"], own["text"]) == (3, "原文")
    unknown = await client.patch(
        f"/v1/reviews/{uuid.uuid4()}", headers=cast.buyer.headers, json={"rating": 3}
    )
    assert unknown.status_code == 404
    not_a_uuid = await client.post(
        "/v1/reviews/123/hide", headers=cast.operator.headers, json={"reason": "x"}
    )
    assert not_a_uuid.status_code == 422
