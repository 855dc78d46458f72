"""What the demo dataset holds and when: its scales, the deal plan, the platform's first eight
months, and how counts and creation times are drawn over them."""

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.models.catalog import CatalogStatus
from app.models.deals import ContractCategory

#: The platform went live on this day; the published figures are those of the end of May 2020,
#: on the zone's calendar (Asia/Shanghai): ``?as_of=2020-05-31`` must count every seeded row.
SHANGHAI = ZoneInfo("Asia/Shanghai")
LAUNCH = datetime(2019, 9, 20, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
AS_OF = datetime(2020, 5, 31, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)


class ScaleName(StrEnum):
    seed = "seed"
    small = "small"


@dataclass(frozen=True, slots=True)
class DealPlan:
    """How many deals end each way by the end of May 2020, and the gross released to sellers
    by then per contract category, in yuan: the ledger's transaction volume, from which the
    default rates (``app.core.config``) make its fee and tax."""

    settled: int
    """Funded and settled, whole or milestone by milestone; every enterprise buys one."""
    funded: int
    """In escrow, awaiting acceptance; every other one has settled its first milestone."""
    open: int
    """Created, not yet paid."""
    cancelled: int
    refunded: int
    """Funded, then refunded; if there are several, the first after settling a milestone."""
    released_yuan: Mapping[ContractCategory, int]

    @property
    def total(self) -> int:
        return self.settled + self.funded + self.open + self.cancelled + self.refunded


@dataclass(frozen=True, slots=True)
class DemandPlan:
    """How many demands stand each way at the end of May 2020, besides the awarded ones,
    which are deals' (as many of the deal plan's as can have come from a demand, up to
    ``awarded``: see app/demo/demands.py)."""

    draft: int
    open: int
    """Taking proposals at the end of May 2020, deadlines weeks later: closed when read today."""
    standing: int
    """Standing calls open for years (deadline at the end of 2030): open when read today."""
    closed: int
    """Deadline passed by the end of May 2020, no decision yet."""
    unsuccessful: int
    cancelled: int
    """A quarter of them never published."""
    awarded: int
    hidden: int
    """Demands of the above hidden by an operator (moderation), beyond the counts."""

    @property
    def total(self) -> int:
        return (
            self.draft
            + self.open
            + self.standing
            + self.closed
            + self.unsuccessful
            + self.cancelled
            + self.awarded
        )


@dataclass(frozen=True, slots=True)
class SeedScale:
    """How many of everything: published items (exact), organizations by kind."""

    name: str
    universities: int
    research_institutes: int
    financial_institutions: int
    enterprises: int
    talents: int
    technologies: int
    policies: int
    ip_assets: int
    deals: DealPlan
    demands: DemandPlan
    unpublished_per_mille: int = 5
    """Drafts and withdrawn items added beyond the published counts, per thousand."""

    def unpublished(self, published: int) -> int:
        return published * self.unpublished_per_mille // 1000


SCALES: dict[ScaleName, SeedScale] = {
    ScaleName.seed: SeedScale(
        name="seed",
        universities=30,
        research_institutes=45,
        financial_institutions=40,
        enterprises=64,
        talents=3925,
        technologies=7884,
        policies=100_000,
        ip_assets=12_000,
        # 9,617,000.00 CNY released, 1,121,930.00 CNY tax at the default rates.
        deals=DealPlan(
            settled=100,
            funded=14,
            open=12,
            cancelled=8,
            refunded=6,
            released_yuan={
                ContractCategory.development: 3_688_000,
                ContractCategory.transfer: 2_726_000,
                ContractCategory.consulting: 1_163_000,
                ContractCategory.service: 2_040_000,
            },
        ),
        demands=DemandPlan(
            draft=30,
            open=40,
            standing=20,
            closed=40,
            unsuccessful=70,
            cancelled=36,
            awarded=32,
            hidden=4,
        ),
    ),
    ScaleName.small: SeedScale(
        name="small",
        universities=3,
        research_institutes=5,
        financial_institutions=4,
        enterprises=6,
        talents=40,
        technologies=79,
        policies=1000,
        ip_assets=120,
        # 961,700.00 CNY released, 112,193.00 CNY tax at the default rates.
        deals=DealPlan(
            settled=8,
            funded=2,
            open=1,
            cancelled=1,
            refunded=1,
            released_yuan={
                ContractCategory.development: 368_800,
                ContractCategory.transfer: 272_600,
                ContractCategory.consulting: 116_300,
                ContractCategory.service: 204_000,
            },
        ),
        demands=DemandPlan(
            draft=2,
            open=2,
            standing=2,
            closed=2,
            unsuccessful=3,
            cancelled=4,
            awarded=3,
            hidden=1,
        ),
    ),
}


def timeline(rng: random.Random, count: int, *, launch_share: float = 0.3) -> list[datetime]:
    """``count`` creation times between launch and the end of May 2020, in order.

    A share arrives in the first three days (partners' initial imports); the rest at a rate
    growing through the period.
    """
    launch_days = timedelta(days=3)
    rest = AS_OF - LAUNCH - launch_days
    times = []
    for _ in range(count):
        if rng.random() < launch_share:
            offset = launch_days * rng.random()
        else:
            offset = launch_days + rest * math.sqrt(rng.random())
        times.append(LAUNCH + timedelta(microseconds=offset // timedelta(microseconds=1)))
    times.sort()
    return times


def statuses(rng: random.Random, published: int, unpublished: int) -> list[CatalogStatus]:
    """``published`` published items and the rest drafts or withdrawn, in random order."""
    result = [CatalogStatus.published] * published + [
        CatalogStatus.draft if rng.random() < 0.6 else CatalogStatus.withdrawn
        for _ in range(unpublished)
    ]
    rng.shuffle(result)
    return result


def allocate(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders), each at least
    ``minimum`` while the total allows."""
    count = len(weights)
    if count == 0:
        return []
    floor = minimum if minimum * count <= total else 0
    remaining = total - floor * count
    weight_sum = sum(weights) or 1.0
    shares = [remaining * w / weight_sum for w in weights]
    result = [floor + int(s) for s in shares]
    by_remainder = sorted(range(count), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in by_remainder[: total - sum(result)]:
        result[i] += 1
    return result
