"""Each list's ``facets`` parameter says in the schema which names it takes, and the server
takes exactly those: a client generated from the schema cannot send a name the server refuses."""

import re

from httpx import AsyncClient

from app.services import (
    demands,
    financial_products,
    ip_assets,
    policies,
    talents,
    technologies,
)

LISTS = {
    "/v1/technologies": technologies.SPEC,
    "/v1/talents": talents.SPEC,
    "/v1/ip-assets": ip_assets.SPEC,
    "/v1/policies": policies.SPEC,
    "/v1/financial-products": financial_products.SPEC,
    "/v1/demands": demands.SPEC,
}


async def test_each_list_declares_its_own_facets(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path, spec in LISTS.items():
        (parameter,) = [
            p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "facets"
        ]
        pattern = re.compile(parameter["schema"]["anyOf"][0]["pattern"])
        every = ",".join(spec.facets)
        assert pattern.match(every), (path, pattern.pattern)
        assert pattern.match(" , ".join(reversed(spec.facets))), path
        for wrong in ("summary", f"{spec.facets[0]},", f"{spec.facets[0]},bogus", ""):
            assert not pattern.match(wrong), (path, wrong)
        answered = await client.get(path, params={"facets": every, "limit": 1})
        assert answered.status_code == 200, (path, answered.text)
        assert set(answered.json()["facets"]) == set(spec.facets), path
        refused = await client.get(path, params={"facets": f"{spec.facets[0]},bogus"})
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["errors"][0]["loc"] == ["query", "facets"], path
