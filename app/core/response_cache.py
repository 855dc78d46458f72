"""A per-process cache of anonymous GET responses whose freshness the database decides.

The public site and apps ask the same catalog searches over and over (the home page, a
field's page, 科技 or 专利 typed by thousands of visitors), and every answer costs
milliseconds of ranking and facet counting. This cache keeps the bytes of such answers in
each process, keyed by path and query string, and tagged with the **generations** of the
data they were built from: one counter per topic (a catalog), stored in the database and
raised after every committed change to that topic (``app/services/catalog.py``). A request
reads the current generations (one small query) and is served from the cache only when the
entry's generations are the current ones; otherwise it is computed and stored under the
generations read *before* it was computed, so an answer that may predate a change is never
kept as current. Every process and every replica reads the same counters, so a change made
through one is seen by all at once: correctness stays in the database, as the design asks;
the cache only saves work. Entries also expire after ``ttl`` seconds, which bounds staleness
when a counter could not be raised (a process killed between its commit and the raise, a
change made in SQL behind the API's back).

Only anonymous requests are cached (no ``Authorization`` header): what a signed-in caller
sees depends on who they are (their own drafts, talents' contact details).
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import is_database_outage
from app.core.metrics import RESPONSE_CACHE

logger = logging.getLogger(__name__)

#: Reads the current generation of every topic (raises when it cannot).
GenerationsReader = Callable[[], Awaitable[Mapping[str, int]]]

_HIT = RESPONSE_CACHE.labels("hit")
_MISS = RESPONSE_CACHE.labels("miss")
_BYPASS = RESPONSE_CACHE.labels("bypass")

#: Headers a cached response keeps: what describes the body, nothing about one request.
_KEPT_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding", b"etag"})


@dataclass(frozen=True, slots=True)
class CachedResponse:
    generations: tuple[int, ...]
    stored_at: float
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class ResponseCache:
    """Least recently used entries within a byte budget, each valid for ``ttl`` seconds and
    only for the generations it was stored under."""

    def __init__(
        self,
        *,
        max_bytes: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max(max_bytes // 16, 1)
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[tuple[str, bytes], CachedResponse] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, bytes], generations: tuple[int, ...]) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generations != generations or self._clock() - entry.stored_at > self.ttl:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(
        self,
        key: tuple[str, bytes],
        *,
        generations: tuple[int, ...],
        status: int,
        headers: tuple[tuple[bytes, bytes], ...],
        body: bytes,
    ) -> bool:
        """Keep a response; False when it is too large to be worth a place."""
        if len(body) > self.max_entry_bytes:
            return False
        self._drop(key)
        self._entries[key] = CachedResponse(generations, self._clock(), status, headers, body)
        self._bytes += self._cost(key, body)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: tuple[str, bytes]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= self._cost(key, entry.body)

    @staticmethod
    def _cost(key: tuple[str, bytes], body: bytes) -> int:
        return len(body) + len(key[0]) + len(key[1]) + 200  # about the entry's own overhead


class ResponseCacheMiddleware:
    """Serves anonymous GETs of the listed paths from a :class:`ResponseCache`.

    ``topics_by_path`` maps each cached path (exactly, as routed) to the topics its answers
    are built from. Sits inside the conditional-GET and gzip layers, so a cached body gets
    its ETag (and a 304) and its compression per request like any other.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: ResponseCache,
        topics_by_path: Mapping[str, tuple[str, ...]],
        read_generations: GenerationsReader,
    ) -> None:
        self.app = app
        self.cache = cache
        self.topics_by_path = dict(topics_by_path)
        self.read_generations = read_generations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        topics = self.topics_by_path.get(scope["path"])
        if topics is None:
            await self.app(scope, receive, send)
            return
        if any(name == b"authorization" for name, _ in scope["headers"]):
            _BYPASS.inc()
            await self.app(scope, receive, send)
            return
        try:
            current = await self.read_generations()
            generations = tuple(current[topic] for topic in topics)
        except Exception as error:
            if is_database_outage(error):
                raise  # the request would fail too: 503 (the request context answers it)
            # No generations, no way to tell a fresh entry from a stale one: compute it.
            logger.warning("response cache: generations unreadable", exc_info=True)
            _BYPASS.inc()
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"])
        entry = self.cache.get(key, generations)
        if entry is not None:
            _HIT.inc()
            # A list of its own: the layers outside add to a response's headers in place.
            headers = list(entry.headers)
            await send({"type": "http.response.start", "status": entry.status, "headers": headers})
            await send({"type": "http.response.body", "body": entry.body})
            return
        _MISS.inc()
        await self._compute_and_keep(scope, receive, send, key, generations)

    async def _compute_and_keep(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes],
        generations: tuple[int, ...],
    ) -> None:
        status: int | None = None
        headers: tuple[tuple[bytes, bytes], ...] = ()
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                # Copied before it goes out: the layers outside change headers in place.
                status = message["status"]
                headers = tuple(
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name in _KEPT_HEADERS
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if status != 200 or not complete:
            return
        self.cache.put(
            key,
            generations=generations,
            status=200,
            headers=headers,
            body=b"".join(chunks),
        )
