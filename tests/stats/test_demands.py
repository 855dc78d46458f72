"""/v1/stats/overview's demand figures: demands opened and open, open challenges, live
proposals and deals born of an award, each as of any moment, read from timestamps."""

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP
from app.models.deals import ContractCategory, Deal
from app.models.demands import Demand, DemandKind, Proposal, ProposalStatus
from app.models.orgs import Organization, OrganizationKind
from app.services import deals as deals_service
from app.services import demands as demands_service
from app.services.proposals import content_hash, proposal_content
from tests import builders

DEMAND_FIGURES = (
    "demands_total",
    "demands_open",
    "challenges_open",
    "proposals_total",
    "deals_from_demands",
)


async def _figures(client: AsyncClient, as_of: datetime | None = None) -> dict[str, int]:
    params = {"as_of": as_of.astimezone(UTC).isoformat()} if as_of is not None else {}
    response = await client.get("/v1/stats/overview", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return {name: body[name] for name in DEMAND_FIGURES}


async def _propose(
    session: AsyncSession,
    demand: Demand,
    organization: Organization,
    *,
    price: int = 20_000_000,
    withdrawn: bool = False,
) -> Proposal:
    """A proposal written as the proposals service records one (committed)."""
    content = proposal_content(
        price=price, timeline_days=90, plan="现场调研后提交监测方案", milestones=[], solution=None
    )
    now = utcnow()
    proposal = Proposal(
        demand_id=demand.id,
        organization_id=organization.id,
        status=ProposalStatus.withdrawn if withdrawn else ProposalStatus.submitted,
        price=price,
        timeline_days=90,
        revision=1,
        content_hash=content_hash(content),
        created_at=now,
        submitted_at=now,
        withdrawn_at=utcnow() if withdrawn else None,
        created_by="user:test",
        milestones=[],
        plan=content["plan"],
    )
    session.add(proposal)
    await session.commit()
    return proposal


async def _award(
    session: AsyncSession, demand: Demand, proposal: Proposal, seller: Organization
) -> Deal:
    """The award's rows: the demand awarded (its service half) and the deal it opens."""
    await demands_service.mark_awarded(
        session, demand, principal=builders.principal(), proposal_id=proposal.id
    )
    values: dict[str, Any] = deals_service.new_deal_values(
        buyer_id=demand.owner_id,
        seller_id=seller.id,
        technology_id=None,
        demand_id=demand.id,
        category=ContractCategory.development,
        title=demand.title,
        terms=None,
        gross_fen=proposal.price,
        fee_rate_bp=DEFAULT_FEE_RATE_BP,
        tax_rate_bp=DEFAULT_TAX_RATE_BP,
        created_by="user:test",
    )
    deal = Deal(**values)
    session.add(deal)
    await session.flush()
    proposal.status, proposal.deal_id = ProposalStatus.awarded, deal.id
    await session.commit()
    return deal


async def test_demand_figures_follow_the_demands_life_as_of_each_moment(
    client: AsyncClient, session: AsyncSession
) -> None:
    empty = await _figures(client)
    assert empty == dict.fromkeys(DEMAND_FIGURES, 0)
    owner = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    institute = await builders.create_organization(
        session, kind=OrganizationKind.research_institute
    )
    before = utcnow()

    draft = await builders.open_demand(session, owner, publish=False)
    technology = await builders.open_demand(session, owner)
    challenge = await builders.open_demand(session, owner, kind=DemandKind.challenge)
    cancelled = await builders.open_demand(session, owner, kind=DemandKind.service)
    unsuccessful = await builders.open_demand(session, owner, kind=DemandKind.financing)
    awarded = await builders.open_demand(session, owner, kind=DemandKind.challenge)
    hidden = await builders.open_demand(session, owner, kind=DemandKind.talent)
    await _propose(session, technology, university)
    await _propose(session, technology, institute)
    await _propose(session, unsuccessful, university)
    await _propose(session, cancelled, university, withdrawn=True)
    winner = await _propose(session, awarded, institute)
    await _propose(session, awarded, university)
    all_open = utcnow()
    assert draft.published_at is None

    # Three of the six opened demands end, one is hidden; a seventh proposal comes in.
    await demands_service.cancel_demand(
        session, principal=builders.principal(), demand_id=cancelled.id, reason="项目取消",
        if_match=None,
    )  # fmt: skip
    await session.commit()
    await builders.pass_deadline(session, unsuccessful)
    await demands_service.close_unsuccessful(
        session, principal=builders.principal(), demand_id=unsuccessful.id, reason=None,
        if_match=None,
    )  # fmt: skip
    await session.commit()
    await builders.pass_deadline(session, awarded)
    await _award(session, awarded, winner, institute)
    await demands_service.moderate_demand(
        session, principal=builders.principal(), demand_id=hidden.id, hide=True, reason="重复发布"
    )
    await session.commit()
    await _propose(session, challenge, university)
    now = utcnow()

    assert await _figures(client, before) == dict.fromkeys(DEMAND_FIGURES, 0)
    assert await _figures(client, all_open) == {
        "demands_total": 6,  # not the draft
        "demands_open": 6,
        "challenges_open": 2,
        "proposals_total": 5,  # the withdrawn one never counts: withdrawn before `all_open`
        "deals_from_demands": 0,
    }
    expected_now = {
        "demands_total": 5,  # the hidden one no longer
        "demands_open": 2,  # technology and challenge: the rest ended
        "challenges_open": 1,
        "proposals_total": 6,
        "deals_from_demands": 1,
    }
    assert await _figures(client, now) == expected_now
    assert await _figures(client) == expected_now

    # A day that ended before any of it (as_of as a day: its end, platform time zone).
    response = await client.get("/v1/stats/overview", params={"as_of": "2020-05-31"})
    assert {name: response.json()[name] for name in DEMAND_FIGURES} == dict.fromkeys(
        DEMAND_FIGURES, 0
    )


async def test_a_demand_counts_open_until_its_deadline_passes(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    demand = await builders.open_demand(session, owner, kind=DemandKind.challenge)
    opened = utcnow()
    await builders.pass_deadline(session, demand)
    assert demand.current_status.value == "closed"
    closed = await _figures(client)
    assert closed["demands_total"] == 1
    assert closed["demands_open"] == closed["challenges_open"] == 0
    # As of a moment before the deadline, it was open; as of the deadline itself, closed.
    assert (await _figures(client, opened))["challenges_open"] == 1
    assert (await _figures(client, demand.deadline))["demands_open"] == 0
    assert (await _figures(client, demand.deadline - timedelta(microseconds=1)))[
        "demands_open"
    ] == 1


async def test_a_withdrawn_proposal_counted_until_it_was_withdrawn(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    demand = await builders.open_demand(session, owner)
    proposal = await _propose(session, demand, university)
    submitted = utcnow()
    proposal.status, proposal.withdrawn_at = ProposalStatus.withdrawn, utcnow()
    await session.commit()
    assert (await _figures(client, submitted))["proposals_total"] == 1
    assert (await _figures(client, proposal.withdrawn_at))["proposals_total"] == 0
    assert (await _figures(client))["proposals_total"] == 0
