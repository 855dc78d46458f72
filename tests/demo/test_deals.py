"""The demo's deal plan: the published figures, every enterprise served, amounts that add up,
schedules within the platform's first eight months."""

import random
import uuid

import pytest

from app.core.config import DEFAULT_TAX_RATE_BP
from app.demo import deals, organizations
from app.demo.plan import AS_OF, LAUNCH, SCALES, ScaleName
from app.models.deals import ContractCategory, DealStatus
from app.models.orgs import OrganizationKind
from app.services.deals import share


def test_the_seed_scale_passes_the_published_deal_figures() -> None:
    deal_plan = SCALES[ScaleName.seed].deals
    released = {c: yuan * 100 for c, yuan in deal_plan.released_yuan.items()}
    volume = sum(released.values())
    tax = sum(share(fen, DEFAULT_TAX_RATE_BP[c.value]) for c, fen in released.items())
    assert (volume, tax) == (961_700_000, 112_193_000)  # 9,617,000.00 and 1,121,930.00 CNY
    assert volume >= 950_000_000
    assert tax >= 110_000_000


@pytest.mark.parametrize("scale_name", list(ScaleName))
def test_deal_plan_releases_the_planned_volume_and_serves_every_enterprise(
    scale_name: ScaleName,
) -> None:
    scale = SCALES[scale_name]
    enterprises = [
        organizations.SeededOrganization(
            id=uuid.UUID(int=n + 1),
            name=f"企业{n}",
            kind=OrganizationKind.enterprise,
            code=f"ENT{n:03d}",
            region="河南省郑州市",
            fields=[],
            weight=0.1 + n % 5 / 10,
        )
        for n in range(scale.enterprises)
    ]
    for random_seed in range(20):
        rng = random.Random(random_seed)
        planned = deals.plan_deals(rng, scale.deals, enterprises)
        assert len(planned) == scale.deals.total
        released = dict.fromkeys(ContractCategory, 0)
        for deal in planned:
            stages = [amount for _, amount in deal.stages]
            assert not stages or sum(stages) == deal.gross
            assert all(amount > 0 and amount % 100 == 0 for amount in stages)
            assert 20_000 <= deal.gross <= 800_000
            if deal.status is DealStatus.settled:
                released[deal.category] += deal.gross
            else:
                released[deal.category] += sum(stages[: deal.released_stages])
            deal.times = deals.schedule_deal(rng, deal)
            assert deal.times == sorted(set(deal.times))
            assert LAUNCH < deal.times[0]
            assert deal.times[-1] <= AS_OF
        # every kind the plan names (the demo plans no license contracts: issue 15)
        assert released == {c: scale.deals.released_yuan.get(c, 0) for c in ContractCategory}
        settled_buyers = {d.buyer.id for d in planned if d.status is DealStatus.settled}
        assert settled_buyers == {e.id for e in enterprises}


def test_split_amount_adds_up_within_bounds() -> None:
    rng = random.Random(1)
    for count, total in ((1, 20_000), (1, 800_000), (3, 60_000), (10, 4_321_900), (40, 2_400_000)):
        amounts = deals.split_amount(rng, total, count)
        assert sum(amounts) == total
        assert all(20_000 <= a <= 800_000 and a % 100 == 0 for a in amounts)
    for count, total in ((2, 39_900), (1, 800_100), (3, 100_050)):
        with pytest.raises(ValueError, match="cannot be"):
            deals.split_amount(rng, total, count)
