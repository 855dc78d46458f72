"""The demo's demands: enterprises' posted needs of every kind, from launch to the end of May
2020, in every status, with the proposals, revisions, questions, invitations and history
they would have gathered; some of the demo's deals are the awards of some of them.

A demand's story is drawn first (:class:`_Fate`: draft, open, standing call, closed awaiting
a decision, unsuccessful, cancelled, awarded), then its times, then who answered it. Awarded
demands are made from deals the deal plan already holds (:func:`plan_demands`): the deal's
buyer posted the demand, the deal's seller's proposal won at the deal's price and milestones,
the award opened the deal; so the deals, and the figures they add up to, stay as they were.

The dataset stands at the end of May 2020, and so do the demands: every row was written by
then. Their deadlines run on: the demands open at the end of May closed weeks later (they read
closed today), and the standing calls (长期有效) run until the end of 2030, so a demo has open
demands to answer for years; both are fixed dates, so the same random seed writes the same
rows.

Rows go in as the other sections' do (:func:`app.core.bulk.copy_rows`, in ``created_at``
order), in two steps around the deals:
:func:`write_demands` before (a deal names its demand), :func:`write_proposals` after (a
winning proposal names its deal).
"""

import math
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.demo.corpus import (
    CANCEL_REASONS,
    CONTRACT_STAGES,
    DEMAND_KIND_NAMES,
    GENERAL_QUESTIONS,
    HIDDEN_REASONS,
    QUESTIONS_BY_KIND,
    UNSUCCESSFUL_REASONS,
    FieldVocabulary,
)
from app.demo.deals import SEED_ACTOR, PlannedDeal, stage_amounts, working_day, working_time
from app.demo.organizations import SeededOrganization, SeededOrganizations
from app.demo.plan import AS_OF, LAUNCH, SHANGHAI, DemandPlan
from app.demo.rows import Progress
from app.demo.text import (
    Need,
    challenge_requirements,
    demand_description,
    demand_need,
    demand_title,
    new_id,
    proposal_plan,
    proposal_solution,
    revised_plan,
)
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.deals import ContractCategory
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
from app.models.orgs import OrganizationKind
from app.services import demands as demands_service
from app.services.catalog import jsonable, search_columns
from app.services.proposals import CATEGORY_BY_KIND, content_hash, proposal_content

#: The contract an award opens, by the demand's kind (the award's mapping; financing demands
#: are answered by lenders and investors, whose contracts are no technology contracts: the
#: demo awards none of them).
AWARD_CATEGORIES: dict[DemandKind, ContractCategory] = {
    kind: category
    for kind, category in CATEGORY_BY_KIND.items()
    if kind is not DemandKind.financing
}
#: The deadline of the standing calls (长期有效): the end of 2030, on the zone's calendar.
STANDING_DEADLINE = datetime(2030, 12, 31, 17, tzinfo=SHANGHAI).astimezone(UTC)
DEADLINE_HOUR = time(17)
"""Deadlines fall at 17:00 on a working day (Shanghai)."""
_KIND_WEIGHTS = {
    DemandKind.technology: 35,
    DemandKind.service: 20,
    DemandKind.talent: 15,
    DemandKind.financing: 15,
    DemandKind.challenge: 15,
}
#: Standing calls (长期有效) seek people, technologies and solvers.
_STANDING_KINDS = (DemandKind.talent, DemandKind.technology, DemandKind.challenge)
#: Budget ceilings drawn per kind, in 万元 (log-uniform between the bounds).
_BUDGET_WAN = {
    DemandKind.technology: (5, 200),
    DemandKind.challenge: (50, 500),
    DemandKind.service: (2, 30),
    DemandKind.talent: (10, 80),
    DemandKind.financing: (100, 3000),
}
_TIMELINE_DAYS = {
    DemandKind.technology: (90, 365),
    DemandKind.challenge: (180, 540),
    DemandKind.service: (15, 90),
    DemandKind.talent: (90, 365),
    DemandKind.financing: (5, 30),
}
WAN_FEN = 1_000_000
"""One 万元 (10,000 CNY) in fen."""
HUNDRED_YUAN_FEN = 10_000
_AWARD_LEAD = timedelta(milliseconds=250)
"""How long before its deal an award is recorded (the same transaction: a moment)."""
_CONTENT_FIELDS = (*demands_service.SPEC.fields, "tags", "external_id")


class _Fate(StrEnum):
    """How a demand stands at the end of May 2020."""

    draft = "draft"
    cancelled_draft = "cancelled_draft"
    open = "open"
    standing = "standing"
    closed = "closed"
    unsuccessful = "unsuccessful"
    cancelled = "cancelled"
    awarded = "awarded"


_STORED = {
    _Fate.draft: DemandStatus.draft,
    _Fate.cancelled_draft: DemandStatus.cancelled,
    _Fate.open: DemandStatus.open,
    _Fate.standing: DemandStatus.open,
    _Fate.closed: DemandStatus.open,
    _Fate.unsuccessful: DemandStatus.unsuccessful,
    _Fate.cancelled: DemandStatus.cancelled,
    _Fate.awarded: DemandStatus.awarded,
}


@dataclass(slots=True)
class _Times:
    created: datetime
    deadline: datetime
    """The deadline in force (after any extension)."""
    first_deadline: datetime
    published: datetime | None = None
    extended: datetime | None = None
    ended: datetime | None = None
    """Cancelled, or decided (awarded, closed as unsuccessful)."""

    @property
    def window_end(self) -> datetime:
        """Until when proposals and questions came: the deadline, the cancellation or the end
        of May 2020, whichever came first."""
        return min(self.deadline, self.ended or AS_OF, AS_OF)


@dataclass(slots=True)
class _PlannedDemand:
    id: uuid.UUID
    fate: _Fate
    owner: SeededOrganization
    kind: DemandKind
    need: Need
    times: _Times
    deal: PlannedDeal | None = None
    hidden_at: datetime | None = None
    budget_min: int | None = None
    budget_max: int | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemandFigures:
    """What the seeded demands hold."""

    by_kind: dict[DemandKind, int]
    by_status: dict[DemandStatus, int]
    """As read at the end of May 2020 (open demands whose deadline had passed: closed)."""
    standing: int
    """Open demands that still read open for years (standing calls)."""
    hidden: int
    invited_only: int
    proposals: dict[ProposalStatus, int]
    revisions: int
    questions: int
    answered: int
    invitations: int
    deals: int
    """Deals opened by an award."""


@dataclass(slots=True)
class DemandBook:
    """The demands' rows, ready to write, and what they add up to."""

    demands: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    invitations: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> DemandFigures:
        demands = self.demands
        statuses = Counter(read_status(d["status"], d["deadline"], AS_OF) for d in demands)
        kinds = Counter(d["kind"] for d in demands)
        proposals = Counter(p["status"] for p in self.proposals)
        return DemandFigures(
            by_kind={k: kinds[k] for k in DemandKind},
            by_status={s: statuses[s] for s in DemandStatus},
            standing=sum(d["deadline"] == STANDING_DEADLINE for d in demands),
            hidden=sum(d["hidden_at"] is not None for d in demands),
            invited_only=sum(d["invited_only"] for d in demands),
            proposals={s: proposals[s] for s in ProposalStatus},
            revisions=len(self.revisions),
            questions=len(self.questions),
            answered=sum(q["answered_at"] is not None for q in self.questions),
            invitations=len(self.invitations),
            deals=sum(p["deal_id"] is not None for p in self.proposals),
        )


def awaiting_award_owner(book: DemandBook, *, now: datetime) -> uuid.UUID | None:
    """The demo's buyer: an enterprise whose newest demand that reads closed at ``now``
    (deadline passed, no decision yet) is visible and holds submitted proposals, so a demo can
    award one; of those, the one with the most such demands (ties: the smallest id)."""
    submitted = Counter(
        p["demand_id"] for p in book.proposals if p["status"] is ProposalStatus.submitted
    )
    closed: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for d in book.demands:
        if d["status"] is DemandStatus.open and d["deadline"] <= now:
            closed.setdefault(d["owner_id"], []).append(d)

    def awardable(demand: dict[str, Any]) -> bool:
        return demand["hidden_at"] is None and submitted[demand["id"]] > 0

    candidates = {
        owner: sum(awardable(d) for d in demands)
        for owner, demands in closed.items()
        # the newest first, as a demands list reads by default
        if awardable(max(demands, key=lambda d: (d["created_at"], d["id"])))
    }
    if not candidates:
        return None
    return min(candidates, key=lambda owner: (-candidates[owner], str(owner)))


# --- times ----------------------------------------------------------------------------------


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end), to the microsecond."""
    span = (end - start) // timedelta(microseconds=1)
    return start + timedelta(microseconds=rng.randrange(max(1, span)))


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(days=rng.uniform(low, high))


def _deadline_on(after: datetime) -> datetime:
    """17:00 (Shanghai) of the first working day on or after ``after``'s."""
    day = working_day(after)
    return datetime.combine(day, DEADLINE_HOUR, tzinfo=SHANGHAI).astimezone(UTC)


def _try_times(rng: random.Random, fate: _Fate, deal: PlannedDeal | None) -> _Times | None:
    """One draw of the demand's times, or None when it breaks an order (draw again)."""
    start = LAUNCH + timedelta(days=1)
    if fate in (_Fate.draft, _Fate.cancelled_draft):
        created = working_time(rng, _between(rng, start, AS_OF - timedelta(days=2)))
        deadline = _deadline_on(created + _days(rng, 20, 60))
        times = _Times(created=created, deadline=deadline, first_deadline=deadline)
        if fate is _Fate.cancelled_draft:
            times.ended = working_time(rng, created + _days(rng, 1, 20))
            if not times.ended < min(deadline, AS_OF):
                return None
        return times if created < AS_OF else None

    award = None
    if fate is _Fate.awarded:  # a moment before its deal opened, some days after the deadline
        assert deal is not None
        award = deal.times[0] - _AWARD_LEAD
        first = _deadline_on(award - _days(rng, 2, 14))
        published = working_time(rng, first - _days(rng, 14, 45))
    elif fate is _Fate.open:  # deadline after the end of May 2020
        published = working_time(rng, _between(rng, AS_OF - timedelta(days=40), AS_OF))
        first = _deadline_on(AS_OF + _days(rng, 3, 45))
    elif fate is _Fate.standing:
        published = working_time(rng, _between(rng, start, AS_OF - timedelta(days=2)))
        first = STANDING_DEADLINE
    elif fate is _Fate.closed:  # recent: still under review at the end of May 2020
        published = working_time(rng, _between(rng, AS_OF - timedelta(days=110), AS_OF))
        first = _deadline_on(published + _days(rng, 14, 45))
    else:  # unsuccessful, cancelled
        latest = AS_OF - timedelta(days=45 if fate is _Fate.unsuccessful else 5)
        published = working_time(rng, _between(rng, start, latest))
        first = _deadline_on(published + _days(rng, 14, 45))
    # Written as a draft a little before it opened.
    created = working_time(rng, published - _days(rng, 0, 3))
    if created >= published:
        created = published - timedelta(minutes=rng.randint(5, 90))
    times = _Times(created=created, deadline=first, first_deadline=first, published=published)
    if fate in (_Fate.open, _Fate.closed, _Fate.unsuccessful) and rng.random() < 0.12:
        # The owner moved the deadline later while the demand was open.
        times.extended = _between(rng, published, min(first, AS_OF))
        times.deadline = _deadline_on(first + _days(rng, 7, 30))
    if fate is _Fate.unsuccessful:
        times.ended = working_time(rng, times.deadline + _days(rng, 2, 30))
    elif fate is _Fate.cancelled:
        times.ended = working_time(rng, published + _days(rng, 1, 20))
    else:
        times.ended = award
    if not start <= created < published < AS_OF:
        return None
    if fate is _Fate.closed and not times.deadline < AS_OF:
        return None
    if fate is _Fate.open and not times.deadline > AS_OF:
        return None
    ended = times.ended
    if ended is not None:
        if not published < ended <= AS_OF:
            return None
        if fate is _Fate.cancelled and not ended < times.deadline:  # cancelled while open
            return None
        if fate is not _Fate.cancelled and not times.deadline < ended:  # decided once closed
            return None
    return times


def _schedule(rng: random.Random, fate: _Fate, deal: PlannedDeal | None = None) -> _Times:
    for _ in range(1000):
        times = _try_times(rng, fate, deal)
        if times is not None:
            return times
    raise ValueError(f"no schedule for a {fate.value} demand")


# --- who answers ----------------------------------------------------------------------------


def _providers(
    organizations: SeededOrganizations,
) -> dict[DemandKind, list[SeededOrganization]]:
    """Who answers demands of each kind: research organizations (and the zone's technology
    transfer service firms for services and talents), lenders and investors for financing."""
    research = organizations.research
    firms = [
        o
        for o in organizations.of_kind(OrganizationKind.service_provider)
        if o.id != organizations.operator.id
    ]
    return {
        DemandKind.technology: research,
        DemandKind.challenge: research,
        DemandKind.service: research + firms,
        DemandKind.talent: research + firms,
        DemandKind.financing: organizations.of_kind(OrganizationKind.financial_institution),
    }


def _pick(
    rng: random.Random,
    pool: Sequence[SeededOrganization],
    count: int,
    fld: FieldVocabulary,
    exclude: set[uuid.UUID],
) -> list[SeededOrganization]:
    """``count`` distinct organizations of ``pool``, by size, thrice as likely in the field."""
    candidates = [o for o in pool if o.id not in exclude]
    chosen: list[SeededOrganization] = []
    while candidates and len(chosen) < count:
        weights = [o.weight * (3.0 if fld in o.fields else 1.0) for o in candidates]
        picked = rng.choices(candidates, weights)[0]
        candidates.remove(picked)
        chosen.append(picked)
    return chosen


# --- money ----------------------------------------------------------------------------------


def _round_to(amount: float, step: int) -> int:
    return max(step, round(amount / step) * step)


def _budget(rng: random.Random, kind: DemandKind) -> tuple[int | None, int | None]:
    """(budget_min, budget_max) in fen, whole 万元; some demands state no budget (面议)."""
    if kind is not DemandKind.challenge and rng.random() < 0.1:
        return None, None
    low, high = _BUDGET_WAN[kind]
    ceiling = _round_to(math.exp(rng.uniform(math.log(low), math.log(high))), 1) * WAN_FEN
    if rng.random() < 0.35:
        return None, ceiling
    return _round_to(ceiling * rng.uniform(0.3, 0.8), WAN_FEN), ceiling


def _award_budget(rng: random.Random, price: int) -> tuple[int | None, int]:
    """A budget the winning price fits in."""
    ceiling = math.ceil(price * rng.uniform(1.0, 1.5) / WAN_FEN) * WAN_FEN
    if rng.random() < 0.35:
        return None, ceiling
    return min(price, _round_to(price * rng.uniform(0.5, 0.9), WAN_FEN)), ceiling


def _price(rng: random.Random, demand: _PlannedDemand) -> int:
    """A bid within the budget, whole hundreds of yuan."""
    ceiling = demand.budget_max
    if ceiling is None:
        low, high = _BUDGET_WAN[demand.kind]
        ceiling = _round_to(math.exp(rng.uniform(math.log(low), math.log(high))), 1) * WAN_FEN
    floor = demand.budget_min or ceiling * 0.4
    price = _round_to(rng.uniform(floor, ceiling), HUNDRED_YUAN_FEN)
    return min(price, ceiling)


def _milestones(rng: random.Random, kind: DemandKind, price: int) -> list[dict[str, Any]]:
    """None (paid in one go) or two or three payment stages adding up to ``price``."""
    category = AWARD_CATEGORIES.get(kind)
    if category is None or rng.random() < 0.5 or price < 4 * HUNDRED_YUAN_FEN:
        return []
    names = CONTRACT_STAGES[category.value]
    count = min(len(names), rng.choice((2, 3)))
    titles = [*names[: count - 1], names[-1]]
    amounts = stage_amounts(rng, price // 100, count)
    if min(amounts) <= 0:
        return []
    return [{"title": t, "amount": a * 100} for t, a in zip(titles, amounts, strict=True)]


def _scaled(milestones: list[dict[str, Any]], price: int) -> list[dict[str, Any]]:
    """The same stages, their amounts scaled to add up to ``price``."""
    if not milestones:
        return []
    total = sum(m["amount"] for m in milestones)
    amounts = [_round_to(m["amount"] * price / total, HUNDRED_YUAN_FEN) for m in milestones[:-1]]
    last = price - sum(amounts)
    if last <= 0:
        return []
    return [
        {"title": m["title"], "amount": a}
        for m, a in zip(milestones, [*amounts, last], strict=True)
    ]


# --- planning -------------------------------------------------------------------------------


def _award_candidates(deals: Sequence[PlannedDeal]) -> list[PlannedDeal]:
    """Deals that can have come from an award: a category an award opens, a research
    organization's listing sold (its owner proposed), late enough for a demand before it."""
    categories = set(AWARD_CATEGORIES.values())
    return [
        d
        for d in deals
        if d.category in categories
        and d.technology is not None
        and d.seller.is_research
        and d.times[0] >= LAUNCH + timedelta(days=40)
    ]


def _kinds(rng: random.Random, count: int) -> list[DemandKind]:
    """Kinds of ``count`` demands: each kind at least once, the rest by weight, shuffled."""
    kinds = list(DemandKind)[:count]
    kinds += rng.choices(list(_KIND_WEIGHTS), list(_KIND_WEIGHTS.values()), k=count - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _fates(plan: DemandPlan) -> list[_Fate]:
    """The fates of the demands that are not awards, in a fixed order: standing calls first."""
    cancelled_drafts = plan.cancelled // 4
    counts = {
        _Fate.standing: plan.standing,
        _Fate.draft: plan.draft,
        _Fate.cancelled_draft: cancelled_drafts,
        _Fate.cancelled: plan.cancelled - cancelled_drafts,
        _Fate.open: plan.open,
        _Fate.closed: plan.closed,
        _Fate.unsuccessful: plan.unsuccessful,
    }
    return [fate for fate, count in counts.items() for _ in range(count)]


def _plan_one(
    rng: random.Random,
    fate: _Fate,
    kind: DemandKind,
    owner: SeededOrganization,
    fld: FieldVocabulary,
    deal: PlannedDeal | None = None,
) -> _PlannedDemand:
    demand = _PlannedDemand(
        id=new_id(rng),
        fate=fate,
        owner=owner,
        kind=kind,
        need=demand_need(rng, kind.value, fld),
        times=_schedule(rng, fate, deal),
        deal=deal,
    )
    if deal is not None:
        demand.budget_min, demand.budget_max = _award_budget(rng, deal.gross * 100)
    else:
        demand.budget_min, demand.budget_max = _budget(rng, kind)
    amount_wan = (demand.budget_max or 500 * WAN_FEN) // WAN_FEN
    title = demand_title(rng, demand.need, amount_wan)
    tags = [fld.short, DEMAND_KIND_NAMES[kind.value]]
    if fate is _Fate.standing:
        tags.append("长期有效")
    attachments = []
    if rng.random() < 0.3:
        attachments.append(
            {
                "name": f"{DEMAND_KIND_NAMES[kind.value]}说明书.pdf",
                "url": f"https://files.innoshare.example.org/demands/{demand.id}/brief.pdf",
            }
        )
    challenge = kind is DemandKind.challenge
    demand.values = {
        "kind": kind,
        "title": title,
        "description": demand_description(rng, demand.need, amount_wan),
        "field": fld.name,
        "budget_min": demand.budget_min,
        "budget_max": demand.budget_max,
        "budget_visible": rng.random() < 0.6,
        "deadline": demand.times.first_deadline,
        "reward": demand.budget_max if challenge else None,
        "requirements": challenge_requirements(rng, demand.need) if challenge else None,
        "attachments": attachments,
        "invited_only": fate is not _Fate.standing and rng.random() < 0.08,
        "tags": tags,
        "external_id": None,
    }
    return demand


def plan_demands(
    rng: random.Random,
    *,
    plan: DemandPlan,
    organizations: SeededOrganizations,
    deals: Sequence[PlannedDeal],
) -> DemandBook:
    """Every demand's rows, and, for the deals chosen to be awards, their demand: each such
    deal gets its ``demand_id`` and the demand's title (nothing else of it changes)."""
    enterprises = organizations.of_kind(OrganizationKind.enterprise)
    weights = [o.weight for o in enterprises]
    candidates = _award_candidates(deals)
    awarded = sorted(rng.sample(candidates, min(plan.awarded, len(candidates))), key=lambda d: d.id)
    planned = []
    for deal in awarded:
        assert deal.technology is not None
        kinds = [k for k, c in AWARD_CATEGORIES.items() if c is deal.category]
        kind = rng.choices(kinds, [_KIND_WEIGHTS[k] for k in kinds])[0]
        demand = _plan_one(rng, _Fate.awarded, kind, deal.buyer, deal.technology.field, deal=deal)
        deal.demand_id, deal.title = demand.id, demand.values["title"]
        planned.append(demand)
    fates = _fates(plan)
    kinds = [
        rng.choices(_STANDING_KINDS, [_KIND_WEIGHTS[k] for k in _STANDING_KINDS])[0]
        for _ in range(plan.standing)
    ] + _kinds(rng, len(fates) - plan.standing)
    for fate, kind in zip(fates, kinds, strict=True):
        owner = rng.choices(enterprises, weights)[0]
        fld = rng.choice(owner.fields)
        planned.append(_plan_one(rng, fate, kind, owner, fld))
    _hide(rng, planned, plan.hidden)

    book = DemandBook()
    providers = _providers(organizations)
    for demand in planned:
        _write_demand(rng, demand, providers[demand.kind], book)
    for rows in (book.demands, book.history, book.invitations, book.questions):
        rows.sort(key=lambda r: (r["created_at"], r["id"]))
    book.proposals.sort(key=lambda r: (r["created_at"], r["id"]))
    book.revisions.sort(key=lambda r: (r["created_at"], r["id"]))
    return book


def _hide(rng: random.Random, planned: list[_PlannedDemand], count: int) -> None:
    """An operator hid ``count`` demands that had ended (closed, unsuccessful or cancelled
    after opening), some time after their last change."""
    ended = (_Fate.closed, _Fate.unsuccessful, _Fate.cancelled)
    eligible = [d for d in planned if d.fate in ended]
    for demand in rng.sample(eligible, min(count, len(eligible))):
        times = demand.times
        last = max(t for t in (times.window_end, times.extended, times.ended) if t is not None)
        demand.hidden_at = _between(rng, last, AS_OF)


# --- rows -----------------------------------------------------------------------------------


def _history(
    demand: _PlannedDemand,
    action: HistoryAction,
    at: datetime,
    changes: dict[str, Any],
    version: int,
    rng: random.Random,
) -> dict[str, Any]:
    return {
        "id": new_id(rng),
        "created_at": at,
        "updated_at": at,
        "catalog": demands_service.SPEC.name,
        "item_id": demand.id,
        "action": action,
        "actor_kind": "system",
        "actor_id": None,
        "source": "seed",
        "version": version,
        "changes": changes,
    }


def _write_demand(
    rng: random.Random,
    demand: _PlannedDemand,
    providers: list[SeededOrganization],
    book: DemandBook,
) -> None:
    """The demand's row, history, invitations, questions, proposals and revisions."""
    times, values = demand.times, demand.values
    events: list[tuple[HistoryAction, datetime, dict[str, Any]]] = [
        (
            HistoryAction.create,
            times.created,
            {f: [None, jsonable(values[f])] for f in _CONTENT_FIELDS},
        )
    ]
    if times.published is not None:
        events.append((HistoryAction.publish, times.published, {"status": ["draft", "open"]}))
    if times.extended is not None:
        old, new = times.first_deadline, times.deadline
        events.append(
            (HistoryAction.extend, times.extended, {"deadline": [old.isoformat(), new.isoformat()]})
        )
    cancel_reason = decided = cancelled = None
    proposals: list[dict[str, Any]] = []
    if demand.fate in (_Fate.cancelled, _Fate.cancelled_draft):
        assert times.ended is not None
        cancelled, cancel_reason = times.ended, rng.choice(CANCEL_REASONS)
        before = "open" if times.published else "draft"
        changes = {"status": [before, "cancelled"], "cancel_reason": [None, cancel_reason]}
        events.append((HistoryAction.cancel, cancelled, changes))
    if times.published is not None:
        proposals = _answers(rng, demand, providers, book)
    if demand.fate is _Fate.unsuccessful:
        decided = times.ended
        assert decided is not None
        reason = rng.choice((*UNSUCCESSFUL_REASONS, None))
        changes = {"status": ["closed", "unsuccessful"]}
        if reason:
            changes["reason"] = [None, reason]
        events.append((HistoryAction.close_unsuccessful, decided, changes))
    if demand.fate is _Fate.awarded:
        decided = times.ended
        assert decided is not None
        winner = next(p for p in proposals if p["status"] is ProposalStatus.awarded)
        changes = {"status": ["closed", "awarded"], "proposal_id": [None, str(winner["id"])]}
        events.append((HistoryAction.award, decided, changes))
    hidden_reason = None
    if demand.hidden_at is not None:
        hidden_reason = rng.choice(HIDDEN_REASONS)
        events.append(
            (HistoryAction.hide, demand.hidden_at, {"hidden_reason": [None, hidden_reason]})
        )
    for version, (action, at, changes) in enumerate(events, start=1):
        book.history.append(_history(demand, action, at, changes, version, rng))
    book.demands.append(
        {
            **values,
            **search_columns(demands_service.SPEC, values),
            "id": demand.id,
            "created_at": times.created,
            "updated_at": events[-1][1],
            "owner_id": demand.owner.id,
            "status": _STORED[demand.fate],
            "version": len(events),
            "published_at": times.published,
            "withdrawn_at": None,
            "deadline": times.deadline,
            "cancelled_at": cancelled,
            "cancel_reason": cancel_reason,
            "decided_at": decided,
            "hidden_at": demand.hidden_at,
            "hidden_reason": hidden_reason,
        }
    )


_PROPOSALS = {
    _Fate.open: (0, 4),
    _Fate.standing: (1, 4),
    _Fate.closed: (1, 5),
    _Fate.unsuccessful: (0, 4),
    _Fate.cancelled: (0, 2),
    _Fate.awarded: (1, 4),
}


def _answers(
    rng: random.Random,
    demand: _PlannedDemand,
    providers: list[SeededOrganization],
    book: DemandBook,
) -> list[dict[str, Any]]:
    """An opened demand's invitations, questions and proposals (with their revisions)."""
    times = demand.times
    assert times.published is not None
    start, end = times.published, times.window_end
    fld = demand.need.field
    winner = demand.deal.seller if demand.deal is not None else None
    exclude = {winner.id} if winner else set()
    low, high = _PROPOSALS[demand.fate]
    bidders = _pick(rng, providers, rng.randint(low, high), fld, exclude)
    if winner is not None:
        bidders.insert(0, winner)
    invited: list[SeededOrganization] = []
    invited_at: list[datetime] = []
    if demand.values["invited_only"]:  # invited as it opened: only they see it and bid
        invited = bidders + _pick(rng, providers, rng.randint(1, 2), fld, {o.id for o in bidders})
        invited_at = [start] * len(invited)
    elif rng.random() < 0.1:  # a few providers invited to a public demand while open
        invited = _pick(rng, providers, rng.randint(1, 2), fld, set())
        invited_at = [_between(rng, start, end) for _ in invited]
    for organization, at in zip(invited, invited_at, strict=True):
        book.invitations.append(
            {
                "id": new_id(rng),
                "created_at": at,
                "updated_at": at,
                "demand_id": demand.id,
                "organization_id": organization.id,
                "invited_by": SEED_ACTOR,
            }
        )
    askers = invited if demand.values["invited_only"] else providers
    pool = [*GENERAL_QUESTIONS, *QUESTIONS_BY_KIND[demand.kind.value]]
    asked = rng.choices((0, 1, 2, 3), (40, 30, 20, 10))[0]
    for question, answer in rng.sample(pool, asked):
        if not askers:
            break
        at = _between(rng, start, end)
        answered_at = _between(rng, at, end) if rng.random() < 0.75 else None
        book.questions.append(
            {
                "id": new_id(rng),
                "created_at": at,
                "updated_at": answered_at or at,
                "demand_id": demand.id,
                "asker_organization_id": rng.choice(askers).id,
                "asked_by": SEED_ACTOR,
                "answered_at": answered_at,
                "answered_by": SEED_ACTOR if answered_at else None,
                "hidden_at": None,
                "hidden_reason": None,
                "text": question,
                "answer": answer if answered_at else None,
            }
        )
    return [_proposal(rng, demand, bidder, bidder is winner, book) for bidder in bidders]


def _proposal(
    rng: random.Random,
    demand: _PlannedDemand,
    bidder: SeededOrganization,
    wins: bool,
    book: DemandBook,
) -> dict[str, Any]:
    """A proposal as the proposals service leaves it, and each of its revisions."""
    times = demand.times
    assert times.published is not None
    kind, cap = demand.kind, demand.budget_max
    timeline_days = rng.randint(*_TIMELINE_DAYS[kind])
    if wins:
        deal = demand.deal
        assert deal is not None
        price = deal.gross * 100
        milestones = [{"title": t, "amount": a * 100} for t, a in deal.stages]
    else:
        price = _price(rng, demand)
        milestones = _milestones(rng, kind, price)
    plan = proposal_plan(rng, demand.need, timeline_days)
    solution = proposal_solution(rng, demand.need) if kind is DemandKind.challenge else None
    count = rng.choices((1, 2, 3), (70, 22, 8))[0]
    moments = sorted(_between(rng, times.published, times.window_end) for _ in range(count))
    withdrawn = not wins and rng.random() < 0.12
    withdrawn_at = _between(rng, moments[-1], times.window_end) if withdrawn else None
    proposal_id = new_id(rng)
    contents = []
    for number in range(1, count + 1):
        if number == count:
            content = proposal_content(
                price=price,
                timeline_days=timeline_days,
                plan=revised_plan(rng, plan) if count > 1 else plan,
                milestones=milestones,
                solution=solution,
            )
        else:  # an earlier revision asked a little more, or took longer
            earlier = _round_to(price * rng.uniform(1.02, 1.15), HUNDRED_YUAN_FEN)
            earlier = min(earlier, cap) if cap is not None else earlier
            content = proposal_content(
                price=earlier,
                timeline_days=timeline_days + rng.randint(0, 30),
                plan=plan,
                milestones=_scaled(milestones, earlier),
                solution=solution,
            )
        contents.append(content)
        at = moments[number - 1]
        book.revisions.append(
            {
                "id": new_id(rng),
                "created_at": at,
                "updated_at": at,
                "proposal_id": proposal_id,
                "revision": number,
                "content_hash": content_hash(content),
                "created_by": SEED_ACTOR,
                "content": content,
            }
        )
    final = contents[-1]
    decided = times.ended  # an award, a close as unsuccessful or a cancellation decides it
    if withdrawn:
        status, decided = ProposalStatus.withdrawn, None
    elif wins:
        status = ProposalStatus.awarded
    elif demand.fate in (_Fate.awarded, _Fate.unsuccessful, _Fate.cancelled):
        status = ProposalStatus.unsuccessful
    else:
        status, decided = ProposalStatus.submitted, None
    proposal = {
        "id": proposal_id,
        "created_at": moments[0],
        "updated_at": withdrawn_at or decided or moments[-1],
        "demand_id": demand.id,
        "organization_id": bidder.id,
        "status": status,
        "price": price,
        "timeline_days": timeline_days,
        "revision": count,
        "content_hash": content_hash(final),
        "submitted_at": moments[-1],
        "withdrawn_at": withdrawn_at,
        "decided_at": decided,
        "deal_id": demand.deal.id if wins and demand.deal is not None else None,
        "created_by": SEED_ACTOR,
        "milestones": final["milestones"],
        "plan": final["plan"],
        "solution": solution,
    }
    book.proposals.append(proposal)
    return proposal


# --- writing --------------------------------------------------------------------------------


async def write_demands(session: AsyncSession, book: DemandBook, progress: Progress) -> None:
    """The demands, their history, invitations and questions: before the deals, which name
    their demands."""
    rows = len(book.demands) + len(book.history) + len(book.invitations) + len(book.questions)
    advance = progress.task("demands", rows)
    await bulk.copy_rows(session, Demand, book.demands, advance)
    await bulk.copy_rows(session, CatalogHistory, book.history, advance)
    await bulk.copy_rows(session, DemandInvitation, book.invitations, advance)
    await bulk.copy_rows(session, DemandQuestion, book.questions, advance)


async def write_proposals(session: AsyncSession, book: DemandBook, progress: Progress) -> None:
    """The proposals and their revisions: after the deals, which the winners name."""
    advance = progress.task("proposals", len(book.proposals) + len(book.revisions))
    await bulk.copy_rows(session, Proposal, book.proposals, advance)
    await bulk.copy_rows(session, ProposalRevision, book.revisions, advance)
