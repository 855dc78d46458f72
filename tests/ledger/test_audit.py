"""What auditors read: totals by period and party, balances as of a past time, entries,
CSV and Beancount exports (checked by ``bean-check``), and that auditors only read.

The ledger below is written through the API with the deal services' clock fixed at known
instants (Shanghai is UTC+8, so 2020-03-31T16:30Z is 2020-04-01 in the platform's calendar).
Every expected figure is worked out by hand from the default rates: development and transfer
take a 3% fee and 11% tax, consulting and service 5% and 13%, rounded half up to the fen.
"""

import csv
import io
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.security import Scope
from app.models.ledger import EntryKind
from app.models.orgs import Organization, OrganizationKind
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import export as ledger_export
from app.services.ledger import posting as ledger_posting
from app.services.ledger.entries import EntryFacts
from tests import builders
from tests.deals.conftest import Clock, Market, fixed_clock, post

BEAN_CHECK = Path(sys.executable).with_name("bean-check")
MONEY = re.compile(r"^-?\d+\.\d{2}$")
PLATFORM_ZONE = ZoneInfo("Asia/Shanghai")


def fen(text: str) -> int:
    assert MONEY.match(text), text
    return int(Decimal(text) * 100)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Book:
    """The ledger of the scenario: who is who, and the ids the tests look things up by."""

    market: Market
    clock: Clock
    seller_a: Organization
    seller_b: Organization
    e1: Organization
    e2: Organization
    e3: Organization
    deals: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # code → id

    def org(self, name: str) -> str:
        return str(getattr(self, name).id)


async def _act(
    client: AsyncClient, book: Book, when: str, path: str, body: Any = None
) -> dict[str, Any]:
    book.clock.now = instant(when)
    done = await post(client, path, book.market.operator, body)
    assert done.status_code in (200, 201), (path, done.text)
    return dict(done.json())


async def _open(
    client: AsyncClient,
    book: Book,
    name: str,
    *,
    technology: Any = None,
    buyer: Organization,
    category: str,
    gross: str,
    milestones: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "technology_id": str((technology or book.market.technology).id),
        "buyer_id": str(buyer.id),
        "title": f"技术合同{name}",
        "category": category,
        "gross_amount": gross,
    }
    if milestones:
        body["milestones"] = milestones
    deal = await _act(client, book, "2020-01-01T00:00:00Z", "/v1/deals", body)
    book.deals[name] = deal["id"]
    return deal


async def _settlement_of(client: AsyncClient, book: Book, deal: str) -> str:
    found = await auditor_get(
        client, book, "/v1/ledger/entries", deal_id=book.deals[deal], kind="settlement"
    )
    (entry,) = found.json()["items"]
    return str(entry["id"])


async def auditor_get(client: AsyncClient, book: Book, path: str, **params: Any) -> Response:
    got = await client.get(path, params=params, headers=book.market.auditor.headers)
    assert got.status_code == 200, (path, params, got.text)
    return got


# The scenario of ``book``: its deals (technology of seller A or B, buyer, category, gross,
# milestones) and, in order, what happens to them: (instant, deal, action, detail), where a
# settlement's detail is the milestone's index and a reversal's is its reason.
DEALS: dict[str, tuple[str, str, str, str, list[dict[str, str]] | None]] = {
    "D1": ("a", "e1", "transfer", "100000.00", None),
    "D2": ("b", "e2", "consulting", "20000.05", None),
    "D3": (
        "b",
        "e1",
        "development",
        "50000.00",
        [{"title": "样机交付", "amount": "20000.00"}, {"title": "中试验收", "amount": "30000.00"}],
    ),
    "D4": ("a", "e3", "service", "10000.00", None),
    "D5": ("a", "e3", "transfer", "30000.00", None),
    "D6": ("a", "e2", "transfer", "40000.00", None),
}
STORY: list[tuple[str, str, str, Any]] = [
    ("2020-01-10T02:00:00Z", "D1", "fund", None),
    ("2020-01-15T02:00:00Z", "D1", "settle", None),
    ("2020-02-01T00:00:00Z", "D2", "fund", None),
    ("2020-03-31T16:30:00Z", "D2", "settle", None),
    ("2020-04-05T02:00:00Z", "D3", "fund", None),
    ("2020-05-10T04:00:00Z", "D3", "settle", 0),
    ("2020-06-01T04:00:00Z", "D3", "refund", None),
    ("2020-06-10T02:00:00Z", "D4", "fund", None),
    ("2020-06-30T15:30:00Z", "D4", "settle", None),
    ("2020-07-02T03:00:00Z", "D4", "reverse", '验收未通过 "重复结算" \\ 退回'),
    ("2020-08-01T02:00:00Z", "D5", "fund", None),
    ("2020-08-15T02:00:00Z", "D5", "settle", None),
    ("2020-08-20T02:00:00Z", "D5", "reverse", "金额录入错误"),
    ("2020-12-01T02:00:00Z", "D6", "fund", None),
    ("2020-12-31T17:00:00Z", "D6", "settle", None),
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return fixed_clock(monkeypatch, instant("2020-01-01T00:00:00Z"))


@pytest.fixture
async def book(client: AsyncClient, market: Market, session: AsyncSession, clock: Clock) -> Book:
    """Six deals over 2020 and early 2021 (UTC instants; Shanghai dates in the comments):

    D1 E1←A transfer    100000.00  funded 01-10, settled 01-15 10:00
    D2 E2←B consulting   20000.05  funded 02-01, settled 2020-03-31T16:30Z = 04-01 00:30
    D3 E1←B development  50000.00  funded 04-05, milestone 20000.00 settled 05-10, rest
                                   refunded 06-01
    D4 E3←A service      10000.00  funded 06-10, settled 2020-06-30T15:30Z = 06-30 23:30,
                                   reversed 07-02
    D5 E3←A transfer     30000.00  funded 08-01, settled 08-15, reversed 08-20
    D6 E2←A transfer     40000.00  funded 12-01, settled 2020-12-31T17:00Z = 2021-01-01 01:00
    """
    seller_b = await builders.create_organization(
        # a name a CSV must quote: a comma and double quotes
        session,
        name='华中科技成果转化研究院（"中试",基地）',
        kind=OrganizationKind.research_institute,
    )
    technology_b = await builders.published_technology(session, seller_b)
    e2 = await builders.create_organization(
        session, name="郑州盾构装备有限公司", kind=OrganizationKind.enterprise
    )
    e3 = await builders.create_organization(
        session, name="洛阳新材料科技股份有限公司", kind=OrganizationKind.enterprise
    )
    b = Book(market, clock, market.seller_org, seller_b, market.buyer_org, e2, e3)
    technologies = {"a": market.technology, "b": technology_b}
    opened: dict[str, dict[str, Any]] = {}
    for when, name, action, detail in STORY:
        if name not in opened:  # each deal is opened (on 2020-01-01) just before its story
            technology, buyer, category, gross, milestones = DEALS[name]
            opened[name] = await _open(
                client,
                b,
                name,
                technology=technologies[technology],
                buyer=getattr(b, buyer),
                category=category,
                gross=gross,
                milestones=milestones,
            )
        if action == "reverse":
            path = f"/v1/ledger/entries/{await _settlement_of(client, b, name)}/reverse"
            body: Any = {"reason": detail}
        else:
            path = f"/v1/deals/{b.deals[name]}/{action}"
            body = (
                None
                if detail is None
                else {"milestone_id": opened[name]["milestones"][detail]["id"]}
            )
        await _act(client, b, when, path, body)

    listed = await auditor_get(client, b, "/v1/ledger/accounts")
    b.accounts = {a["code"]: a["id"] for a in listed.json()["items"]}
    return b


# --- totals ----------------------------------------------------------------------------------

Figures = tuple[str, str, str, int, int]  # volume, tax, fee, deals settled, enterprises served


async def totals(client: AsyncClient, book: Book, **params: Any) -> dict[str | None, Figures]:
    got = (await auditor_get(client, book, "/v1/ledger/totals", **params)).json()
    assert got["currency"] == "CNY"
    assert got["group_by"] == params.get("group_by", "none")
    groups = [g["group"] for g in got["groups"]]
    assert groups == sorted(groups, key=lambda g: (g is None, g)), "groups are sorted"
    return {
        g["group"]: (
            g["transaction_volume"],
            g["tax_total"],
            g["fee_total"],
            g["deals_settled"],
            g["enterprises_served"],
        )
        for g in got["groups"]
    }


# Worked out by hand (fee, tax at 3%/11% for transfer and development, 5%/13% otherwise):
#   D1 100000.00 → fee 3000.00, tax 11000.00
#   D2  20000.05 → fee 1000.0025 → 1000.00, tax 2600.0065 → 2600.01
#   D3  20000.00 released → fee 600.00, tax 2200.00 (30000.00 refunded: not volume)
#   D4  10000.00 → fee 500.00, tax 1300.00, then reversed (−10000.00, −500.00, −1300.00)
#   D5  30000.00 → fee 900.00, tax 3300.00, reversed within the same month
#   D6  40000.00 → fee 1200.00, tax 4400.00
SHANGHAI: dict[str, dict[str | None, Figures]] = {
    "none": {None: ("180000.05", "20200.01", "5800.00", 4, 2)},
    "month": {
        "2020-01": ("100000.00", "11000.00", "3000.00", 1, 1),
        "2020-04": ("20000.05", "2600.01", "1000.00", 1, 1),
        "2020-05": ("20000.00", "2200.00", "600.00", 1, 1),
        "2020-06": ("10000.00", "1300.00", "500.00", 1, 1),
        "2020-07": ("-10000.00", "-1300.00", "-500.00", 0, 0),
        "2020-08": ("0.00", "0.00", "0.00", 0, 0),
        "2021-01": ("40000.00", "4400.00", "1200.00", 1, 1),
    },
    "quarter": {
        "2020-Q1": ("100000.00", "11000.00", "3000.00", 1, 1),
        "2020-Q2": ("50000.05", "6100.01", "2100.00", 3, 3),
        "2020-Q3": ("-10000.00", "-1300.00", "-500.00", 0, 0),
        "2021-Q1": ("40000.00", "4400.00", "1200.00", 1, 1),
    },
    "year": {
        "2020": ("140000.05", "15800.01", "4600.00", 3, 2),
        "2021": ("40000.00", "4400.00", "1200.00", 1, 1),
    },
    "category": {
        "consulting": ("20000.05", "2600.01", "1000.00", 1, 1),
        "development": ("20000.00", "2200.00", "600.00", 1, 1),
        "service": ("0.00", "0.00", "0.00", 0, 0),
        "transfer": ("140000.00", "15400.00", "4200.00", 2, 2),
    },
}
BY_SELLER = {
    "seller_a": ("140000.00", "15400.00", "4200.00", 2, 2),
    "seller_b": ("40000.05", "4800.01", "1600.00", 2, 2),
}
BY_BUYER = {
    "e1": ("120000.00", "13200.00", "3600.00", 2, 1),
    "e2": ("60000.05", "7000.01", "2200.00", 2, 1),
    "e3": ("0.00", "0.00", "0.00", 0, 0),
}


async def test_totals_by_each_grouping_match_hand_computed_figures(
    client: AsyncClient, book: Book
) -> None:
    for group_by, expected in SHANGHAI.items():
        assert await totals(client, book, group_by=group_by) == expected, group_by
    assert await totals(client, book) == SHANGHAI["none"]
    by_seller = await totals(client, book, group_by="seller")
    assert by_seller == {book.org(name): figures for name, figures in BY_SELLER.items()}
    by_buyer = await totals(client, book, group_by="buyer")
    assert by_buyer == {book.org(name): figures for name, figures in BY_BUYER.items()}
    got = (await auditor_get(client, book, "/v1/ledger/totals")).json()
    assert got["timezone"] == "Asia/Shanghai"


async def test_totals_reconcile_with_the_entries(client: AsyncClient, book: Book) -> None:
    """Each month's totals are the sums of that month's entries: volume what escrow released
    to sellers, fee what the fee account received, tax what the tax account received."""
    months = await totals(client, book, group_by="month")
    for month, (volume, tax, fee, _, _) in months.items():
        assert month is not None
        year, number = (int(part) for part in month.split("-"))
        end = f"{year + number // 12}-{number % 12 + 1:02d}-01T00:00:00+08:00"
        listed = await auditor_get(
            client,
            book,
            "/v1/ledger/entries",
            **{"from": f"{month}-01T00:00:00+08:00", "to": end, "limit": 200},
        )
        sums = {"fee_revenue": 0, "tax_payable": 0}
        released = 0
        for entry in listed.json()["items"]:
            touched = {p["account_id"]: fen(p["amount"]) for p in entry["postings"]}
            for code in sums:
                sums[code] += touched.get(book.accounts[code], 0)
            if entry["kind"] in ("settlement", "reversal") and fen(entry["volume"]):
                released -= touched[book.accounts["escrow"]]
        assert (fen(fee), fen(tax)) == (sums["fee_revenue"], sums["tax_payable"]), month
        assert fen(volume) == released, month
    # money adds up across the groups of every grouping (counts are distinct: they need not)
    (everything,) = (await totals(client, book)).values()
    whole = (fen(everything[0]), fen(everything[1]), fen(everything[2]))
    for group_by in ("month", "quarter", "year", "category", "seller", "buyer"):
        groups = (await totals(client, book, group_by=group_by)).values()
        added = [0, 0, 0]
        for volume, tax, fee, _, _ in groups:
            added = [added[0] + fen(volume), added[1] + fen(tax), added[2] + fen(fee)]
        assert tuple(added) == whole, group_by


async def test_totals_of_a_period_given_by_days_or_times(client: AsyncClient, book: Book) -> None:
    q2 = ("50000.05", "6100.01", "2100.00", 3, 3)
    # Days are Shanghai days; a 'to' day is included whole (D4 settled at 23:30 on 06-30)
    assert await totals(client, book, **{"from": "2020-04-01", "to": "2020-06-30"}) == {None: q2}
    assert await totals(client, book, **{"from": "2020-04-01", "to": "2020-06-29"}) == {
        None: ("40000.05", "4800.01", "1600.00", 2, 2)
    }
    # D2's settlement, 2020-03-31T16:30Z, is on 04-01 in Shanghai
    assert await totals(client, book, **{"from": "2020-01-01", "to": "2020-03-31"}) == {
        None: ("100000.00", "11000.00", "3000.00", 1, 1)
    }
    # Times: 'from' is inclusive, 'to' exclusive; a midnight given as a time is that instant,
    # not the day (D1 settled at 2020-01-15T02:00Z)
    assert await totals(client, book, to="2020-01-15T00:00:00Z") == {
        None: ("0.00", "0.00", "0.00", 0, 0)
    }
    assert await totals(client, book, to="2020-01-15T00:00:00+08:00") == {
        None: ("0.00", "0.00", "0.00", 0, 0)
    }
    assert await totals(
        client, book, **{"from": "2020-01-15T02:00:00.000001Z", "to": "2020-03-31"}
    ) == {None: ("0.00", "0.00", "0.00", 0, 0)}
    at_d2 = {"from": "2020-03-31T16:30:00Z", "to": "2020-03-31T16:30:00.000001Z"}
    assert await totals(client, book, **at_d2) == {None: ("20000.05", "2600.01", "1000.00", 1, 1)}
    assert await totals(client, book, **{"from": "2020-01-01", "to": "2020-03-31T16:30:00Z"}) == {
        None: ("100000.00", "11000.00", "3000.00", 1, 1)
    }
    assert await totals(
        client, book, **{"from": "2020-03-31T16:30:00.000001Z", "to": "2020-07-01T00:00+08:00"}
    ) == {None: ("30000.00", "3500.00", "1100.00", 2, 2)}
    # Open-ended on either side
    assert await totals(client, book, **{"from": "2021-01-01"}) == {
        None: ("40000.00", "4400.00", "1200.00", 1, 1)
    }
    assert await totals(client, book, to="2020-12-31") == {
        None: ("140000.05", "15800.01", "4600.00", 3, 2)
    }
    # A period with nothing in it is zeros (or no groups), not an error
    nothing = {"from": "2019-01-01", "to": "2019-12-31"}
    assert await totals(client, book, **nothing) == {None: ("0.00", "0.00", "0.00", 0, 0)}
    assert await totals(client, book, group_by="month", **nothing) == {}
    # A grouping within a period keeps only the period's entries
    assert await totals(client, book, group_by="quarter", **{"from": "2020-04-01"}) == {
        "2020-Q2": q2,
        "2020-Q3": ("-10000.00", "-1300.00", "-500.00", 0, 0),
        "2021-Q1": ("40000.00", "4400.00", "1200.00", 1, 1),
    }

    for empty in (
        {"from": "2020-05-01", "to": "2020-04-30"},
        {"from": "2020-05-01T00:00:00Z", "to": "2020-05-01T00:00:00Z"},
        {"from": "2020-05-01T00:00:00+08:00", "to": "2020-04-30T15:00:00Z"},
    ):
        for path in ("/v1/ledger/totals", "/v1/ledger/entries", "/v1/ledger/export"):
            refused = await client.get(path, params=empty, headers=book.market.auditor.headers)
            assert refused.status_code == 422, (path, empty, refused.text)
            assert refused.json()["code"] == "empty_period"
            assert refused.headers["content-type"].startswith("application/problem+json")
    for bad in ({"from": "2020-13-01"}, {"to": "yesterday"}, {"from": "2020-05-01T10:00:00"}):
        refused = await client.get(
            "/v1/ledger/totals", params=bad, headers=book.market.auditor.headers
        )
        assert refused.status_code == 422, (bad, refused.text)


async def test_a_reversed_settlement_is_taken_back_and_no_longer_counted(
    client: AsyncClient, book: Book
) -> None:
    # D5: settled 08-15 and reversed 08-20; nothing is left of it in August, nor for E3
    august = {"from": "2020-08-01", "to": "2020-08-31"}
    assert await totals(client, book, **august) == {None: ("0.00", "0.00", "0.00", 0, 0)}
    by_buyer = await totals(client, book, group_by="buyer", **august)
    assert by_buyer == {book.org("e3"): ("0.00", "0.00", "0.00", 0, 0)}
    # D4: settled in June, reversed in July. June's figures stay what they were when June
    # closed; July takes the amounts back; over both months the deal no longer counts.
    assert await totals(client, book, **{"from": "2020-06-01", "to": "2020-06-30"}) == {
        None: ("10000.00", "1300.00", "500.00", 1, 1)
    }
    assert await totals(client, book, **{"from": "2020-06-01", "to": "2020-07-31"}) == {
        None: ("0.00", "0.00", "0.00", 0, 0)
    }
    # Settling D4 again counts it again (one deal, one buyer, whatever the history)
    await _act(client, book, "2020-07-10T02:00:00Z", f"/v1/deals/{book.deals['D4']}/settle")
    assert await totals(client, book, **{"from": "2020-06-01", "to": "2020-07-31"}) == {
        None: ("10000.00", "1300.00", "500.00", 1, 1)
    }
    months = await totals(client, book, group_by="month", **{"from": "2020-06-01"})
    assert months["2020-07"] == ("0.00", "0.00", "0.00", 0, 0)


async def test_deals_and_enterprises_are_distinct_counts(client: AsyncClient, book: Book) -> None:
    # E1 has two settled deals (D1, D3), E2 two (D2, D6): four deals, two enterprises
    everything = await totals(client, book)
    assert everything[None][3:] == (4, 2)
    # a deal settled by milestones counts once
    milestones = [{"title": "一期", "amount": "600.00"}, {"title": "二期", "amount": "400.00"}]
    deal = await _open(
        client,
        book,
        "D7",
        buyer=book.e1,
        category="transfer",
        gross="1000.00",
        milestones=milestones,
    )
    await _act(client, book, "2021-03-01T02:00:00Z", f"/v1/deals/{deal['id']}/fund")
    for number, when in ((0, "2021-03-02T02:00:00Z"), (1, "2021-03-03T02:00:00Z")):
        await _act(
            client,
            book,
            when,
            f"/v1/deals/{deal['id']}/settle",
            {"milestone_id": deal["milestones"][number]["id"]},
        )
    assert await totals(client, book, **{"from": "2021-03-01", "to": "2021-03-31"}) == {
        None: ("1000.00", "110.00", "30.00", 1, 1)
    }
    assert (await totals(client, book))[None] == ("181000.05", "20310.01", "5830.00", 5, 2)
    assert (await totals(client, book, group_by="buyer"))[book.org("e1")] == (
        "121000.00",
        "13310.00",
        "3630.00",
        3,
        1,
    )


async def test_the_calendar_follows_the_configured_time_zone(
    client: AsyncClient, book: Book, settings: Settings
) -> None:
    settings.timezone = "UTC"
    # D2 (2020-03-31T16:30Z) moves to March and Q1, D6 (2020-12-31T17:00Z) to December, Q4, 2020
    assert await totals(client, book, group_by="month") == {
        "2020-01": ("100000.00", "11000.00", "3000.00", 1, 1),
        "2020-03": ("20000.05", "2600.01", "1000.00", 1, 1),
        "2020-05": ("20000.00", "2200.00", "600.00", 1, 1),
        "2020-06": ("10000.00", "1300.00", "500.00", 1, 1),
        "2020-07": ("-10000.00", "-1300.00", "-500.00", 0, 0),
        "2020-08": ("0.00", "0.00", "0.00", 0, 0),
        "2020-12": ("40000.00", "4400.00", "1200.00", 1, 1),
    }
    assert await totals(client, book, group_by="quarter") == {
        "2020-Q1": ("120000.05", "13600.01", "4000.00", 2, 2),
        "2020-Q2": ("30000.00", "3500.00", "1100.00", 2, 2),
        "2020-Q3": ("-10000.00", "-1300.00", "-500.00", 0, 0),
        "2020-Q4": ("40000.00", "4400.00", "1200.00", 1, 1),
    }
    assert await totals(client, book, group_by="year") == {
        "2020": ("180000.05", "20200.01", "5800.00", 4, 2)
    }
    # days in 'from'/'to' are UTC days now
    assert await totals(client, book, **{"from": "2020-04-01", "to": "2020-06-30"}) == {
        None: ("30000.00", "3500.00", "1100.00", 2, 2)
    }
    got = (await auditor_get(client, book, "/v1/ledger/totals")).json()
    assert got["timezone"] == "UTC"
    # any IANA zone: in New York D2 is on 03-31 12:30 and D6 on 12-31 12:00
    settings.timezone = "America/New_York"
    months = await totals(client, book, group_by="month")
    assert (months["2020-03"][0], months["2020-12"][0]) == ("20000.05", "40000.00")


# --- balances as of a time -------------------------------------------------------------------


async def balance(client: AsyncClient, book: Book, code: str, as_of: str | None = None) -> str:
    params = {"as_of": as_of} if as_of else {}
    got = await auditor_get(client, book, f"/v1/ledger/accounts/{book.accounts[code]}", **params)
    body = got.json()
    assert body["code"] == code
    assert body["currency"] == "CNY"
    return str(body["balance"])


async def test_a_day_is_the_platform_calendar_day_in_stats_and_balances(
    client: AsyncClient, book: Book
) -> None:
    """D4 was settled at 2020-06-30T15:30Z, 23:30 in Shanghai: ``as_of=2020-06-30`` counts it
    in the headline figures and the balances, as the totals ``to=2020-06-30`` do; the instant
    before does not; and every echoed ``as_of`` is UTC."""

    async def overview(as_of: str) -> dict[str, Any]:
        got = await client.get("/v1/stats/overview", params={"as_of": as_of})
        assert got.status_code == 200, got.text
        return dict(got.json())

    day, before = await overview("2020-06-30"), await overview("2020-06-30T15:29:59.999999Z")
    assert day["as_of"] == "2020-06-30T15:59:59.999999Z"
    assert fen(day["transaction_volume"]) - fen(before["transaction_volume"]) == 10_000_00
    totals = await auditor_get(
        client, book, "/v1/ledger/totals", **{"from": "2020-01-01", "to": "2020-06-30"}
    )
    (group,) = totals.json()["groups"]
    assert group["transaction_volume"] == day["transaction_volume"]
    seller = f"org-{book.org('seller_a')}"
    on_the_day = await auditor_get(
        client, book, f"/v1/ledger/accounts/{book.accounts[seller]}", as_of="2020-06-30"
    )
    assert on_the_day.json()["as_of"] == "2020-06-30T15:59:59.999999Z"
    assert on_the_day.json()["balance"] == await balance(
        client, book, seller, "2020-06-30T15:30:00Z"
    )
    assert on_the_day.json()["balance"] != await balance(
        client, book, seller, "2020-06-30T15:29:59Z"
    )


async def test_balances_as_of_any_past_time(
    client: AsyncClient, book: Book, settings: Settings
) -> None:
    seller_a = f"org-{book.seller_a.id}"
    # D1 settles at 2020-01-15T02:00Z: A gets 100000.00 − 3000.00 − 11000.00
    assert await balance(client, book, seller_a, "2020-01-15T01:59:59.999999Z") == "0.00"
    assert await balance(client, book, seller_a, "2020-01-15T02:00:00Z") == "86000.00"
    assert await balance(client, book, seller_a, "2020-01-14") == "0.00"
    assert await balance(client, book, seller_a, "2020-01-15") == "86000.00"
    assert await balance(client, book, "escrow", "2020-01-12") == "100000.00"
    assert await balance(client, book, "bank", "2020-01-12") == "-100000.00"
    # D2 settles on 04-01 in Shanghai: escrow still holds it at the end of 03-31
    assert await balance(client, book, "escrow", "2020-03-31") == "20000.05"
    assert await balance(client, book, "escrow", "2020-04-01") == "0.00"
    # fee revenue before and after D4's reversal
    assert await balance(client, book, "fee_revenue", "2020-06-30") == "5100.00"
    assert await balance(client, book, "fee_revenue", "2020-07-02T02:59:59Z") == "5100.00"
    assert await balance(client, book, "fee_revenue", "2020-07-02T03:00:00Z") == "4600.00"
    assert await balance(client, book, "tax_payable", "2019-12-31") == "0.00"
    # now: A has D1 and D6 (D4 and D5 reversed); B has D2 and D3's first milestone
    assert await balance(client, book, seller_a) == "120400.00"  # 86000.00 + 34400.00
    assert await balance(client, book, f"org-{book.seller_b.id}") == "33600.04"  # 16400.04 + 17200
    # escrow holds D4 and D5 again (their settlements reversed); D3's rest went back
    assert await balance(client, book, "escrow") == "40000.00"
    assert await balance(client, book, "bank") == "-220000.05"
    assert await balance(client, book, "fee_revenue") == "5800.00"
    assert await balance(client, book, "tax_payable") == "20200.01"
    listed = (await auditor_get(client, book, "/v1/ledger/accounts")).json()["items"]
    assert sum(fen(a["balance"]) for a in listed) == 0
    assert [a["code"] for a in listed] == sorted(a["code"] for a in listed)
    assert {a["code"] for a in listed} >= {"bank", "escrow", "fee_revenue", "tax_payable"}
    # a day is a day of the configured calendar
    settings.timezone = "UTC"
    assert await balance(client, book, "escrow", "2020-03-31") == "0.00"


# --- entries ---------------------------------------------------------------------------------


async def all_entries(client: AsyncClient, book: Book, **params: Any) -> list[dict[str, Any]]:
    got = await auditor_get(client, book, "/v1/ledger/entries", limit=200, **params)
    assert got.json()["next_cursor"] is None
    return list(got.json()["items"])


async def test_entries_filtered_by_deal_account_kind_and_time(
    client: AsyncClient, book: Book
) -> None:
    everything = await all_entries(client, book)
    assert len(everything) == 15
    kinds = [e["kind"] for e in everything]
    assert (kinds.count("funding"), kinds.count("settlement")) == (6, 6)
    assert (kinds.count("refund"), kinds.count("reversal")) == (1, 2)
    times = [e["occurred_at"] for e in everything]
    assert [instant(t) for t in times] == sorted(instant(t) for t in times)
    for entry in everything:
        assert sum(fen(p["amount"]) for p in entry["postings"]) == 0
        assert [p["line"] for p in entry["postings"]] == list(range(1, len(entry["postings"]) + 1))

    d3 = await all_entries(client, book, deal_id=book.deals["D3"])
    assert [e["kind"] for e in d3] == ["funding", "settlement", "refund"]
    assert [e["volume"] for e in d3] == ["0.00", "20000.00", "0.00"]
    assert d3[2]["postings"][0]["amount"] == "-30000.00"

    seller_b = book.accounts[f"org-{book.seller_b.id}"]
    touching_b = await all_entries(client, book, account_id=seller_b)
    assert [(e["deal_id"], e["kind"]) for e in touching_b] == [
        (book.deals["D2"], "settlement"),
        (book.deals["D3"], "settlement"),
    ]
    reversals = await all_entries(client, book, kind="reversal")
    assert [e["deal_id"] for e in reversals] == [book.deals["D4"], book.deals["D5"]]
    assert [e["volume"] for e in reversals] == ["-10000.00", "-30000.00"]
    assert all(e["reverses_id"] for e in reversals)
    assert "重复结算" in reversals[0]["memo"]

    june = await all_entries(client, book, **{"from": "2020-06-01", "to": "2020-06-30"})
    assert [(e["deal_id"], e["kind"]) for e in june] == [
        (book.deals["D3"], "refund"),
        (book.deals["D4"], "funding"),
        (book.deals["D4"], "settlement"),
    ]
    at = await all_entries(
        client, book, **{"from": "2020-03-31T16:30:00Z", "to": "2020-04-05T02:00:00Z"}
    )
    assert [(e["deal_id"], e["kind"]) for e in at] == [(book.deals["D2"], "settlement")]
    combined = await all_entries(
        client, book, deal_id=book.deals["D4"], kind="settlement", to="2020-06-30"
    )
    assert len(combined) == 1
    assert await all_entries(client, book, deal_id=str(uuid.uuid4())) == []
    assert await all_entries(client, book, account_id=str(uuid.uuid4())) == []
    for bad in ({"kind": "gift"}, {"deal_id": "D1"}, {"limit": 0}, {"limit": 1000}):
        refused = await client.get(
            "/v1/ledger/entries", params=bad, headers=book.market.auditor.headers
        )
        assert refused.status_code == 422, bad


async def test_entry_pages_are_stable(client: AsyncClient, book: Book) -> None:
    everything = [e["id"] for e in await all_entries(client, book)]
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await auditor_get(client, book, "/v1/ledger/entries", **params)).json()
        assert len(page["items"]) <= 4
        paged += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if len(paged) == 8:
            # an entry written meanwhile (after the last one) neither shifts nor repeats rows
            await _open(client, book, "D8", buyer=book.e3, category="service", gross="10.00")
            await _act(client, book, "2021-06-01T00:00:00Z", f"/v1/deals/{book.deals['D8']}/fund")
        if cursor is None:
            break
    assert len(paged) == len(set(paged)) == len(everything) + 1
    assert paged[: len(everything)] == everything
    again = [e["id"] for e in await all_entries(client, book)]
    assert again == paged
    filtered = (
        await auditor_get(client, book, "/v1/ledger/entries", kind="settlement", limit=2)
    ).json()
    rest = (
        await auditor_get(
            client,
            book,
            "/v1/ledger/entries",
            kind="settlement",
            limit=200,
            cursor=filtered["next_cursor"],
        )
    ).json()
    assert [e["id"] for e in filtered["items"] + rest["items"]] == [
        e["id"] for e in await all_entries(client, book, kind="settlement")
    ]
    refused = await client.get(
        "/v1/ledger/entries", params={"cursor": "nonsense"}, headers=book.market.auditor.headers
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_cursor"


# --- exports ---------------------------------------------------------------------------------


async def export(client: AsyncClient, book: Book, **params: Any) -> str:
    got = await auditor_get(client, book, "/v1/ledger/export", **params)
    assert "attachment" in got.headers["content-disposition"]
    assert "content-length" not in got.headers  # streamed
    assert "etag" not in got.headers  # a stream is never held back to be hashed
    media = "text/csv" if params.get("format", "csv") == "csv" else "text/plain"
    assert got.headers["content-type"] == f"{media}; charset=utf-8"
    return got.content.decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV export as written by default: after the UTF-8 byte order mark."""
    assert text.startswith("\ufeff"), text[:20]
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


CSV_COLUMNS = (
    "entry_id,chain,seq,occurred_at,date,kind,deal_id,category,line,account,account_name,"
    "organization_id,organization_name,amount,currency,memo,hash"
)


async def test_csv_export_has_one_row_per_posting(client: AsyncClient, book: Book) -> None:
    text = await export(client, book, format="csv")
    rows = csv_rows(text)
    assert text.removeprefix("\ufeff").splitlines()[0] == CSV_COLUMNS
    everything = await all_entries(client, book)
    postings = [(e, p) for e in everything for p in e["postings"]]
    assert len(rows) == len(postings)
    codes = {account_id: code for code, account_id in book.accounts.items()}
    names = beancount_names(book)
    for row, (entry, posting) in zip(rows, postings, strict=True):
        assert row["entry_id"] == entry["id"]
        assert (row["kind"], row["memo"], row["hash"]) == (
            entry["kind"],
            entry["memo"],
            entry["hash"],
        )
        assert instant(row["occurred_at"]) == instant(entry["occurred_at"])
        assert (
            row["date"]
            == instant(entry["occurred_at"]).astimezone(PLATFORM_ZONE).date().isoformat()
        )
        code = codes[posting["account_id"]]
        assert (row["account"], row["account_name"]) == (code, names[code])
        # the platform's books: the API's posting is what the account receives, so a debit
        # (money into the bank, out of a payable) is the opposite of it
        assert fen(row["amount"]) == -fen(posting["amount"])
        assert row["currency"] == "CNY"
        assert int(row["line"]) == posting["line"]
    # every organization's payable is named beside its id; the platform's own accounts by none
    orgs = {
        book.org(who): getattr(book, who).name for who in ("seller_a", "seller_b", "e1", "e2", "e3")
    }
    for row in rows:
        if row["account"].startswith("org-"):
            assert row["organization_id"] == row["account"].removeprefix("org-")
            assert row["organization_name"] == orgs[row["organization_id"]]
        else:
            assert row["organization_id"] == row["organization_name"] == ""
    assert '华中科技成果转化研究院（"中试",基地）' in {row["organization_name"] for row in rows}
    assert '"华中科技成果转化研究院（""中试"",基地）"' in text  # quoted, quotes doubled
    held: dict[str, int] = {}
    for row in rows:
        held[row["account"]] = held.get(row["account"], 0) + fen(row["amount"])
    assert sum(held.values()) == 0
    listed = (await auditor_get(client, book, "/v1/ledger/accounts")).json()["items"]
    for account in listed:
        assert held.get(account["code"], 0) == -fen(account["balance"]), account["code"]
    assert any("冲销" in row["memo"] for row in rows)

    june = csv_rows(
        await export(client, book, format="csv", **{"from": "2020-06-01", "to": "2020-06-30"})
    )
    assert sorted({row["entry_id"] for row in june}) == sorted(
        e["id"]
        for e in await all_entries(client, book, **{"from": "2020-06-01", "to": "2020-06-30"})
    )
    assert len(june) == 2 + 2 + 4  # refund, funding, settlement with net, fee and tax
    empty = await export(client, book, format="csv", **{"from": "2019-01-01", "to": "2019-01-31"})
    assert empty.splitlines() == ["\ufeff" + CSV_COLUMNS]


async def test_csv_byte_order_mark_is_the_default_and_can_be_left_out(
    client: AsyncClient, book: Book
) -> None:
    """Excel on Chinese Windows reads a CSV without a BOM as GBK: the mark is there unless a
    program asks for none; nothing else differs."""
    with_mark = (await auditor_get(client, book, "/v1/ledger/export", format="csv")).content
    asked = await auditor_get(client, book, "/v1/ledger/export", format="csv", bom="true")
    without = await auditor_get(client, book, "/v1/ledger/export", format="csv", bom="false")
    assert with_mark.startswith(b"\xef\xbb\xbf")
    assert asked.content == with_mark
    assert without.content == with_mark.removeprefix(b"\xef\xbb\xbf")
    assert without.content.startswith(b"entry_id,")
    assert "华中科技成果转化研究院" in without.content.decode("utf-8")
    beancount = (await auditor_get(client, book, "/v1/ledger/export", format="beancount")).content
    assert beancount.startswith(b"option ")  # never a BOM: bean-check reads UTF-8 as it is


async def test_csv_and_beancount_agree_posting_by_posting(client: AsyncClient, book: Book) -> None:
    """The two files of one period hold the same postings: for every entry, the same day,
    accounts, amounts and signs (Beancount's own reading of its file, against the CSV)."""
    from beancount import loader
    from beancount.core.data import Transaction

    for period in ({}, {"from": "2020-04-01", "to": "2020-06-30"}):
        rows = csv_rows(await export(client, book, format="csv", **period))
        text = await export(client, book, format="beancount", **period)
        entries, errors, _ = loader.load_string(text)
        assert not errors, errors
        from_beancount = {
            transaction.meta["entry"]: (
                transaction.date.isoformat(),
                sorted(
                    (p.account, p.units.number, p.units.currency)
                    for p in transaction.postings
                    if p.units is not None  # every amount is explicit: never None here
                ),
            )
            for transaction in entries
            if isinstance(transaction, Transaction) and "entry" in transaction.meta
        }
        from_csv: dict[str, tuple[str, list[tuple[str, Decimal, str]]]] = {}
        for row in rows:
            day, postings = from_csv.setdefault(row["entry_id"], (row["date"], []))
            assert day == row["date"]
            postings.append((row["account_name"], Decimal(row["amount"]), row["currency"]))
        assert from_csv
        assert {entry: (day, sorted(p)) for entry, (day, p) in from_csv.items()} == from_beancount
        # and a CSV row holds only what its Beancount posting says: debits positive
        assert any(Decimal(row["amount"]) > 0 for row in rows if row["account"] == "bank")


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=120, check=False
    )


ACCOUNT_NAME = re.compile(r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$")
BALANCE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) balance (\S+)\s+(-?\d+\.\d{2}) CNY$")


def beancount_names(book: Book) -> dict[str, str]:
    names = {
        "bank": "Assets:Bank:Clearing",
        "escrow": "Liabilities:Escrow",
        "fee_revenue": "Income:PlatformFees",
        "tax_payable": "Liabilities:TaxPayable",
    }
    for code in book.accounts:
        if code.startswith("org-"):
            names[code] = f"Liabilities:Payable:Org-{uuid.UUID(code[4:]).hex}"
    return names


async def check_beancount(
    client: AsyncClient, book: Book, tmp_path: Path, *, as_of: str | None, **params: Any
) -> str:
    text = await export(client, book, format="beancount", **params)
    path = tmp_path / f"ledger-{uuid.uuid4().hex[:8]}.beancount"
    path.write_text(text, encoding="utf-8")
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr + "\n" + text
    # ASCII account names; everything else may be Chinese
    opened = re.findall(r"^\d{4}-\d{2}-\d{2} open (\S+)", text, flags=re.MULTILINE)
    assert opened
    for name in opened:
        assert name.isascii(), name
        assert ACCOUNT_NAME.match(name), name
    # every posting has its amount written out
    for line in text.splitlines():
        if line.startswith("  ") and not re.match(r"^  [a-z][a-z_-]*: ", line):
            assert re.match(r"^  \S+  -?\d+\.\d{2} CNY$", line), line
    # the balance assertions are the API's balances at the period's end (with the platform's
    # books' signs: what an account holds is owed, so it shows negative except the bank's)
    names = beancount_names(book)
    asserted = {
        match.group(2): match.group(3)
        for match in map(BALANCE_LINE.match, text.splitlines())
        if match
    }
    assert set(asserted) == set(names.values())
    for code, name in names.items():
        held = await balance(client, book, code, as_of)
        assert Decimal(asserted[name]) == -Decimal(held), (code, as_of)
    return text


async def test_beancount_export_passes_bean_check(
    client: AsyncClient, book: Book, tmp_path: Path
) -> None:
    assert BEAN_CHECK.exists()
    whole = await check_beancount(client, book, tmp_path, as_of=None)
    assert "结算 技术合同D1" in whole
    assert "退款 技术合同D3" in whole
    assert "冲销" in whole
    assert 'option "operating_currency" "CNY"' in whole
    assert whole.count(" * ") == 15  # every entry, no opening transaction
    assert "期初余额" not in whole

    q2 = await check_beancount(
        client, book, tmp_path, as_of="2020-06-30", **{"from": "2020-04-01", "to": "2020-06-30"}
    )
    assert "期初余额" in q2  # D2 was funded before April: escrow opens with it
    assert re.search(r"^2020-03-31 \* \"opening\" \"期初余额\"$", q2, flags=re.MULTILINE)
    assert re.search(r"^2020-07-01 balance Liabilities:Escrow\s+0\.00 CNY$", q2, re.MULTILINE)
    assert '2020-03-31 * "settlement"' not in q2
    assert '2020-04-01 * "settlement"' in q2  # D2's settlement, on a Shanghai day

    # a period given by times, ending mid-day, and one with nothing in it
    await check_beancount(
        client,
        book,
        tmp_path,
        as_of="2020-08-15T01:59:59.999999Z",
        **{"from": "2020-06-30T15:30:00Z", "to": "2020-08-15T02:00:00Z"},
    )
    await check_beancount(
        client, book, tmp_path, as_of="2021-12-31", **{"from": "2021-06-01", "to": "2021-12-31"}
    )
    await check_beancount(client, book, tmp_path, as_of="2020-03-31", to="2020-03-31")


async def test_beancount_export_of_an_empty_ledger(
    client: AsyncClient, market: Market, tmp_path: Path
) -> None:
    got = await client.get(
        "/v1/ledger/export", params={"format": "beancount"}, headers=market.auditor.headers
    )
    assert got.status_code == 200
    path = tmp_path / "empty.beancount"
    path.write_text(got.text, encoding="utf-8")
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr + got.text


# --- who may read and write ------------------------------------------------------------------


async def test_auditors_and_ledger_read_keys_only_read(
    client: AsyncClient, book: Book, session: AsyncSession
) -> None:
    audit_firm = await builders.create_organization(
        session, name="中原会计师事务所", kind=OrganizationKind.service_provider
    )
    key_actor = await builders.api_key_actor(
        session, organization=audit_firm, scopes=[Scope.ledger_read]
    )
    market = book.market
    account = book.accounts["escrow"]
    reads: list[tuple[str, dict[str, str]]] = [
        ("/v1/ledger/accounts", {}),
        (f"/v1/ledger/accounts/{account}", {}),
        (f"/v1/ledger/accounts/{account}", {"as_of": "2020-06-30"}),
        ("/v1/ledger/entries", {"deal_id": book.deals["D1"]}),
        ("/v1/ledger/verify", {}),
        ("/v1/ledger/export", {"format": "csv"}),
        ("/v1/ledger/export", {"format": "beancount", "from": "2020-04-01", "to": "2020-06-30"}),
        *[("/v1/ledger/totals", {"group_by": g}) for g in [*SHANGHAI, "seller", "buyer"]],
    ]
    for reader in (market.auditor, key_actor):
        for path, params in reads:
            got = await client.get(path, params=params, headers=reader.headers)
            assert got.status_code == 200, (path, params, got.text)
    verified = (await auditor_get(client, book, "/v1/ledger/verify")).json()
    assert verified["ok"] is True
    assert verified["entries_checked"] == 15
    for outsider in (market.buyer, market.seller):
        for path, params in reads:
            got = await client.get(path, params=params, headers=outsider.headers)
            assert got.status_code == 403, (path, params, got.text)
            assert got.headers["content-type"].startswith("application/problem+json")
    for path, params in reads:
        assert (await client.get(path, params=params)).status_code == 401

    created = await _open(client, book, "D9", buyer=book.e2, category="service", gross="500.00")
    funded = await _open(client, book, "D10", buyer=book.e2, category="service", gross="800.00")
    await _act(client, book, "2021-07-01T00:00:00Z", f"/v1/deals/{funded['id']}/fund")
    before = await all_entries(client, book)
    writes: list[tuple[str, Any]] = [
        (
            "/v1/deals",
            {
                "technology_id": str(market.technology.id),
                "buyer_id": str(book.e2.id),
                "title": "审计员下单",
                "category": "service",
                "gross_amount": "10.00",
            },
        ),
        (f"/v1/deals/{created['id']}/fund", None),
        (f"/v1/deals/{funded['id']}/settle", None),
        (f"/v1/deals/{funded['id']}/refund", None),
        (f"/v1/deals/{created['id']}/cancel", None),
        (f"/v1/ledger/entries/{before[-1]['id']}/reverse", {"reason": "审计调整"}),
    ]
    for writer in (market.auditor, key_actor):
        for path, body in writes:
            refused = await post(client, path, writer, body)
            assert refused.status_code == 403, (path, refused.text)
    assert await all_entries(client, book) == before
    states = {
        deal_id: (await client.get(f"/v1/deals/{deal_id}", headers=market.operator.headers)).json()[
            "status"
        ]
        for deal_id in (created["id"], funded["id"])
    }
    assert states == {created["id"]: "created", funded["id"]: "funded"}
    # a member may not reverse entries either
    refused = await post(
        client, f"/v1/ledger/entries/{before[-1]['id']}/reverse", market.buyer, {"reason": "x"}
    )
    assert refused.status_code == 403


async def test_bad_ledger_requests(client: AsyncClient, book: Book) -> None:
    headers = book.market.auditor.headers
    missing = await client.get(f"/v1/ledger/accounts/{uuid.uuid4()}", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for path, params in (
        ("/v1/ledger/accounts/not-a-uuid", {}),
        (f"/v1/ledger/accounts/{book.accounts['escrow']}", {"as_of": "sometime"}),
        ("/v1/ledger/totals", {"group_by": "week"}),
        ("/v1/ledger/totals", {"group_by": ""}),
        ("/v1/ledger/export", {"format": "xlsx"}),
        ("/v1/ledger/export", {"format": "BEANCOUNT"}),
    ):
        refused = await client.get(path, params=params, headers=headers)
        assert refused.status_code == 422, (path, params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    unknown = await client.post(
        f"/v1/ledger/entries/{uuid.uuid4()}/reverse",
        json={"reason": "x"},
        headers={**book.market.operator.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert unknown.status_code == 404


async def test_an_export_reads_one_snapshot_while_entries_are_written(
    migrated_fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real commits: an entry committed between two pages of an export (dated before the
    page already read) is in neither the pages nor the closing balances; the ledger may also
    start before any fixed date."""
    db = Database(create_engine(migrated_fresh_database_url))

    async def fund(amount: int, when: str) -> None:
        facts = EntryFacts(kind=EntryKind.funding, created_by="test", memo=f"托管资金 {amount}")
        async with db.unit_of_work(write=True) as session:
            await ledger_posting.post_entry(
                session,
                facts,
                [(ledger_accounts.BANK, -amount), (ledger_accounts.ESCROW, amount)],
                occurred_at=instant(when),
            )

    try:
        for day in range(1, 6):
            await fund(100 * day, f"2018-12-{26 + day}T12:00:00Z")
        monkeypatch.setattr(ledger_export, "EXPORT_BATCH", 2)
        pages = 0
        original = ledger_export.list_entries

        async def racing(session: AsyncSession, **kwargs: Any) -> Any:
            nonlocal pages
            page = await original(session, **kwargs)
            pages += 1
            if pages == 1:
                await fund(7, "2018-12-20T00:00:00Z")  # before everything already read
            return page

        monkeypatch.setattr(ledger_export, "list_entries", racing)
        for export_format in ("beancount", "csv"):
            pages = 0
            async with db.unit_of_work(write=False) as session:
                if export_format == "csv":
                    chunks = ledger_export.export_csv(
                        session, start=None, end=None, zone="Asia/Shanghai"
                    )
                else:
                    chunks = ledger_export.export_beancount(
                        session, start=None, end=None, zone="Asia/Shanghai"
                    )
                text = "".join([chunk async for chunk in chunks])
            assert pages == 3
            if export_format == "csv":
                # the six entries committed before it began (one during the Beancount export)
                assert len(text.splitlines()) == 1 + 6 * 2
                continue
            assert text.count(" * ") == 5
            assert re.search(r"^2018-12-27 open Liabilities:Escrow CNY", text, re.MULTILINE)
            path = tmp_path / "snapshot.beancount"
            path.write_text(text, encoding="utf-8")
            checked = bean_check(path)
            assert checked.returncode == 0, checked.stdout + checked.stderr + text
            assert re.search(r" balance Liabilities:Escrow\s+-15\.00 CNY$", text, re.MULTILINE)
        # the connections went back to the pool fit for writing
        await fund(1, "2019-01-01T00:00:00Z")
        async with db.unit_of_work(write=False) as session:
            assert (
                await ledger_accounts.balance(session, ledger_accounts.ESCROW) == 1500 + 7 + 7 + 1
            )
    finally:
        await db.dispose()
