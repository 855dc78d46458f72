"""PrefixRouter: ruling out paths outside a router's prefix changes no routing decision."""

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.core.routing import PrefixRouter


def _app() -> FastAPI:
    parts = PrefixRouter(prefix="/v1/things/{thing_id}/parts")

    @parts.get("/{part_id}")
    async def get_part(thing_id: int, part_id: int) -> dict[str, int]:
        return {"thing": thing_id, "part": part_id}

    @parts.get("")
    async def list_parts(thing_id: int) -> list[int]:
        return [thing_id]

    others = PrefixRouter(prefix="/v1/others")

    @others.get("/{other_id}")
    async def get_other(other_id: int) -> int:
        return other_id

    loose = PrefixRouter()  # no prefix: the literal beginnings of its routes stand in

    @loose.get("/v1/me")
    async def me() -> str:
        return "me"

    @loose.post("/v1/auth/{action}")
    async def auth(action: str) -> str:
        return action

    app = FastAPI()
    app.include_router(parts, prefix="/api")
    app.include_router(others)
    app.include_router(loose)
    return app


async def test_prefix_routers_route_as_plain_routers_do() -> None:
    transport = ASGITransport(app=_app())
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/api/v1/things/1/parts/2")).json() == {"thing": 1, "part": 2}
        assert (await client.get("/api/v1/things/3/parts")).json() == [3]
        assert (await client.get("/v1/others/7")).json() == 7
        assert (await client.get("/v1/me")).json() == "me"
        assert (await client.post("/v1/auth/token")).json() == "token"
        assert (await client.get("/v1/auth/token")).status_code == 405
        # Outside the prefix (here: without the include's own prefix) nothing matches.
        assert (await client.get("/v1/things/1/parts/2")).status_code == 404
        assert (await client.get("/v1/nothing")).status_code == 404
        # A path in the prefix with another method still finds the route: 405, not 404.
        refused = await client.delete("/api/v1/things/1/parts/2")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET"
        # Trailing-slash redirects still see the routes.
        redirected = await client.get("/v1/others/7/", follow_redirects=False)
        assert redirected.status_code == 307
