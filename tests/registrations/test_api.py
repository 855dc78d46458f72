"""A deal's registration record: filed by its parties (or operators), validated against the
deal's category and amount, granted by operators, then frozen; read by parties, staff and
auditors."""

from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.security import Scope
from app.models.orgs import OrganizationKind
from app.services import registrations as registrations_service
from tests import builders
from tests.registrations.conftest import Market, file, filing, grant, open_deal, post


async def _read(client: AsyncClient, actor: builders.Actor, deal_id: str) -> Response:
    return await client.get(f"/v1/deals/{deal_id}/registration", headers=actor.headers)


def _problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["code"] == code, body
    return body


async def test_a_party_files_and_everyone_entitled_reads_it(
    client: AsyncClient, market: Market
) -> None:
    deal = await open_deal(client, market, gross="380000.00")
    filed = await file(client, market.seller, deal["id"], filing(non_technical_costs="30000.00"))
    assert filed.status_code == 200, filed.text
    record = filed.json()
    assert record["status"] == "filed"
    assert record["category"] == "transfer"
    assert record["sub_kind"] == "patent_transfer"
    assert record["contract_amount"] == "380000.00"
    assert record["non_technical_costs"] == "30000.00"
    assert record["technical_amount"] == "350000.00"
    assert record["registration_number"] is None
    assert record["filed_by"] == f"user:{market.seller.user.id}"  # type: ignore[union-attr]
    assert filed.headers["etag"] == f'"{record["version"]}"'

    for reader in (market.buyer, market.seller, market.operator, market.auditor):
        read = await _read(client, reader, deal["id"])
        assert read.status_code == 200, read.text
        assert read.json()["technical_amount"] == "350000.00"


async def test_others_may_neither_read_nor_file(
    client: AsyncClient, market: Market, session: AsyncSession, settings: Settings
) -> None:
    deal = await open_deal(client, market)
    other_org = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    stranger = await builders.actor(session, settings, organization=other_org)
    _problem(await file(client, stranger, deal["id"], filing()), 404, "not_found")
    _problem(await file(client, market.auditor, deal["id"], filing()), 403, "missing_scope")
    reader_key = await builders.api_key_actor(
        session, organization=market.seller_org, scopes=[Scope.catalog_write]
    )
    _problem(await file(client, reader_key, deal["id"], filing()), 403, "missing_scope")
    # nothing was filed by any of them
    _problem(await _read(client, market.buyer, deal["id"]), 404, "not_found")

    writer_key = await builders.api_key_actor(
        session, organization=market.seller_org, scopes=[Scope.deals_write]
    )
    assert (await file(client, writer_key, deal["id"], filing())).status_code == 200
    assert (await file(client, market.operator, deal["id"], filing())).status_code == 200
    _problem(await _read(client, stranger, deal["id"]), 404, "not_found")
    assert (await _read(client, market.auditor, deal["id"])).status_code == 200


@pytest.mark.parametrize(
    ("category", "changes", "code"),
    [
        ("transfer", {"sub_kind": None}, "sub_kind_required"),
        ("transfer", {"sub_kind": "entrusted_development"}, "sub_kind_not_in_category"),
        ("license", {"sub_kind": "patent_transfer"}, "sub_kind_not_in_category"),
        ("development", {"sub_kind": "patent_license"}, "sub_kind_not_in_category"),
        ("service", {"sub_kind": "feasibility_study"}, "sub_kind_not_in_category"),
        ("transfer", {"non_technical_costs": "100000.01"}, "non_technical_costs_above_amount"),
        ("transfer", {"non_technical_costs": "-1.00"}, "validation_error"),
        ("transfer", {"non_technical_costs": 100}, "validation_error"),
        ("transfer", {"signed_on": "2024-02-30"}, "validation_error"),
        ("transfer", {"contract_number": "  "}, "validation_error"),
        ("transfer", {"contract_number": "合同 一"}, "validation_error"),
        ("transfer", {"sub_kind": "barter"}, "validation_error"),
        ("transfer", {"registration_number": "X1"}, "validation_error"),
    ],
)
async def test_a_filing_is_checked_and_nothing_is_written_when_refused(
    client: AsyncClient, market: Market, category: str, changes: dict[str, Any], code: str
) -> None:
    deal = await open_deal(client, market, category=category, gross="100000.00")
    refused = await file(client, market.buyer, deal["id"], filing(**changes))
    _problem(refused, 422, code)
    _problem(await _read(client, market.buyer, deal["id"]), 404, "not_found")


async def test_a_contract_signed_tomorrow_is_refused(
    client: AsyncClient, market: Market, settings: Settings
) -> None:
    deal = await open_deal(client, market)
    tomorrow = registrations_service.today(settings.timezone) + timedelta(days=1)
    refused = await file(client, market.buyer, deal["id"], filing(signed_on=tomorrow.isoformat()))
    _problem(refused, 422, "signed_in_future")
    today = registrations_service.today(settings.timezone).isoformat()
    assert (
        await file(client, market.buyer, deal["id"], filing(signed_on=today))
    ).status_code == 200


@pytest.mark.parametrize(
    ("category", "sub_kind", "non_technical", "technical"),
    [
        ("development", "cooperative_development", "100000.00", "0.00"),
        ("license", "technical_secret_license", "0.00", "100000.00"),
        ("consulting", None, "0.01", "99999.99"),
        ("consulting", "technology_forecast", "12.34", "99987.66"),
        ("service", None, "99999.99", "0.01"),
        ("service", "technical_intermediary", "0.00", "100000.00"),
    ],
)
async def test_sub_kinds_follow_the_category(
    client: AsyncClient,
    market: Market,
    category: str,
    sub_kind: str | None,
    non_technical: str,
    technical: str,
) -> None:
    deal = await open_deal(client, market, category=category, gross="100000.00")
    body = filing(sub_kind=sub_kind, non_technical_costs=non_technical)
    filed = await file(client, market.buyer, deal["id"], body)
    assert filed.status_code == 200, filed.text
    assert (filed.json()["sub_kind"], filed.json()["technical_amount"]) == (sub_kind, technical)


async def test_filing_again_replaces_and_the_same_data_changes_nothing(
    client: AsyncClient, market: Market
) -> None:
    deal = await open_deal(client, market)
    first = (await file(client, market.buyer, deal["id"], filing())).json()
    again = await file(client, market.seller, deal["id"], filing())
    assert again.json()["version"] == first["version"]
    assert again.json()["filed_by"] == first["filed_by"]  # nothing changed, nothing recorded

    changed = await file(
        client, market.seller, deal["id"], filing(sub_kind="technical_secret_transfer")
    )
    assert changed.json()["version"] == first["version"] + 1
    assert changed.json()["sub_kind"] == "technical_secret_transfer"

    stale = await file(client, market.buyer, deal["id"], filing(), **{"If-Match": '"1"'})
    _problem(stale, 412, "stale_etag")
    current = changed.headers["etag"]
    fresh = await file(
        client,
        market.buyer,
        deal["id"],
        filing(contract_number="HT-2024-7"),
        **{"If-Match": current},
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["contract_number"] == "HT-2024-7"
    read = await _read(client, market.auditor, deal["id"])
    assert read.json()["contract_number"] == "HT-2024-7"
    assert read.headers["etag"] == fresh.headers["etag"]


async def test_if_match_star_needs_a_filed_record(client: AsyncClient, market: Market) -> None:
    deal = await open_deal(client, market)
    refused = await file(client, market.buyer, deal["id"], filing(), **{"If-Match": "*"})
    assert refused.status_code == 412
    _problem(await _read(client, market.buyer, deal["id"]), 404, "not_found")


async def test_operators_grant_the_number_once_and_the_record_is_then_frozen(
    client: AsyncClient, market: Market
) -> None:
    deal = await open_deal(client, market)
    _problem(
        await grant(client, market.operator, deal["id"], "2024410100000001"),
        409,
        "illegal_transition",
    )  # nothing filed yet
    await file(client, market.buyer, deal["id"], filing(signed_on="2024-03-02"))

    _problem(
        await grant(client, market.buyer, deal["id"], "2024410100000001"), 403, "forbidden_role"
    )
    _problem(
        await grant(client, market.auditor, deal["id"], "2024410100000001"), 403, "forbidden_role"
    )
    _problem(
        await grant(client, market.operator, deal["id"], "2024410100000001", "2024-03-01"),
        422,
        "registered_before_signing",
    )
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    _problem(
        await grant(client, market.operator, deal["id"], "2024410100000001", tomorrow),
        422,
        "registered_in_future",
    )
    assert (await _read(client, market.buyer, deal["id"])).json()["status"] == "filed"

    granted = await grant(client, market.operator, deal["id"], "2024410100000001", "2024-03-02")
    assert granted.status_code == 200, granted.text
    record = granted.json()
    assert record["status"] == "registered"
    assert (record["registration_number"], record["registered_on"]) == (
        "2024410100000001",
        "2024-03-02",
    )
    assert record["registered_by"] == f"user:{market.operator.user.id}"  # type: ignore[union-attr]

    again = await grant(client, market.operator, deal["id"], "2024410100000001", "2024-03-02")
    assert again.status_code == 200
    assert again.json()["version"] == record["version"]
    _problem(
        await grant(client, market.operator, deal["id"], "2024410100000002", "2024-03-02"),
        409,
        "illegal_transition",
    )
    _problem(
        await file(client, market.buyer, deal["id"], filing(non_technical_costs="1.00")),
        409,
        "illegal_transition",
    )
    read = (await _read(client, market.seller, deal["id"])).json()
    assert (read["non_technical_costs"], read["registration_number"]) == (
        "0.00",
        "2024410100000001",
    )


async def test_a_registration_number_belongs_to_one_contract(
    client: AsyncClient, market: Market
) -> None:
    first = await open_deal(client, market)
    second = await open_deal(client, market)
    for deal in (first, second):
        assert (await file(client, market.buyer, deal["id"], filing())).status_code == 200
    assert (
        await grant(client, market.operator, first["id"], "2024410100000009")
    ).status_code == 200
    taken = await grant(client, market.operator, second["id"], "2024410100000009")
    _problem(taken, 409, "registration_number_taken")
    assert (await _read(client, market.buyer, second["id"])).json()["status"] == "filed"
    assert (
        await grant(client, market.operator, second["id"], "2024410100000010")
    ).status_code == 200


async def test_a_cancelled_deal_is_not_registered(client: AsyncClient, market: Market) -> None:
    deal = await open_deal(client, market)
    assert (await file(client, market.buyer, deal["id"], filing())).status_code == 200
    cancelled = await post(client, f"/v1/deals/{deal['id']}/cancel", market.buyer)
    assert cancelled.status_code == 200, cancelled.text
    _problem(await file(client, market.buyer, deal["id"], filing()), 409, "illegal_transition")
    _problem(
        await grant(client, market.operator, deal["id"], "2024410100000011"),
        409,
        "illegal_transition",
    )


async def test_unknown_deals_and_bad_ids_are_problems(client: AsyncClient, market: Market) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    _problem(await _read(client, market.operator, missing), 404, "not_found")
    _problem(await file(client, market.operator, missing, filing()), 404, "not_found")
    _problem(await grant(client, market.operator, missing, "X1"), 404, "not_found")
    _problem(await _read(client, market.operator, "not-a-uuid"), 422, "validation_error")
    anonymous = await client.get(f"/v1/deals/{missing}/registration")
    _problem(anonymous, 401, "unauthorized")
