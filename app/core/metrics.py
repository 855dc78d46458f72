"""What the service measures of itself: requests and latency by route template (Prometheus),
and the current request's time in the database (its Server-Timing header).

Who may read ``/metrics`` (:func:`check_metrics_access`): with ``INNOSHARE_METRICS_TOKEN`` set,
whoever sends it as a bearer token; without it, anyone outside production and no one in it.

With several worker processes each keeps its own counters; ``innoshare serve --workers N``
sets ``PROMETHEUS_MULTIPROC_DIR`` so that ``/metrics`` aggregates all of them.
"""

import hmac
import os
from contextvars import ContextVar
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.core.config import Environment, Settings
from app.core.errors import NotFound, Unauthorized

REQUESTS = Counter(
    "innoshare_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "innoshare_http_request_duration_seconds",
    "Time from request start to the end of the response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESPONSE_CACHE = Counter(
    "innoshare_response_cache_total",
    "Anonymous GETs of cached lists: served from the cache (hit), computed (miss), or not"
    " eligible (bypass: signed in, or the generations could not be read).",
    ["result"],
)


#: Seconds the current request has spent in database calls (a one-item list the request's
#: middleware sets; None outside requests). Reported in the Server-Timing header.
database_time: ContextVar[list[float] | None] = ContextVar("database_time", default=None)


def add_database_time(seconds: float) -> None:
    spent = database_time.get()
    if spent is not None:
        spent[0] += seconds


#: The labelled series of each (method, route template, status) seen so far: ``labels()``
#: validates, locks and looks up on every call, a cost the busiest reads noticed.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    series = _SERIES.get((method, route, status))
    if series is None:
        series = REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)
        _SERIES[(method, route, status)] = series
    series[0].inc()
    series[1].observe(seconds)


def render_metrics() -> tuple[bytes, str]:
    """The exposition text, aggregated across processes when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def check_metrics_access(settings: Settings, authorization: str | None) -> None:
    """Raise unless this request may read the metrics: 401 without the configured bearer
    token (compared in constant time), 404 in production when no token is configured."""
    token = settings.metrics_token
    if token is None:
        if settings.env is Environment.production:
            raise NotFound("Not Found")
        return
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise Unauthorized("The metrics need the bearer token INNOSHARE_METRICS_TOKEN.")
