"""The platform's headline figures (the seed's table), computed from the data as of a time.

Every figure is read from timestamps, so it can be computed for any past moment: a demand
counts from its ``published_at``, stops being open at its deadline, cancellation or decision,
and a hidden demand counts for nobody while it is hidden.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.calendar import moment
from app.models.catalog import CatalogItem
from app.models.deals import Deal
from app.models.demands import Demand, DemandKind, Proposal
from app.models.ip_assets import IPAsset
from app.models.matching import MatchImpression
from app.models.orgs import Organization, OrganizationKind
from app.models.policies import Policy
from app.models.talents import Talent
from app.models.technologies import Technology
from app.services.ledger import totals as ledger_totals

UNIVERSITIES_AND_INSTITUTES = (OrganizationKind.university, OrganizationKind.research_institute)


@dataclass(frozen=True, slots=True)
class Overview:
    as_of: datetime
    talents: int
    technologies: int
    policies: int
    ip_assets: int
    financial_institutions: int
    universities_and_institutes: int
    transaction_volume: int
    """Gross released to sellers by settlements, less reversed ones, in fen."""
    tax_total: int
    """Tax accrued: withheld from those releases, in fen."""
    tax_remitted: int
    """Tax paid to the tax authority by then (tax remittances), in fen."""
    enterprises_served: int
    """Buyers of deals with money released, net of reversals."""
    demands_total: int
    """Demands opened by then and not hidden then."""
    demands_open: int
    """Of those, the ones still taking proposals then: before their deadline, neither
    cancelled nor decided."""
    challenges_open: int
    """Open demands of kind challenge (揭榜挂帅)."""
    proposals_total: int
    """Proposals submitted by then and not withdrawn by then."""
    deals_from_demands: int
    """Deals opened by an award by then."""
    matches_shown: int
    """(demand, provider) pairs shown as a match by then (app/services/matching.py)."""
    introductions: int
    """Of those pairs, the ones whose provider then proposed to the demand (by then)."""


async def _published(session: AsyncSession, model: type[CatalogItem], at: datetime) -> int:
    """Items published at ``at``: published by then and not withdrawn by then."""
    stmt = select(func.count()).where(
        model.published_at <= at,
        or_(model.withdrawn_at.is_(None), model.withdrawn_at > at),
    )
    return int(await session.scalar(stmt) or 0)


async def _organizations(
    session: AsyncSession, kinds: tuple[OrganizationKind, ...], at: datetime
) -> int:
    stmt = select(func.count()).where(Organization.kind.in_(kinds), Organization.created_at <= at)
    return int(await session.scalar(stmt) or 0)


def _not_yet(column: InstrumentedAttribute[datetime | None], at: datetime) -> ColumnElement[bool]:
    """The moment in ``column`` had not come at ``at`` (or never came)."""
    return or_(column.is_(None), column > at)


@dataclass(frozen=True, slots=True)
class _DemandCounts:
    total: int
    open: int
    challenges_open: int
    proposals: int
    deals: int


async def _demands(session: AsyncSession, at: datetime) -> _DemandCounts:
    """Demands opened and not hidden at ``at``, those of them open then (all and
    challenges), live proposals and deals born of an award, as of ``at``."""
    is_open = and_(
        Demand.deadline > at,
        _not_yet(Demand.cancelled_at, at),
        _not_yet(Demand.decided_at, at),
    )
    counts = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(is_open),
                func.count().filter(is_open, Demand.kind == DemandKind.challenge),
            ).where(Demand.published_at <= at, _not_yet(Demand.hidden_at, at))
        )
    ).one()
    proposals = await session.scalar(
        select(func.count()).where(Proposal.created_at <= at, _not_yet(Proposal.withdrawn_at, at))
    )
    deals = await session.scalar(
        select(func.count()).where(Deal.demand_id.is_not(None), Deal.created_at <= at)
    )
    return _DemandCounts(
        total=counts[0],
        open=counts[1],
        challenges_open=counts[2],
        proposals=int(proposals or 0),
        deals=int(deals or 0),
    )


async def _matchmaking(session: AsyncSession, at: datetime) -> tuple[int, int]:
    """Pairs shown as a match by ``at``, and introductions: pairs whose provider proposed to
    the demand after it was first shown, by ``at`` (once per pair, whatever became of the
    proposal: the introduction happened)."""
    shown = MatchImpression.first_shown_at <= at
    proposed = exists().where(
        Proposal.demand_id == MatchImpression.demand_id,
        Proposal.organization_id == MatchImpression.organization_id,
        Proposal.created_at > MatchImpression.first_shown_at,
        Proposal.created_at <= at,
    )
    counts = (
        await session.execute(select(func.count(), func.count().filter(proposed)).where(shown))
    ).one()
    return int(counts[0]), int(counts[1])


async def overview(session: AsyncSession, *, as_of: date | datetime | None, zone: str) -> Overview:
    """Counts of published catalog items and of organizations, the ledger's settled volume,
    tax accrued and remitted and enterprises served, and the demands' market (demands,
    proposals, deals from awards), as of a time."""
    at = moment(as_of, zone)
    # The auditors' totals of every entry up to and including ``at`` (their end is exclusive;
    # both backends keep microseconds).
    (settled,) = await ledger_totals.totals(
        session,
        start=None,
        end=at + timedelta(microseconds=1),
        group_by=ledger_totals.GroupBy.none,
        zone=zone,
    )
    demands = await _demands(session, at)
    matches_shown, introductions = await _matchmaking(session, at)
    return Overview(
        as_of=at,
        talents=await _published(session, Talent, at),
        technologies=await _published(session, Technology, at),
        policies=await _published(session, Policy, at),
        ip_assets=await _published(session, IPAsset, at),
        financial_institutions=await _organizations(
            session, (OrganizationKind.financial_institution,), at
        ),
        universities_and_institutes=await _organizations(session, UNIVERSITIES_AND_INSTITUTES, at),
        transaction_volume=settled.transaction_volume_fen,
        tax_total=settled.tax_total_fen,
        tax_remitted=await ledger_totals.tax_remitted(
            session, start=None, end=at + timedelta(microseconds=1)
        ),
        enterprises_served=settled.enterprises_served,
        demands_total=demands.total,
        demands_open=demands.open,
        challenges_open=demands.challenges_open,
        proposals_total=demands.proposals,
        deals_from_demands=demands.deals,
        matches_shown=matches_shown,
        introductions=introductions,
    )
