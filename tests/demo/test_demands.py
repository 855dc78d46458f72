"""The demo's demands: every kind and status, closed read from the deadline, deals born of
awards that match their winning proposals, revisions whose hashes recompute, a history and
questions in order, the seed's figures unchanged and the overview's demand figures agreeing
with the rows."""

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from app.core.calendar import utcnow
from app.core.config import DEFAULT_TAX_RATE_BP
from app.core.db import Database, create_engine
from app.demo import load
from app.demo.deals import SEED_ACTOR
from app.demo.demands import AWARD_CATEGORIES, STANDING_DEADLINE
from app.demo.plan import AS_OF, LAUNCH, SCALES, ScaleName
from app.main import create_app
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.deals import Deal, DealStatus
from app.models.demands import (
    Demand,
    DemandInvitation,
    DemandKind,
    DemandQuestion,
    DemandStatus,
    Proposal,
    ProposalRevision,
    ProposalStatus,
    read_status,
)
from app.models.orgs import Organization, OrganizationKind
from app.services import demands as demands_service
from app.services.deals import share
from app.services.proposals import content_hash, proposal_content
from tests.conftest import fresh_database, make_settings, migrate

SMALL = SCALES[ScaleName.small]
PROVIDERS = {
    DemandKind.financing: {OrganizationKind.financial_institution},
    **dict.fromkeys(
        (DemandKind.technology, DemandKind.challenge),
        {OrganizationKind.university, OrganizationKind.research_institute,
         OrganizationKind.rnd_institution},
    ),
    **dict.fromkeys(
        (DemandKind.service, DemandKind.talent),
        {OrganizationKind.university, OrganizationKind.research_institute,
         OrganizationKind.rnd_institution, OrganizationKind.service_provider},
    ),
}  # fmt: skip


@dataclass
class Seeded:
    """A small seed's rows, read back once."""

    url: str
    report: load.SeedReport
    organizations: dict[uuid.UUID, Organization]
    demands: dict[uuid.UUID, Demand]
    proposals: list[Proposal]
    revisions: list[ProposalRevision]
    questions: list[DemandQuestion]
    invitations: list[DemandInvitation]
    history: list[CatalogHistory]
    deals: list[Deal]

    def proposals_of(self, demand: Demand) -> list[Proposal]:
        return [p for p in self.proposals if p.demand_id == demand.id]


async def _all(session: Any, model: type[Any]) -> list[Any]:
    return list((await session.scalars(select(model).order_by(model.created_at))).all())


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    async with fresh_database(tmp_path_factory.mktemp("demands"), "demands") as url:
        await anyio.to_thread.run_sync(migrate, url)
        database = Database(create_engine(url))
        try:
            async with database.unit_of_work(write=True) as session:
                report = await load.seed_database(
                    session, scale=SMALL, random_seed=7, accounts=False
                )
            async with database.unit_of_work(write=False) as session:
                yield Seeded(
                    url=url,
                    report=report,
                    organizations={o.id: o for o in await _all(session, Organization)},
                    demands={d.id: d for d in await _all(session, Demand)},
                    proposals=await _all(session, Proposal),
                    revisions=await _all(session, ProposalRevision),
                    questions=await _all(session, DemandQuestion),
                    invitations=await _all(session, DemandInvitation),
                    history=await _all(session, CatalogHistory),
                    deals=await _all(session, Deal),
                )
        finally:
            await database.dispose()


def _window_end(demand: Demand) -> datetime:
    """Until when proposals and questions could come: deadline, cancellation, end of May."""
    return min(t for t in (demand.deadline, demand.cancelled_at, AS_OF) if t is not None)


async def test_every_kind_and_status_and_closed_read_from_the_deadline(seeded: Seeded) -> None:
    demands = list(seeded.demands.values())
    assert {d.kind for d in demands} == set(DemandKind)
    stored = {d.status for d in demands}
    assert stored == set(DemandStatus) - {DemandStatus.closed}  # closed is never stored
    # As read at the end of May 2020: all six, closed among them.
    assert {read_status(d.status, d.deadline, AS_OF) for d in demands} == set(DemandStatus)
    # As read now: the open demands of May 2020 have closed; the standing calls are open.
    opened = [d for d in demands if d.status is DemandStatus.open]
    now = {d.current_status for d in opened}
    assert now == {DemandStatus.open, DemandStatus.closed}
    assert all(
        (d.current_status is DemandStatus.open) == (d.deadline == STANDING_DEADLINE) for d in opened
    )
    assert seeded.report.demands.by_status == {
        status: sum(read_status(d.status, d.deadline, AS_OF) is status for d in demands)
        for status in DemandStatus
    }
    kinds = {seeded.organizations[d.owner_id].kind for d in demands}
    assert kinds == {OrganizationKind.enterprise}
    for demand in demands:
        assert LAUNCH <= demand.created_at < AS_OF
        if demand.status is DemandStatus.draft:
            assert demand.published_at is None
        elif demand.status is not DemandStatus.cancelled:
            assert demand.published_at is not None
        if demand.published_at is not None:
            assert demand.created_at < demand.published_at < demand.deadline
            assert demand.published_at < AS_OF
        assert (demand.status is DemandStatus.cancelled) == (demand.cancelled_at is not None)
        assert (demand.cancelled_at is None) == (demand.cancel_reason is None)
        if demand.cancelled_at is not None:
            assert demand.created_at < demand.cancelled_at < min(demand.deadline, AS_OF)
        decided = demand.status in (DemandStatus.awarded, DemandStatus.unsuccessful)
        assert decided == (demand.decided_at is not None)
        if demand.decided_at is not None:
            assert demand.deadline < demand.decided_at <= AS_OF
        if demand.kind is DemandKind.challenge:
            assert demand.reward is not None
            assert demand.requirements
        if demand.budget_min is not None:
            assert demand.budget_max is not None
            assert demand.budget_min <= demand.budget_max
    cancelled = [d for d in demands if d.status is DemandStatus.cancelled]
    assert {d.published_at is None for d in cancelled} == {True, False}  # drafts and opened
    assert any(d.invited_only for d in demands)
    assert any(d.hidden_at is not None and d.hidden_reason for d in demands)


async def test_each_demand_born_deal_matches_its_winning_proposal(seeded: Seeded) -> None:
    born = [d for d in seeded.deals if d.demand_id is not None]
    awarded = [d for d in seeded.demands.values() if d.status is DemandStatus.awarded]
    assert born
    assert len(born) == len(awarded) == seeded.report.demands.deals
    assert {d.demand_id for d in born} == {d.id for d in awarded}
    for deal in born:
        demand = seeded.demands[deal.demand_id]  # type: ignore[index]
        proposals = seeded.proposals_of(demand)
        (winner,) = [p for p in proposals if p.status is ProposalStatus.awarded]
        assert winner.deal_id == deal.id
        assert winner.price == deal.gross_fen
        assert winner.organization_id == deal.seller_id
        assert demand.owner_id == deal.buyer_id
        assert seeded.organizations[deal.buyer_id].kind is OrganizationKind.enterprise
        assert [(m["title"], m["amount"]) for m in winner.milestones] == [
            (m.title, m.amount_fen) for m in deal.milestones
        ]
        assert deal.category is AWARD_CATEGORIES[demand.kind]
        assert deal.technology_id is None
        assert deal.title == demand.title
        assert demand.budget_max is not None
        assert winner.price <= demand.budget_max
        assert demand.published_at is not None
        assert demand.decided_at is not None
        assert demand.published_at < demand.deadline < demand.decided_at < deal.created_at
        assert winner.decided_at == demand.decided_at
        for other in proposals:
            if other is not winner:
                assert other.status in (ProposalStatus.unsuccessful, ProposalStatus.withdrawn)
                assert other.deal_id is None
    # Every other deal is a listing's, and no proposal but the winners names a deal.
    assert all(d.technology_id is not None for d in seeded.deals if d.demand_id is None)
    assert sum(p.deal_id is not None for p in seeded.proposals) == len(born)


async def test_the_seeds_deal_figures_are_unchanged(seeded: Seeded) -> None:
    """The deals still add up to the plan's volume and tax, every enterprise served."""
    released = {c: yuan * 100 for c, yuan in SMALL.deals.released_yuan.items()}
    figures = seeded.report.deals
    assert figures.transaction_volume_fen == sum(released.values()) == 96_170_000
    assert figures.tax_total_fen == sum(
        share(fen, DEFAULT_TAX_RATE_BP[c.value]) for c, fen in released.items()
    )
    assert figures.tax_total_fen == 11_219_300
    assert figures.enterprises_served == SMALL.enterprises
    assert figures.by_status == {
        DealStatus.settled: SMALL.deals.settled,
        DealStatus.funded: SMALL.deals.funded,
        DealStatus.created: SMALL.deals.open,
        DealStatus.cancelled: SMALL.deals.cancelled,
        DealStatus.refunded: SMALL.deals.refunded,
    }
    assert sum(d.released_fen for d in seeded.deals) == figures.transaction_volume_fen
    assert len(seeded.deals) == SMALL.deals.total


async def test_revisions_recompute_and_came_before_the_deadline(seeded: Seeded) -> None:
    revisions: dict[uuid.UUID, list[ProposalRevision]] = {}
    for revision in seeded.revisions:
        revisions.setdefault(revision.proposal_id, []).append(revision)
    invited = {(i.demand_id, i.organization_id) for i in seeded.invitations}
    live: set[tuple[uuid.UUID, uuid.UUID]] = set()
    assert {p.status for p in seeded.proposals} == set(ProposalStatus)
    for proposal in seeded.proposals:
        demand = seeded.demands[proposal.demand_id]
        assert demand.published_at is not None
        mine = sorted(revisions[proposal.id], key=lambda r: r.revision)
        assert [r.revision for r in mine] == list(range(1, proposal.revision + 1))
        for revision in mine:
            assert content_hash(revision.content) == revision.content_hash
            assert demand.published_at <= revision.created_at < _window_end(demand)
            assert revision.created_by == SEED_ACTOR
        assert [r.created_at for r in mine] == sorted(r.created_at for r in mine)
        last = mine[-1]
        current = proposal_content(
            price=proposal.price,
            timeline_days=proposal.timeline_days,
            plan=proposal.plan,
            milestones=proposal.milestones,
            solution=proposal.solution,
        )
        assert last.content == current
        assert proposal.content_hash == last.content_hash == content_hash(current)
        assert proposal.created_at == mine[0].created_at
        assert proposal.submitted_at == last.created_at
        if demand.budget_max is not None:
            assert all(r.content["price"] <= demand.budget_max for r in mine)
        for revision in mine:
            if revision.content["milestones"]:
                amounts = [m["amount"] for m in revision.content["milestones"]]
                assert sum(amounts) == revision.content["price"]
                assert min(amounts) > 0
        assert (proposal.solution is not None) == (demand.kind is DemandKind.challenge)
        bidder = seeded.organizations[proposal.organization_id]
        assert bidder.id != demand.owner_id
        assert bidder.kind in PROVIDERS[demand.kind]
        if demand.invited_only:
            assert (demand.id, bidder.id) in invited
        if proposal.status is ProposalStatus.withdrawn:
            assert proposal.withdrawn_at is not None
            assert proposal.submitted_at < proposal.withdrawn_at < _window_end(demand)
        else:
            assert proposal.withdrawn_at is None
            key = (demand.id, bidder.id)
            assert key not in live  # one live proposal per organization per demand
            live.add(key)
        expected = {
            DemandStatus.open: {ProposalStatus.submitted},
            DemandStatus.awarded: {ProposalStatus.awarded, ProposalStatus.unsuccessful},
            DemandStatus.unsuccessful: {ProposalStatus.unsuccessful},
            DemandStatus.cancelled: {ProposalStatus.unsuccessful},
        }[demand.status]
        assert proposal.status in expected | {ProposalStatus.withdrawn}
        if proposal.status is ProposalStatus.unsuccessful:
            assert proposal.decided_at == (demand.decided_at or demand.cancelled_at)
    assert len(revisions) == len(seeded.proposals)
    assert any(p.revision > 1 for p in seeded.proposals)


async def test_questions_invitations_and_history_tell_one_story(seeded: Seeded) -> None:
    assert seeded.questions
    assert any(q.answered_at is not None for q in seeded.questions)
    assert any(q.answered_at is None for q in seeded.questions)
    for question in seeded.questions:
        demand = seeded.demands[question.demand_id]
        assert demand.published_at is not None
        assert demand.published_at <= question.created_at < _window_end(demand)
        assert question.asker_organization_id != demand.owner_id
        assert (question.answered_at is None) == (question.answer is None)
        if question.answered_at is not None:
            assert question.created_at <= question.answered_at < _window_end(demand)
    for invitation in seeded.invitations:
        demand = seeded.demands[invitation.demand_id]
        assert demand.published_at is not None
        assert invitation.organization_id != demand.owner_id

    history: dict[uuid.UUID, list[CatalogHistory]] = {}
    for entry in seeded.history:
        assert entry.catalog == demands_service.SPEC.name
        assert (entry.actor_kind, entry.source) == ("system", "seed")
        history.setdefault(entry.item_id, []).append(entry)
    assert set(history) == set(seeded.demands)
    actions_by_status = {
        DemandStatus.draft: [HistoryAction.create],
        DemandStatus.open: [HistoryAction.create, HistoryAction.publish],
        DemandStatus.unsuccessful: [
            HistoryAction.create,
            HistoryAction.publish,
            HistoryAction.close_unsuccessful,
        ],
        DemandStatus.awarded: [HistoryAction.create, HistoryAction.publish, HistoryAction.award],
    }
    for demand_id, entries in history.items():
        demand = seeded.demands[demand_id]
        entries.sort(key=lambda e: e.version)
        assert [e.version for e in entries] == list(range(1, demand.version + 1))
        times = [e.created_at for e in entries]
        assert times == sorted(times)
        assert entries[-1].created_at == demand.updated_at
        actions = [
            e.action for e in entries if e.action not in (HistoryAction.extend, HistoryAction.hide)
        ]
        if demand.status is DemandStatus.cancelled:
            assert actions[-1] is HistoryAction.cancel
            assert entries[-1 if demand.hidden_at is None else -2].changes["cancel_reason"] == [
                None,
                demand.cancel_reason,
            ]
        else:
            assert actions == actions_by_status[demand.status]
        created = entries[0].changes
        assert created["title"] == [None, demand.title]
        extended = [e for e in entries if e.action is HistoryAction.extend]
        if extended:
            (extension,) = extended
            old, new = extension.changes["deadline"]
            assert datetime.fromisoformat(old) < datetime.fromisoformat(new) == demand.deadline
            assert created["deadline"] == [None, old]
        else:
            assert datetime.fromisoformat(created["deadline"][1]) == demand.deadline
        hidden = [e for e in entries if e.action is HistoryAction.hide]
        assert len(hidden) == (demand.hidden_at is not None)
        if hidden:
            assert hidden[0].created_at == demand.hidden_at
        if demand.status is DemandStatus.awarded:
            (winner,) = [
                p for p in seeded.proposals_of(demand) if p.status is ProposalStatus.awarded
            ]
            assert entries[-1].changes["proposal_id"] == [None, str(winner.id)]


def _counted(moments: Iterable[datetime | None], at: datetime) -> bool:
    """None of ``moments`` had come by ``at``."""
    return all(m is None or m > at for m in moments)


async def test_the_overviews_demand_figures_agree_with_the_rows(seeded: Seeded) -> None:
    database = Database(create_engine(seeded.url))
    app = create_app(make_settings(seeded.url), database=database)
    demands = list(seeded.demands.values())
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            checked = 0
            for at in (
                LAUNCH + timedelta(days=40),
                datetime(2020, 1, 15, tzinfo=UTC),
                datetime(2020, 4, 1, tzinfo=UTC),
                AS_OF,
                utcnow(),
            ):
                response = await client.get("/v1/stats/overview", params={"as_of": at.isoformat()})
                assert response.status_code == 200, response.text
                body = response.json()
                opened = [
                    d
                    for d in demands
                    if d.published_at is not None
                    and d.published_at <= at
                    and _counted([d.hidden_at], at)
                ]
                open_ = [
                    d
                    for d in opened
                    if d.deadline > at and _counted([d.cancelled_at, d.decided_at], at)
                ]
                expected = {
                    "demands_total": len(opened),
                    "demands_open": len(open_),
                    "challenges_open": sum(d.kind is DemandKind.challenge for d in open_),
                    "proposals_total": sum(
                        p.created_at <= at and _counted([p.withdrawn_at], at)
                        for p in seeded.proposals
                    ),
                    "deals_from_demands": sum(
                        d.demand_id is not None and d.created_at <= at for d in seeded.deals
                    ),
                }
                assert {name: body[name] for name in expected} == expected, at
                checked += expected["demands_open"] > 0
            assert checked >= 3  # the figures were not all zero
    finally:
        await database.dispose()
