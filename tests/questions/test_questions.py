"""Clarification questions through the API: who may ask and when, the asker's anonymity,
which questions each caller reads, answering once, and operators hiding questions."""

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Scope
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.demands import DemandKind
from app.services import demands as demands_service
from tests import builders
from tests.questions.conftest import (
    Stage,
    answer,
    ask,
    asked,
    hide,
    listed,
    questions_path,
)

# --- asking -----------------------------------------------------------------------------------


async def test_a_provider_asks_an_open_demand(client: AsyncClient, stage: Stage) -> None:
    question = await asked(client, stage.demand, stage.provider, "数据平台是否需要私有化部署?")
    assert question["demand_id"] == str(stage.demand.id)
    assert question["text"] == "数据平台是否需要私有化部署?"
    assert question["asked_by_you"] is True
    assert question["asker_organization_id"] is None
    assert (question["answer"], question["answered_at"]) == (None, None)
    assert (question["hidden"], question["hidden_reason"]) == (False, None)


async def test_no_questions_after_the_deadline(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    await builders.pass_deadline(session, stage.demand)
    response = await ask(client, stage.demand, stage.provider)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "illegal_transition"
    assert "deadline" in response.json()["detail"]


async def test_no_questions_about_a_cancelled_demand(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    await demands_service.cancel_demand(
        session,
        principal=builders.principal(),
        demand_id=stage.demand.id,
        reason="需求取消",
        if_match=None,
    )
    await session.commit()
    response = await ask(client, stage.demand, stage.provider)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "illegal_transition"


async def test_the_owner_does_not_ask_about_its_own_demand(
    client: AsyncClient, stage: Stage
) -> None:
    response = await ask(client, stage.demand, stage.owner)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "own_demand"


async def test_asking_needs_credentials(client: AsyncClient, stage: Stage) -> None:
    response = await client.post(questions_path(stage.demand), json={"text": "是否需要现场安装?"})
    assert response.status_code == 401, response.text


async def test_staff_without_an_organization_do_not_ask(client: AsyncClient, stage: Stage) -> None:
    response = await ask(client, stage.demand, stage.operator)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "organization_required"


async def test_a_key_asks_only_with_demands_write(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    reader = await builders.api_key_actor(
        session, organization=stage.provider_org, scopes=[Scope.catalog_write]
    )
    refused = await ask(client, stage.demand, reader)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "missing_scope"
    writer = await builders.api_key_actor(
        session, organization=stage.provider_org, scopes=[Scope.demands_write]
    )
    question = await asked(client, stage.demand, writer)
    assert question["asked_by_you"] is True
    # the key's organization reads its own question through its members too
    assert [q["id"] for q in await listed(client, stage.demand, stage.provider)] == [question["id"]]


async def test_an_invited_only_demand_is_not_found_for_the_uninvited(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    secret = await builders.open_demand(session, stage.owner_org, invited_only=True)
    response = await ask(client, secret, stage.provider)
    assert response.status_code == 404, response.text
    listing = await client.get(questions_path(secret), headers=stage.provider.headers)
    assert listing.status_code == 404, listing.text
    assert (await client.get(questions_path(secret))).status_code == 404

    invited = await client.post(
        f"/v1/demands/{secret.id}/invitations",
        headers=stage.owner.headers,
        json={"organization_id": str(stage.provider_org.id)},
    )
    assert invited.status_code == 201, invited.text
    assert (await ask(client, secret, stage.provider)).status_code == 201
    assert (await ask(client, secret, stage.rival)).status_code == 404


async def test_a_draft_is_not_asked_about(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    draft = await builders.open_demand(session, stage.owner_org, publish=False)
    assert (await ask(client, draft, stage.provider)).status_code == 404
    assert (await client.get(questions_path(str(uuid.uuid4())))).status_code == 404


async def test_question_text_is_bounded(client: AsyncClient, stage: Stage) -> None:
    for text in ("", "   ", "问" * 2001):
        response = await ask(client, stage.demand, stage.provider, text)
        assert response.status_code == 422, (len(text), response.text)
    assert (await ask(client, stage.demand, stage.provider, "问" * 2000)).status_code == 201


# --- anonymity and who reads what -------------------------------------------------------------


async def test_the_asker_is_never_shown_to_other_organizations(
    client: AsyncClient, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider)
    asker = str(stage.provider_org.id)

    owner_view = await client.get(questions_path(stage.demand), headers=stage.owner.headers)
    assert owner_view.status_code == 200
    assert asker not in owner_view.text
    [seen] = owner_view.json()["items"]
    assert (seen["asked_by_you"], seen["asker_organization_id"]) == (False, None)

    answered = await answer(client, stage.demand, question["id"], stage.owner)
    assert answered.status_code == 200, answered.text
    assert asker not in answered.text
    assert answered.json()["asked_by_you"] is False

    for other in (stage.owner, stage.rival):
        view = await client.get(questions_path(stage.demand), headers=other.headers)
        assert asker not in view.text
        assert [q["asked_by_you"] for q in view.json()["items"]] == [False]
    anonymous = await client.get(questions_path(stage.demand))
    assert asker not in anonymous.text

    [own] = await listed(client, stage.demand, stage.provider)
    assert (own["asked_by_you"], own["asker_organization_id"]) == (True, None)

    for staff in (stage.operator, stage.auditor):
        [seen] = await listed(client, stage.demand, staff)
        assert seen["asker_organization_id"] == asker
        assert seen["asked_by_you"] is False


async def test_unanswered_questions_reach_only_the_asker_and_the_owner(
    client: AsyncClient, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider)
    assert await listed(client, stage.demand, stage.rival) == []
    assert await listed(client, stage.demand, None) == []
    assert [q["id"] for q in await listed(client, stage.demand, stage.provider)] == [question["id"]]
    assert [q["id"] for q in await listed(client, stage.demand, stage.owner)] == [question["id"]]
    assert [q["id"] for q in await listed(client, stage.demand, stage.auditor)] == [question["id"]]

    assert (
        await answer(client, stage.demand, question["id"], stage.owner, "需要")
    ).status_code == 200
    for reader in (stage.rival, None, stage.provider, stage.owner):
        [seen] = await listed(client, stage.demand, reader)
        assert (seen["id"], seen["answer"]) == (question["id"], "需要")
        assert seen["answered_at"] is not None


async def test_questions_page_oldest_first(client: AsyncClient, stage: Stage) -> None:
    ids = [(await asked(client, stage.demand, stage.provider, f"问题 {n}"))["id"] for n in range(3)]
    first = await client.get(
        questions_path(stage.demand), headers=stage.owner.headers, params={"limit": 2}
    )
    assert [q["id"] for q in first.json()["items"]] == ids[:2]
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get(
        questions_path(stage.demand),
        headers=stage.owner.headers,
        params={"limit": 2, "cursor": cursor},
    )
    assert [q["id"] for q in second.json()["items"]] == ids[2:]
    assert second.json()["next_cursor"] is None


# --- answering --------------------------------------------------------------------------------


async def test_only_the_owner_answers_and_only_once(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider)
    for outsider in (stage.provider, stage.rival):
        refused = await answer(client, stage.demand, question["id"], outsider)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "not_owner"
    reader_key = await builders.api_key_actor(
        session, organization=stage.owner_org, scopes=[Scope.catalog_write]
    )
    refused = await answer(client, stage.demand, question["id"], reader_key)
    assert refused.json()["code"] == "missing_scope"

    answered = await answer(client, stage.demand, question["id"], stage.owner, "传感器由我方提供")
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == "传感器由我方提供"
    assert answered.json()["answered_at"] is not None

    again = await answer(client, stage.demand, question["id"], stage.owner, "改口")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "illegal_transition"
    [seen] = await listed(client, stage.demand, stage.rival)
    assert seen["answer"] == "传感器由我方提供"


async def test_answers_continue_after_the_deadline_but_not_after_cancelling(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    early = await asked(client, stage.demand, stage.provider, "早问")
    await builders.pass_deadline(session, stage.demand)
    answered = await answer(client, stage.demand, early["id"], stage.owner, "截止后作答")
    assert answered.status_code == 200, answered.text
    assert [q["answer"] for q in await listed(client, stage.demand, stage.rival)] == ["截止后作答"]

    other = await builders.open_demand(session, stage.owner_org)
    pending = await asked(client, other, stage.provider)
    await demands_service.cancel_demand(
        session, principal=builders.principal(), demand_id=other.id, reason="取消", if_match=None
    )
    await session.commit()
    refused = await answer(client, other, pending["id"], stage.owner)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "illegal_transition"


async def test_a_question_is_answered_on_its_own_demand_only(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider)
    other = await builders.open_demand(session, stage.owner_org)
    assert (await answer(client, other, question["id"], stage.owner)).status_code == 404
    assert (await answer(client, stage.demand, str(uuid.uuid4()), stage.owner)).status_code == 404


# --- hiding -----------------------------------------------------------------------------------


async def test_operators_hide_a_question_from_everyone_but_staff(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider, "请加微信 abc123 详谈")
    kept = await asked(client, stage.demand, stage.rival, "验收标准?")
    assert (await answer(client, stage.demand, question["id"], stage.owner)).status_code == 200
    assert (await answer(client, stage.demand, kept["id"], stage.owner)).status_code == 200

    for outsider in (stage.owner, stage.provider, stage.auditor):
        refused = await hide(client, stage.demand, question["id"], outsider)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "forbidden_role"

    hidden = await hide(client, stage.demand, question["id"], stage.operator, "含联系方式")
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["hidden"], hidden.json()["hidden_reason"]) == (True, "含联系方式")

    for reader in (stage.owner, stage.provider, stage.rival, None):
        assert [q["id"] for q in await listed(client, stage.demand, reader)] == [kept["id"]]
    for staff in (stage.operator, stage.auditor):
        seen = {q["id"]: q for q in await listed(client, stage.demand, staff)}
        assert seen[question["id"]]["hidden"] is True
        assert seen[question["id"]]["hidden_reason"] == "含联系方式"
        assert seen[kept["id"]]["hidden"] is False

    again = await hide(client, stage.demand, question["id"], stage.operator)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "illegal_transition"

    history = (
        await session.scalars(
            select(CatalogHistory).where(
                CatalogHistory.catalog == demands_service.SPEC.name,
                CatalogHistory.item_id == stage.demand.id,
                CatalogHistory.action == HistoryAction.hide,
            )
        )
    ).all()
    assert len(history) == 1
    assert history[0].changes == {
        "question_id": [None, question["id"]],
        "hidden_reason": [None, "含联系方式"],
    }
    assert history[0].actor_id == stage.operator.user.id  # type: ignore[union-attr]


async def test_a_hidden_question_is_gone_for_its_owner_to_answer(
    client: AsyncClient, stage: Stage
) -> None:
    question = await asked(client, stage.demand, stage.provider)
    assert (await hide(client, stage.demand, question["id"], stage.operator)).status_code == 200
    refused = await answer(client, stage.demand, question["id"], stage.owner)
    assert refused.status_code == 404, refused.text
    assert await listed(client, stage.demand, stage.provider) == []


async def test_hiding_needs_a_reason(client: AsyncClient, stage: Stage) -> None:
    question = await asked(client, stage.demand, stage.provider)
    path = f"{questions_path(stage.demand)}/{question['id']}/hide"
    for body in ({}, {"reason": ""}, {"reason": "理" * 501}):
        response = await client.post(path, headers=stage.operator.headers, json=body)
        assert response.status_code == 422, response.text


async def test_a_challenge_takes_questions_like_any_demand(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    challenge = await builders.open_demand(session, stage.owner_org, kind=DemandKind.challenge)
    question = await asked(client, challenge, stage.rival, "揭榜条件是否包括联合体?")
    assert (await answer(client, challenge, question["id"], stage.owner, "可以")).status_code == 200
    assert [q["answer"] for q in await listed(client, challenge, None)] == ["可以"]
