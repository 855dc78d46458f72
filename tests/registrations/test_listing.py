"""The auditors' list of registered contracts: by registration day, a page at a time, with the
technical amounts (技术交易额) of the whole period totalled by kind, as JSON and as CSV."""

import csv
import io
from typing import Any

import pytest
from httpx import AsyncClient

from tests.registrations.conftest import Market, file, filing, open_deal, registered_deal

MARCH = {"from": "2024-03-01", "to": "2024-03-31"}


@pytest.fixture
async def book(client: AsyncClient, market: Market) -> list[dict[str, Any]]:
    """Registered contracts in and around March 2024, and one filed but not registered."""
    made = [
        ("transfer", "380000.00", "30000.00", "patent_transfer", "2024-03-05"),
        ("transfer", "120000.50", "0.00", "technical_secret_transfer", "2024-03-31"),
        ("development", "250000.00", "45678.90", "entrusted_development", "2024-03-10"),
        ("license", "88888.88", "8888.88", "patent_license", "2024-03-15"),
        ("consulting", "50000.00", "0.00", None, "2024-04-01"),
        ("development", "10000.00", "0.00", "cooperative_development", "2024-02-29"),
    ]
    records = []
    for number, (category, gross, non_technical, sub_kind, registered_on) in enumerate(made):
        records.append(
            await registered_deal(
                client,
                market,
                category=category,
                gross=gross,
                non_technical=non_technical,
                sub_kind=sub_kind,
                number=f"20244101000001{number:02d}",
                registered_on=registered_on,
            )
        )
    unregistered = await open_deal(client, market, category="service", gross="77777.77")
    assert (
        await file(client, market.buyer, unregistered["id"], filing(sub_kind=None))
    ).status_code == 200
    return records


def _totals(body: dict[str, Any]) -> dict[str | None, tuple[int, str, str, str]]:
    return {
        t["category"]: (
            t["contracts"],
            t["contract_amount"],
            t["non_technical_costs"],
            t["technical_amount"],
        )
        for t in [*body["by_category"], body["total"]]
    }


MARCH_TOTALS = {
    "development": (1, "250000.00", "45678.90", "204321.10"),
    "transfer": (2, "500000.50", "30000.00", "470000.50"),
    "license": (1, "88888.88", "8888.88", "80000.00"),
    "consulting": (0, "0.00", "0.00", "0.00"),
    "service": (0, "0.00", "0.00", "0.00"),
    None: (4, "838889.38", "84567.78", "754321.60"),
}


async def test_totals_by_kind_over_the_period_and_pages_by_cursor(
    client: AsyncClient, market: Market, book: list[dict[str, Any]]
) -> None:
    url, headers = "/v1/ledger/registrations", market.auditor.headers
    first = await client.get(url, params={**MARCH, "limit": 2}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["from"], body["to"], body["currency"]) == ("2024-03-01", "2024-03-31", "CNY")
    assert _totals(body) == MARCH_TOTALS
    assert [c["category"] for c in body["by_category"]] == [
        "development",
        "transfer",
        "license",
        "consulting",
        "service",
    ]
    assert [i["registered_on"] for i in body["items"]] == ["2024-03-05", "2024-03-10"]
    assert body["next_cursor"]

    second = await client.get(
        url, params={**MARCH, "limit": 2, "cursor": body["next_cursor"]}, headers=headers
    )
    rest = second.json()
    assert [i["registered_on"] for i in rest["items"]] == ["2024-03-15", "2024-03-31"]
    assert rest["next_cursor"] is None
    assert _totals(rest) == MARCH_TOTALS  # the period's, not the page's
    license_item = rest["items"][0]
    assert license_item["deal_id"] == book[3]["deal_id"]
    assert (license_item["category"], license_item["sub_kind"]) == ("license", "patent_license")
    assert license_item["technical_amount"] == "80000.00"
    assert license_item["registration_number"] == "2024410100000103"


async def test_the_period_is_by_registration_day_inclusive(
    client: AsyncClient, market: Market, book: list[dict[str, Any]]
) -> None:
    url, headers = "/v1/ledger/registrations", market.operator.headers
    last_day = await client.get(
        url, params={"from": "2024-03-31", "to": "2024-03-31"}, headers=headers
    )
    assert [i["deal_id"] for i in last_day.json()["items"]] == [book[1]["deal_id"]]
    assert last_day.json()["total"]["technical_amount"] == "120000.50"

    everything = (await client.get(url, params={"limit": 200}, headers=headers)).json()
    assert len(everything["items"]) == 6  # the filed-only contract is not registered
    totals = _totals(everything)
    assert totals["development"] == (2, "260000.00", "45678.90", "214321.10")
    assert totals["consulting"] == (1, "50000.00", "0.00", "50000.00")
    assert totals["service"] == (0, "0.00", "0.00", "0.00")
    assert totals[None] == (6, "898889.38", "84567.78", "814321.60")

    since_april = (await client.get(url, params={"from": "2024-04-01"}, headers=headers)).json()
    assert _totals(since_april)[None] == (1, "50000.00", "0.00", "50000.00")
    until_february = (await client.get(url, params={"to": "2024-02-29"}, headers=headers)).json()
    assert [i["registered_on"] for i in until_february["items"]] == ["2024-02-29"]


async def test_csv_has_every_contract_and_the_same_totals(
    client: AsyncClient, market: Market, book: list[dict[str, Any]]
) -> None:
    response = await client.get(
        "/v1/ledger/registrations",
        params={**MARCH, "format": "csv", "limit": 1},
        headers=market.auditor.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    contracts = [r for r in rows if r["row"] == "registration"]
    assert [r["registered_on"] for r in contracts] == [
        "2024-03-05",
        "2024-03-10",
        "2024-03-15",
        "2024-03-31",
    ]  # the whole period, whatever the limit
    first = contracts[0]
    assert (first["deal_id"], first["category"], first["sub_kind"]) == (
        book[0]["deal_id"],
        "transfer",
        "patent_transfer",
    )
    assert (first["contract_amount"], first["non_technical_costs"], first["technical_amount"]) == (
        "380000.00",
        "30000.00",
        "350000.00",
    )
    totals = {
        (r["category"] or None): (
            int(r["contracts"]),
            r["contract_amount"],
            r["non_technical_costs"],
            r["technical_amount"],
        )
        for r in rows
        if r["row"] == "total"
    }
    assert totals == MARCH_TOTALS

    by_accept = await client.get(
        "/v1/ledger/registrations",
        params=MARCH,
        headers={**market.auditor.headers, "Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == response.text


async def test_only_auditors_and_staff_and_bad_periods_are_problems(
    client: AsyncClient, market: Market, book: list[dict[str, Any]]
) -> None:
    url = "/v1/ledger/registrations"
    for member in (market.buyer, market.seller):
        refused = await client.get(url, headers=member.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "missing_scope"
    assert (await client.get(url)).status_code == 401
    backwards = await client.get(
        url, params={"from": "2024-03-31", "to": "2024-03-01"}, headers=market.auditor.headers
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "empty_period")
    backwards_csv = await client.get(
        url,
        params={"from": "2024-03-31", "to": "2024-03-01", "format": "csv"},
        headers=market.auditor.headers,
    )
    assert backwards_csv.status_code == 422
    not_a_day = await client.get(url, params={"from": "2024-13-01"}, headers=market.auditor.headers)
    assert (not_a_day.status_code, not_a_day.json()["code"]) == (422, "validation_error")
    bad_format = await client.get(url, params={"format": "xml"}, headers=market.auditor.headers)
    assert bad_format.status_code == 422
    bad_cursor = await client.get(url, params={"cursor": "nope"}, headers=market.auditor.headers)
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (400, "invalid_cursor")
