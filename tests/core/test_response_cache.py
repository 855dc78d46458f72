"""The response cache's own rules: byte budget, expiry, generations, and what it keeps."""

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from httpx import ASGITransport, AsyncClient
from starlette.middleware.gzip import GZipMiddleware

from app.core.response_cache import ResponseCache, ResponseCacheMiddleware

KEY = ("/v1/policies", b"q=%E7%A7%91%E6%8A%80")
HEADERS = ((b"content-type", b"application/json"),)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _put(cache: ResponseCache, key: tuple[str, bytes], body: bytes, generations=(1,)) -> bool:  # type: ignore[no-untyped-def]
    return cache.put(key, generations=generations, status=200, headers=HEADERS, body=body)


def test_entries_hold_for_their_generations_only() -> None:
    cache = ResponseCache(max_bytes=1 << 20, ttl=60)
    assert _put(cache, KEY, b"[1]", generations=(3, 7))
    entry = cache.get(KEY, (3, 7))
    assert entry is not None
    assert entry.body == b"[1]"
    assert cache.get(KEY, (3, 8)) is None
    # A stale entry is dropped, not kept beside the new one.
    assert len(cache) == 0
    assert cache.get(KEY, (3, 7)) is None


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = ResponseCache(max_bytes=1 << 20, ttl=30, clock=clock)
    _put(cache, KEY, b"[1]")
    clock.now += 30
    assert cache.get(KEY, (1,)) is not None
    clock.now += 0.5
    assert cache.get(KEY, (1,)) is None
    assert cache.size_bytes == 0


def test_the_byte_budget_evicts_the_least_recently_used() -> None:
    cache = ResponseCache(max_bytes=16 * 1100, ttl=60)
    keys = [("/v1/policies", f"q={n}".encode()) for n in range(20)]
    for key in keys[:14]:
        assert _put(cache, key, b"x" * 800)
    assert cache.get(keys[0], (1,)) is not None  # used: now the most recent
    for key in keys[14:]:
        _put(cache, key, b"x" * 800)
    assert cache.size_bytes <= cache.max_bytes
    assert cache.get(keys[0], (1,)) is not None
    assert cache.get(keys[1], (1,)) is None
    assert cache.get(keys[19], (1,)) is not None


def test_an_entry_larger_than_a_sixteenth_of_the_budget_is_not_kept() -> None:
    cache = ResponseCache(max_bytes=16_000, ttl=60)
    assert not _put(cache, KEY, b"x" * 1001)
    assert cache.get(KEY, (1,)) is None
    assert _put(cache, KEY, b"x" * 1000)


def _app(generations: Mapping[str, int] | None, calls: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/items")
    async def items(q: str = "") -> dict[str, object]:
        calls.append(q)
        return {"q": q, "n": len(calls)}

    @app.get("/large")
    async def large() -> dict[str, str]:
        calls.append("large")
        return {"text": "科技" * 2000}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        calls.append("stream")

        async def body():  # type: ignore[no-untyped-def]
            yield b"["
            yield b"]"

        return StreamingResponse(body(), media_type="application/json")

    async def read_generations() -> Mapping[str, int]:
        if generations is None:
            raise RuntimeError("database unavailable")
        return generations

    app.add_middleware(
        ResponseCacheMiddleware,
        cache=ResponseCache(max_bytes=1 << 20, ttl=60),
        topics_by_path={"/items": ("items",), "/stream": ("items",), "/large": ("items",)},
        read_generations=read_generations,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    return app


async def _get(app: FastAPI, url: str, **kwargs: object) -> tuple[int, bytes]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get(url, **kwargs)  # type: ignore[arg-type]
        return response.status_code, response.content


async def test_the_middleware_serves_repeats_and_follows_the_generation() -> None:
    calls: list[str] = []
    generations = {"items": 1}
    app = _app(generations, calls)
    assert await _get(app, "/items?q=a") == (200, b'{"q":"a","n":1}')
    assert await _get(app, "/items?q=a") == (200, b'{"q":"a","n":1}')
    assert calls == ["a"]
    generations["items"] = 2
    assert await _get(app, "/items?q=a") == (200, b'{"q":"a","n":2}')
    # Streamed bodies are kept whole too.
    assert await _get(app, "/stream") == (200, b"[]")
    assert await _get(app, "/stream") == (200, b"[]")
    assert calls == ["a", "a", "stream"]
    # Layers outside (gzip here) change a hit's headers as they would a computed answer's.
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(2):
            response = await client.get("/large", headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200
            assert response.headers["content-encoding"] == "gzip"
            assert response.json() == {"text": "科技" * 2000}
    assert calls.count("large") == 1


async def test_credentials_or_unreadable_generations_mean_no_cache() -> None:
    calls: list[str] = []
    app = _app({"items": 1}, calls)
    headers = {"Authorization": "Bearer isk_x"}
    for _ in range(2):
        assert (await _get(app, "/items?q=b", headers=headers))[0] == 200
    assert calls == ["b", "b"]
    broken = _app(None, calls)
    for _ in range(2):
        assert (await _get(broken, "/items?q=c"))[0] == 200
    assert calls == ["b", "b", "c", "c"]
