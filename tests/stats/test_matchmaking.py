"""/v1/stats/overview's matchmaking figures: demand–provider pairs shown as a match, and
introductions (a shown provider proposing to the demand afterwards), as of any moment."""

from datetime import UTC, datetime

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from tests import builders
from tests.matching.conftest import buyer, demand, technology
from tests.stats.test_demands import _propose


async def _figures(client: AsyncClient, as_of: datetime | None = None) -> tuple[int, int]:
    params = {"as_of": as_of.astimezone(UTC).isoformat()} if as_of is not None else {}
    body = (await client.get("/v1/stats/overview", params=params)).json()
    return body["matches_shown"], body["introductions"]


async def test_matches_shown_and_introductions(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    enterprise = await buyer(session, settings)
    assert enterprise.organization is not None
    lab1 = await builders.create_organization(session, name="实验室一")
    lab2 = await builders.create_organization(session, name="实验室二")
    lab3 = await builders.create_organization(session, name="实验室三")
    member1 = await builders.actor(session, settings, organization=lab1)
    await technology(session, lab1, "盾构刀盘磨损监测系统")
    await technology(session, lab2, "刀盘磨损检测装置")
    a = await demand(
        session, enterprise.organization, title="盾构刀盘磨损监测", description="隧道施工"
    )
    b = await demand(
        session, enterprise.organization, title="盾构刀盘耐磨涂层", description="延长寿命"
    )
    before = utcnow()
    assert await _figures(client) == (0, 0)

    # lab2 proposes to B before anyone shows it B: not an introduction when shown later
    await _propose(session, b, lab2)
    shown_a = await client.get(f"/v1/demands/{a.id}/matches", headers=enterprise.headers)
    assert {m["reasons"]["owner"]["id"] for m in shown_a.json()["items"]} == {
        str(lab1.id),
        str(lab2.id),
    }
    mine = await client.get(f"/v1/organizations/{lab1.id}/matched-demands", headers=member1.headers)
    assert {m["item"]["id"] for m in mine.json()["items"]} == {str(a.id), str(b.id)}
    shown_b = await client.get(f"/v1/demands/{b.id}/matches", headers=enterprise.headers)
    assert len(shown_b.json()["items"]) == 2
    # shown again: still one pair each
    await client.get(f"/v1/demands/{a.id}/matches", headers=enterprise.headers)
    shown = utcnow()
    # (A, lab1), (A, lab2), (B, lab1), (B, lab2)
    assert await _figures(client) == (4, 0)

    await _propose(session, a, lab1)  # shown A first: an introduction
    await _propose(session, a, lab3)  # never shown A: not one
    await _propose(session, b, lab1, withdrawn=True)  # shown B, proposed, withdrew: still one

    assert await _figures(client) == (4, 2)
    assert await _figures(client, shown) == (4, 0)
    assert await _figures(client, before) == (0, 0)


async def test_the_figures_are_in_the_overview_schema(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    overview = schema["components"]["schemas"]["OverviewRead"]
    assert {"matches_shown", "introductions"} <= set(overview["required"])
