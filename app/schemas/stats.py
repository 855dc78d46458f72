"""The headline statistics shape."""

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from app.schemas.base import MoneyOut, Schema


class OverviewRead(Schema):
    """The platform's headline figures, computed from its data as of a time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2020-05-31T15:59:59.999999Z",
                    "talents": 3925,
                    "technologies": 7884,
                    "policies": 100000,
                    "ip_assets": 12000,
                    "financial_institutions": 40,
                    "universities_and_institutes": 75,
                    "transaction_volume": "9500000.00",
                    "tax_total": "1100000.00",
                    "tax_remitted": "950000.00",
                    "currency": "CNY",
                    "enterprises_served": 60,
                    "demands_total": 225,
                    "demands_open": 60,
                    "challenges_open": 16,
                    "proposals_total": 469,
                    "deals_from_demands": 32,
                    "matches_shown": 1840,
                    "introductions": 57,
                }
            ]
        }
    )

    as_of: datetime
    talents: int = Field(description="Published talent records (人才数据).")
    technologies: int = Field(description="Published technologies (技术数据).")
    policies: int = Field(description="Published policies (政策数据).")
    ip_assets: int = Field(description="Published IP records (知识产权数据).")
    financial_institutions: int = Field(description="Financial institutions (金融机构).")
    universities_and_institutes: int = Field(description="Universities and institutes (高校院所).")
    transaction_volume: MoneyOut = Field(
        description="Gross released to sellers by settlements, less reversed ones (平台交易总额)."
    )
    tax_total: MoneyOut = Field(
        description="Tax accrued: withheld from those releases at settlement, owed to the tax"
        " authority (纳税总额, accrued); what was paid is `tax_remitted`."
    )
    tax_remitted: MoneyOut = Field(
        description="Tax paid to the tax authority by `as_of` (tax remittances with their"
        " receipts, 已缴税款)."
    )
    currency: Literal["CNY"] = "CNY"
    enterprises_served: int = Field(
        description="Enterprises that bought with money released, net of reversals (服务企业)."
    )
    demands_total: int = Field(
        description="Demands posted (需求): opened (published) by `as_of` and not hidden by an"
        " operator at `as_of`; drafts never count."
    )
    demands_open: int = Field(
        description="Of `demands_total`, those taking proposals at `as_of`: deadline after"
        " `as_of`, and neither cancelled nor decided (awarded or closed as unsuccessful) by"
        " then. A demand past its deadline awaiting a decision is closed, not open."
    )
    challenges_open: int = Field(
        description="Of `demands_open`, the challenges (揭榜挂帅: published problems with a"
        " reward)."
    )
    proposals_total: int = Field(
        description="Proposals submitted by `as_of` and not withdrawn by then, whatever became"
        " of them after (awarded, unsuccessful or still under review)."
    )
    deals_from_demands: int = Field(
        description="Deals opened by awarding a demand's proposal, created by `as_of` (each"
        " awarded demand opens exactly one)."
    )
    matches_shown: int = Field(
        description="Demand–provider pairs shown as a match by `as_of` (牵线搭桥): a provider"
        " counts once per demand, whether its listings were among the demand's matches or the"
        " demand among its matched demands."
    )
    introductions: int = Field(
        description="Of `matches_shown`, the pairs whose provider submitted a proposal to the"
        " demand after first being shown it, by `as_of` (once per pair, even if withdrawn"
        " later): the platform's own matchmaking figure."
    )
