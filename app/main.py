"""create_app(): settings, database, middleware, error handlers and routers; nothing else."""

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from app import __version__
from app.core import malloc, webhooks
from app.core.config import Environment, Settings, get_settings
from app.core.db import Database, create_engine
from app.core.errors import is_database_outage, register_error_handlers
from app.core.logging import configure_logging
from app.core.middleware import (
    REQUEST_ID_HEADER,
    ConditionalGetMiddleware,
    InputGuardMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from app.core.openapi import DESCRIPTION, install_docs, install_openapi, operation_id
from app.core.response_cache import ResponseCache, ResponseCacheMiddleware
from app.routers import (
    auth,
    deals,
    demands,
    financial_products,
    health,
    imports,
    invitations,
    ip_assets,
    ledger,
    matching,
    orgs,
    payouts,
    policies,
    proposals,
    questions,
    registrations,
    reviews,
    search,
    stats,
    subscriptions,
    talents,
    technologies,
)
from app.services import catalog as catalog_service
from app.services import deliveries as deliveries_service
from app.services import orgs as orgs_service
from app.services.catalog_registry import INDEXED, CatalogName


def cached_lists() -> dict[str, tuple[str, ...]]:
    """The anonymous lists the response cache keeps, and the catalogs each is built from."""
    catalogs = {
        talents.router.prefix: CatalogName.talents,
        technologies.router.prefix: CatalogName.technologies,
        policies.router.prefix: CatalogName.policies,
        ip_assets.router.prefix: CatalogName.ip_assets,
        financial_products.router.prefix: CatalogName.financial_products,
    }
    lists: dict[str, tuple[str, ...]] = {path: (name.value,) for path, name in catalogs.items()}
    lists[search.router.prefix] = tuple(name.value for name in CatalogName)
    return lists


logger = logging.getLogger(__name__)


async def _build_search_index(index: catalog_service.CatalogIndexes) -> None:
    """Build the process's search index before serving, so no search waits for it. When the
    database cannot be read now, the first search builds it (and answers 503 until then)."""
    started = time.perf_counter()
    try:
        sizes = await index.build()
    except Exception as error:
        outage = is_database_outage(error)  # a process (re)started during an outage: no trace
        logger.warning(
            "search index: not built at start-up%s; the first search builds it",
            f" (database unavailable: {type(error).__name__})" if outage else "",
            exc_info=not outage,
        )
        return
    logger.info(
        "search index built in %.1f s: %s",
        time.perf_counter() - started,
        ", ".join(f"{name} {size}" for name, size in sizes.items()),
    )


@asynccontextmanager
async def _delivery_worker(db: Database, settings: Settings) -> AsyncIterator[None]:
    """A webhook delivery worker beside the server (INNOSHARE_WEBHOOK_WORKER), so the embedded
    set-up needs no other process; stopped with the server."""
    if not settings.webhook_worker:
        yield
        return
    sender = webhooks.Sender(
        production=settings.env is Environment.production,
        timeout=settings.webhook_timeout_seconds,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        deliveries_service.run_worker(
            db,
            sender,
            stop,
            poll_seconds=settings.webhook_poll_seconds,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task
        await sender.close()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    db = database or Database(
        create_engine(settings.database_url, pool_size=settings.database_pool_size)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (models, schemas, routes) lives as long as the process:
        # move it out of the collector's sight, or every full collection walks it again.
        gc.collect()
        gc.freeze()
        malloc.limit_arenas()  # before the index's threads start: see app/core/malloc.py
        await _build_search_index(search_index)
        async with _delivery_worker(db, settings):
            yield
        if database is None:  # an injected database belongs to whoever made it
            await db.dispose()

    app = FastAPI(
        title="InnoShare API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.db = db
    search_index = catalog_service.CatalogIndexes(
        db, INDEXED, [(orgs_service.INDEX_NAME, orgs_service.INDEX_LAYOUT)]
    )
    app.state.search_index = search_index

    register_error_handlers(app)

    # Added innermost first: the request context wraps everything else.
    if settings.response_cache_mb:

        async def read_generations() -> Mapping[str, int]:
            return await catalog_service.read_generations(db)

        app.add_middleware(
            ResponseCacheMiddleware,
            cache=ResponseCache(
                max_bytes=settings.response_cache_mb * 1024 * 1024,
                ttl=settings.response_cache_ttl_seconds,
            ),
            topics_by_path=cached_lists(),
            read_generations=read_generations,
        )
    app.add_middleware(InputGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",
                REQUEST_ID_HEADER,
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "Idempotent-Replayed",
                "Server-Timing",
                REQUEST_ID_HEADER,
            ],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)

    for router in (
        auth.router,
        auth.users_router,
        auth.api_keys_router,
        orgs.router,
        talents.router,
        technologies.router,
        policies.router,
        ip_assets.router,
        financial_products.router,
        demands.router,
        matching.router,
        subscriptions.router,
        subscriptions.events_router,
        search.router,
        imports.router,
        proposals.router,
        questions.router,
        invitations.router,
        deals.router,
        registrations.deal_registration_router,
        reviews.deal_reviews_router,
        reviews.organization_reviews_router,
        reviews.router,
        registrations.router,
        payouts.router,
        payouts.tax_router,
        payouts.balance_router,
        ledger.router,
        stats.router,
        health.router,
    ):
        app.include_router(router)

    install_openapi(app)
    install_docs(app)
    return app
