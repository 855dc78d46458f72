"""The demo's deals: enterprises' contracts for published technologies from launch to the end
of May 2020, planned to release the published volume (see :class:`~app.demo.plan.DealPlan`),
scheduled on working days, and written up as the deals service writes them, journal entries
posted by the ledger itself. Planned first (:func:`plan_seeded_deals`), so that some can become
the awards of demands (app/demo/demands.py) before they are written (:func:`write_deals`)."""

import bisect
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP
from app.demo.catalogs import SeededTechnology
from app.demo.corpus import CONTRACT_STAGES
from app.demo.organizations import SeededOrganization, SeededOrganizations
from app.demo.plan import AS_OF, LAUNCH, SHANGHAI, DealPlan, SeedScale, allocate
from app.demo.rows import Progress
from app.demo.text import deal_terms, deal_title, new_id
from app.models.deals import (
    ContractCategory,
    Deal,
    DealMilestone,
    DealRegistration,
    DealStatus,
    MilestoneStatus,
)
from app.models.ledger import EntryKind
from app.models.orgs import OrganizationKind
from app.services import deals as deals_service
from app.services import registrations as registrations_service
from app.services.deals import DealState
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.entries import EntryFacts

SEED_ACTOR = "system:seed"
"""``created_by`` of the seeded deals and journal entries: the dataset, not a person."""
DEAL_MIN_YUAN = 20_000
DEAL_MAX_YUAN = 800_000
DEAL_STEP_YUAN = 100
"""Contract amounts are whole hundreds of yuan: at the platform's rates every fee and tax is a
whole number of fen, so the plan's figures are exact."""
YUAN_FEN = 100
#: Holidays on the zone's calendar (National Day, New Year, Qingming, Labour Day): what
#: would fall on one happens on the next working day.
DAYS_OFF = (
    (date(2019, 10, 1), date(2019, 10, 7)),
    (date(2020, 1, 1), date(2020, 1, 1)),
    (date(2020, 4, 4), date(2020, 4, 6)),
    (date(2020, 5, 1), date(2020, 5, 5)),
)
#: The Spring Festival, extended for COVID-19 until work resumed on 10 February 2020: nothing
#: was planned for those weeks, so a schedule with a step in them is drawn again (moving its
#: steps to the 10th would make a rush that did not happen).
CLOSED = (date(2020, 1, 24), date(2020, 2, 9))


def working_day(after: datetime) -> date:
    """The first working day (Shanghai) on or after ``after``'s."""
    day = after.astimezone(SHANGHAI).date()
    while day.weekday() >= 5 or any(first <= day <= last for first, last in DAYS_OFF):
        day += timedelta(days=1)
    return day


def working_time(rng: random.Random, after: datetime) -> datetime:
    """A time in office hours (Shanghai) of the first working day on or after ``after``'s."""
    day = working_day(after)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)
    return (start + timedelta(seconds=rng.randrange(8 * 3600 + 1800))).astimezone(UTC)


def deal_schedule(
    rng: random.Random,
    earliest: datetime,
    gaps: Sequence[tuple[int, int]],
    *,
    growth: bool = False,
) -> list[datetime]:
    """Working times of a deal's steps: the first on or after ``earliest``, each next one a
    number of days in its gap's range after the previous one, the last by the end of May 2020.
    ``growth``: more deals later, as the platform grew (see :func:`timeline`)."""
    if any(low < 1 for low, _ in gaps):
        raise ValueError("steps are at least a day apart (a step's day comes after the last's)")
    for _ in range(1000):
        days = [rng.uniform(low, high) for low, high in gaps]
        room = AS_OF - timedelta(days=sum(days) + 1) - earliest
        if room <= timedelta(0):
            break
        share = math.sqrt(rng.random()) if growth else rng.random()
        times = [working_time(rng, earliest + room * share)]
        for gap in days:
            times.append(working_time(rng, times[-1] + timedelta(days=gap)))
        closed = any(CLOSED[0] <= t.astimezone(SHANGHAI).date() <= CLOSED[1] for t in times)
        if times[-1] <= AS_OF and not closed:
            return times
    raise ValueError(f"no schedule of {len(gaps)} gaps after {earliest} ends by {AS_OF}")


def split_amount(rng: random.Random, total: int, count: int) -> list[int]:
    """``count`` contract amounts in yuan adding up to ``total``: whole hundreds between the
    smallest and the largest contract, most of them small and a few large (log-normal)."""
    low, high, step = DEAL_MIN_YUAN, DEAL_MAX_YUAN, DEAL_STEP_YUAN
    if total % step or not count * low <= total <= count * high:
        raise ValueError(f"{total} yuan cannot be {count} contracts of {low} to {high} yuan")
    weights = [rng.lognormvariate(0, 0.9) for _ in range(count)]
    unit = total / sum(weights)
    amounts = [min(high, max(low, round(w * unit / step) * step)) for w in weights]
    order = list(range(count))
    rng.shuffle(order)
    missing = total - sum(amounts)
    while missing:  # what rounding and the bounds took or added, on the first with room
        for index in order:
            room = high - amounts[index] if missing > 0 else low - amounts[index]
            move = min(missing, room) if missing > 0 else max(missing, room)
            amounts[index] += move
            missing -= move
            if not missing:
                break
    return amounts


def _contract_amount(rng: random.Random, high: int = DEAL_MAX_YUAN) -> int:
    """A contract amount in yuan, log-uniform: as many 20–40k contracts as 400–800k ones."""
    amount = math.exp(rng.uniform(math.log(DEAL_MIN_YUAN), math.log(high)))
    step = 1000 if amount >= 100_000 else DEAL_STEP_YUAN
    return max(DEAL_MIN_YUAN, min(high, round(amount / step) * step))


def stage_amounts(rng: random.Random, gross: int, count: int) -> list[int]:
    """The amounts of ``count`` payment stages of a contract, whole hundreds adding up."""
    weights = [rng.uniform(1, 3) for _ in range(count)]
    amounts = [
        max(DEAL_STEP_YUAN, round(gross * w / sum(weights) / DEAL_STEP_YUAN) * DEAL_STEP_YUAN)
        for w in weights[:-1]
    ]
    return [*amounts, gross - sum(amounts)]


@dataclass(slots=True)
class PlannedDeal:
    """A deal as it stands at the end of May 2020 (amounts in yuan)."""

    id: uuid.UUID
    status: DealStatus
    category: ContractCategory
    gross: int
    stages: list[tuple[str, int]]
    """Payment stages (title, amount); none for a contract settled in one go."""
    released_stages: int
    """How many stages have been settled (settled deals without stages: none, all released)."""
    buyer: SeededOrganization
    times: list[datetime] = field(default_factory=list)
    """Created, then funded or cancelled, then each release, then the refund."""
    technology: SeededTechnology | None = None
    """The listing contracted for; its owner is the seller."""
    title: str = ""
    terms: str = ""
    demand_id: uuid.UUID | None = None
    """The demand whose award opened the deal (app/demo/demands.py): then the deal names no
    technology, its title is the demand's, and the winning proposal is the technology's
    owner's."""

    @property
    def seller(self) -> SeededOrganization:
        assert self.technology is not None
        return self.technology.owner


@dataclass(frozen=True, slots=True)
class DealFigures:
    """What the seeded deals add up to, as the ledger's totals read them."""

    by_status: dict[DealStatus, int]
    transaction_volume_fen: int
    tax_total_fen: int
    fee_total_fen: int
    enterprises_served: int
    entries: int


def _stages(
    rng: random.Random, category: ContractCategory, gross: int, *, required: bool
) -> list[tuple[str, int]]:
    """Payment stages of a contract: none (paid in one go) or 2–4 named ones."""
    names = CONTRACT_STAGES[category.value]
    by_milestone = category in (ContractCategory.development, ContractCategory.transfer)
    if not required and rng.random() >= (0.5 if by_milestone else 0.2):
        return []
    count = rng.choice((2, 3, 4)) if len(names) > 2 else 2
    titles = [*names[: count - 1], names[-1]]
    return list(zip(titles, stage_amounts(rng, gross, count), strict=True))


def plan_deals(
    rng: random.Random, plan: DealPlan, enterprises: list[SeededOrganization]
) -> list[PlannedDeal]:
    """Every deal's outcome, category, amounts and buyer; settled deals' amounts make up what
    the plan releases per category, with what the unfinished deals released first."""
    if plan.settled < len(enterprises):
        raise ValueError("every enterprise buys at least one settled deal")
    categories = list(plan.released_yuan)
    weights = [plan.released_yuan[c] for c in categories]
    buyer_weights = [o.weight for o in enterprises]

    def unfinished(status: DealStatus, *, partly_released: bool) -> PlannedDeal:
        if partly_released:  # paid by milestone: development and transfer contracts
            category = rng.choice(
                (
                    ContractCategory.development,
                    ContractCategory.development,
                    ContractCategory.transfer,
                )
            )
            gross = _contract_amount(rng, high=250_000)
        else:
            category = rng.choices(categories, weights)[0]
            gross = _contract_amount(rng)
        return PlannedDeal(
            id=new_id(rng),
            status=status,
            category=category,
            gross=gross,
            stages=_stages(rng, category, gross, required=partly_released),
            released_stages=1 if partly_released else 0,
            buyer=rng.choices(enterprises, buyer_weights)[0],
        )

    deals = [unfinished(DealStatus.funded, partly_released=n % 2 == 0) for n in range(plan.funded)]
    deals += [
        unfinished(DealStatus.refunded, partly_released=n == 0 and plan.refunded > 1)
        for n in range(plan.refunded)
    ]
    deals += [unfinished(DealStatus.created, partly_released=False) for _ in range(plan.open)]
    deals += [
        unfinished(DealStatus.cancelled, partly_released=False) for _ in range(plan.cancelled)
    ]
    released = dict.fromkeys(categories, 0)
    for deal in deals:
        released[deal.category] += sum(amount for _, amount in deal.stages[: deal.released_stages])

    settled = []
    for category, count in zip(categories, allocate(plan.settled, weights, minimum=1), strict=True):
        for gross in split_amount(rng, plan.released_yuan[category] - released[category], count):
            stages = _stages(rng, category, gross, required=False)
            settled.append(
                PlannedDeal(
                    id=new_id(rng),
                    status=DealStatus.settled,
                    category=category,
                    gross=gross,
                    stages=stages,
                    released_stages=len(stages),
                    buyer=enterprises[0],
                )
            )
    rng.shuffle(settled)
    buyers = rng.sample(enterprises, len(enterprises))
    buyers += rng.choices(enterprises, buyer_weights, k=len(settled) - len(enterprises))
    for deal, buyer in zip(settled, buyers, strict=True):
        deal.buyer = buyer
    return settled + deals


def schedule_deal(rng: random.Random, deal: PlannedDeal) -> list[datetime]:
    """When the deal was created, funded or cancelled, released and refunded."""
    first_day = LAUNCH + timedelta(days=5)  # partners' listings are in by then
    releases = 1 if deal.status is DealStatus.settled and not deal.stages else deal.released_stages
    if not deal.stages:
        release_gaps = [(20, 75)] * releases
    else:
        release_gaps = [(15, 45), (10, 40), (10, 40), (10, 40)][:releases]
    if deal.status is DealStatus.settled:
        return deal_schedule(rng, first_day, [(1, 10), *release_gaps], growth=True)
    if deal.status is DealStatus.funded:  # recent: still in escrow at the end of May
        return deal_schedule(rng, AS_OF - timedelta(days=80), [(1, 7), *release_gaps])
    if deal.status is DealStatus.refunded:
        return deal_schedule(rng, first_day, [(1, 10), *release_gaps, (10, 45)], growth=True)
    if deal.status is DealStatus.cancelled:
        return deal_schedule(rng, first_day, [(2, 20)], growth=True)
    return deal_schedule(rng, AS_OF - timedelta(days=30), [])


def _pick_technology(
    rng: random.Random,
    technologies: list[SeededTechnology],
    published: list[datetime],
    deal: PlannedDeal,
) -> SeededTechnology:
    """A technology listed a day before the deal, not the buyer's own; mostly in one of the
    buyer's fields and of a university or institute."""
    listed = bisect.bisect_left(published, deal.times[0] - timedelta(days=1))
    for attempt in range(400):
        technology = technologies[rng.randrange(listed)]
        if technology.owner.id == deal.buyer.id:
            continue
        if attempt < 200 and technology.field not in deal.buyer.fields:
            continue
        if attempt < 100 and not technology.owner.is_research and rng.random() < 0.7:
            continue
        return technology
    raise ValueError(f"no technology for {deal.buyer.name} before {deal.times[0]}")


@dataclass(slots=True)
class _Books:
    """The seeded deals' rows and the journal entries they cause, in the order they happen."""

    deals: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    entries: list[tuple[datetime, int, EntryFacts, list[tuple[uuid.UUID, int]]]] = field(
        default_factory=list
    )


def _write_up(
    rng: random.Random,
    deal: PlannedDeal,
    number: int,
    seller_account: uuid.UUID | None,
    books: _Books,
) -> None:
    """The deal's rows and entries, amounts in fen, as :mod:`app.services.deals` writes them:
    its state machine (:class:`~app.services.deals.DealState`), split of each release,
    postings and memos, replayed at the planned times."""
    assert deal.technology is not None
    gross = deal.gross * YUAN_FEN
    fee_rate = DEFAULT_FEE_RATE_BP[deal.category.value]
    tax_rate = DEFAULT_TAX_RATE_BP[deal.category.value]
    steps = iter(deal.times)
    created = next(steps)
    milestones: list[dict[str, Any]] = [
        {
            "id": new_id(rng),
            "deal_id": deal.id,
            "position": position,
            "amount_fen": amount * YUAN_FEN,
            "status": MilestoneStatus.pending,
            "settled_at": None,
            "title": title,
            "created_at": created,
            "updated_at": created,
        }
        for position, (title, amount) in enumerate(deal.stages, start=1)
    ]
    facts = partial(
        EntryFacts,
        created_by=SEED_ACTOR,
        deal_id=deal.id,
        category=deal.category,
        buyer_id=deal.buyer.id,
        seller_id=deal.seller.id,
    )
    state = DealState()
    if deal.status is DealStatus.cancelled:
        state = state.cancelled(at=next(steps))
    elif deal.status is not DealStatus.created:
        funded_at = next(steps)
        books.entries.append(
            (
                funded_at,
                number,
                facts(kind=EntryKind.funding, memo=deals_service.funding_memo(deal.title)),
                deals_service.funding_postings(gross),
            )
        )
        state = state.funded(gross, at=funded_at)
        parts: list[tuple[int, dict[str, Any] | None]]
        if deal.stages:
            parts = [(m["amount_fen"], m) for m in milestones[: deal.released_stages]]
        else:
            parts = [(gross, None)] if deal.status is DealStatus.settled else []
        for amount, milestone in parts:
            assert seller_account is not None
            at = next(steps)
            release = state.release(amount, fee_rate_bp=fee_rate, tax_rate_bp=tax_rate)
            state = state.released(release, at=at)
            postings = deals_service.settlement_postings(release, seller_account)
            entry = facts(
                kind=EntryKind.settlement,
                milestone_id=milestone["id"] if milestone else None,
                volume_fen=amount,
                fee_fen=release.fee_fen,
                tax_fen=release.tax_fen,
                memo=deals_service.settlement_memo(
                    deal.title, milestone["title"] if milestone else None
                ),
            )
            books.entries.append((at, number, entry, postings))
            if milestone:
                milestone.update(status=MilestoneStatus.settled, settled_at=at, updated_at=at)
        if deal.status is DealStatus.refunded:
            refunded_at = next(steps)
            books.entries.append(
                (
                    refunded_at,
                    number,
                    facts(kind=EntryKind.refund, memo=deals_service.refund_memo(deal.title)),
                    deals_service.refund_postings(state.escrow_fen),
                )
            )
            state = state.refunded(at=refunded_at)
            for milestone in milestones:
                if milestone["status"] is MilestoneStatus.pending:
                    milestone.update(status=MilestoneStatus.refunded, updated_at=refunded_at)
    assert state.status is deal.status, (deal.id, state.status, deal.status)
    values = deals_service.new_deal_values(
        buyer_id=deal.buyer.id,
        seller_id=deal.seller.id,
        # opened for a listing, or by an award (the demand, then, not a listing)
        technology_id=deal.technology.id if deal.demand_id is None else None,
        demand_id=deal.demand_id,
        category=deal.category,
        title=deal.title,
        terms=deal.terms,
        gross_fen=gross,
        fee_rate_bp=DEFAULT_FEE_RATE_BP,
        tax_rate_bp=DEFAULT_TAX_RATE_BP,
        created_by=SEED_ACTOR,
        state=state,
    )
    books.deals.append(
        {
            "id": deal.id,
            "created_at": created,
            "updated_at": deal.times[-1],
            "version": 1,
            **values,
        }
    )
    books.milestones += milestones


#: Registration (技术合同认定登记) in the demo: most transfer and development contracts that
#: stand are filed, most of those registered within a month; some state non-technical costs.
REGISTERED_CATEGORIES = (ContractCategory.transfer, ContractCategory.development)
FILED_SHARE, GRANTED_SHARE, NON_TECHNICAL_SHARE = 0.9, 0.85, 0.3
REGION_CODE = "410100"


def registration_rows(planned: Sequence[PlannedDeal]) -> list[dict[str, Any]]:
    """The registration records of the planned transfer and development contracts: signed the
    day the deal was made, filed with a sub-kind of the category
    (:data:`app.services.registrations.SUB_KINDS`) and, for most, registered 3–30 days later
    (before the dataset's end). Each deal draws from its own generator (seeded by its id), so
    the other sections' draws do not change."""
    rows: list[dict[str, Any]] = []
    for deal in planned:
        if deal.category not in REGISTERED_CATEGORIES or deal.status not in (
            registrations_service.FILABLE
        ):
            continue
        rng = random.Random(deal.id.int)
        if rng.random() >= FILED_SHARE:
            continue
        created = deal.times[0]
        signed_on = created.astimezone(SHANGHAI).date()
        gross = deal.gross * YUAN_FEN
        non_technical = 0
        if rng.random() < NON_TECHNICAL_SHARE:  # equipment or materials: 5–20 %, whole hundreds
            non_technical = gross * rng.randint(5, 20) // 100 // 10_000 * 10_000
        sequence = len(rows) + 1
        day = signed_on + timedelta(days=rng.randint(3, 30))
        granted = rng.random() < GRANTED_SHARE and day <= AS_OF.astimezone(SHANGHAI).date()
        registered_on = day if granted else None
        at = datetime.combine(registered_on or signed_on, time(10), tzinfo=SHANGHAI)
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "created_at": created,
                "updated_at": max(created, at.astimezone(UTC)),
                "version": 2 if granted else 1,
                "deal_id": deal.id,
                "contract_number": f"{REGION_CODE}{signed_on.year}{sequence:06d}",
                "sub_kind": rng.choice(sorted(registrations_service.SUB_KINDS[deal.category])),
                "signed_on": signed_on,
                "non_technical_fen": non_technical,
                "registration_number": (
                    f"{registered_on.year}{REGION_CODE}{sequence:06d}" if registered_on else None
                ),
                "registered_on": registered_on,
                "filed_by": SEED_ACTOR,
                "registered_by": SEED_ACTOR if granted else None,
            }
        )
    return rows


def plan_seeded_deals(
    rng: random.Random,
    *,
    scale: SeedScale,
    organizations: SeededOrganizations,
    technologies: list[SeededTechnology],
) -> list[PlannedDeal]:
    """Enterprises' contracts for published technologies from launch to the end of May 2020,
    in creation order: the plan's settled volume (every enterprise served), plus deals still
    in escrow, open, cancelled and refunded; each one's schedule, technology (so seller),
    title and terms. Nothing is written: the demands section makes some of them awards'
    (:func:`app.demo.demands.plan_demands`) before :func:`write_deals` writes them."""
    planned = plan_deals(rng, scale.deals, organizations.of_kind(OrganizationKind.enterprise))
    published = [t.published_at for t in technologies]
    for deal in planned:
        deal.times = schedule_deal(rng, deal)
        deal.technology = _pick_technology(rng, technologies, published, deal)
        deal.title = deal_title(rng, deal.category.value, deal.technology.title)
        deal.terms = deal_terms(rng, deal.category.value, deal.stages, deal.gross)
    planned.sort(key=lambda d: (d.times[0], d.id))
    return planned


async def write_deals(
    session: AsyncSession, *, rng: random.Random, planned: list[PlannedDeal], progress: Progress
) -> DealFigures:
    """The planned deals' rows, paid through escrow.

    Deal and milestone rows go in as the other sections' rows do; every movement of money is
    a journal entry written by :func:`app.services.ledger.posting.post_entry` at the time it
    happened, in time order, so the hash chains and balances are the ledger's own. The ledger
    draws the entries' ids and chains itself: those (and so the hashes) differ from run to run.
    """
    paid = {d.seller.id for d in planned if d.status is DealStatus.settled or d.released_stages}
    accounts = {
        seller: await ledger_accounts.organization_account(session, seller)
        for seller in sorted(paid)
    }
    books = _Books()
    for number, deal in enumerate(planned):
        _write_up(rng, deal, number, accounts.get(deal.seller.id), books)
    books.entries.sort(key=lambda e: (e[0], e[1]))

    advance = progress.task("deals", len(books.deals) + len(books.entries))
    await bulk.copy_rows(session, Deal, books.deals, advance)
    await bulk.copy_rows(session, DealMilestone, books.milestones)
    await bulk.copy_rows(session, DealRegistration, registration_rows(planned))
    for occurred_at, _, facts, postings in books.entries:
        await ledger_posting.post_entry(session, facts, postings, occurred_at=occurred_at)
        advance(1)

    settlements = [f for _, _, f, _ in books.entries if f.kind is EntryKind.settlement]
    by_status = dict.fromkeys(DealStatus, 0)
    for deal in planned:
        by_status[deal.status] += 1
    return DealFigures(
        by_status=by_status,
        transaction_volume_fen=sum(f.volume_fen for f in settlements),
        tax_total_fen=sum(f.tax_fen for f in settlements),
        fee_total_fen=sum(f.fee_fen for f in settlements),
        enterprises_served=len({f.buyer_id for f in settlements}),
        entries=len(books.entries),
    )
