"""Operations: liveness, readiness and metrics for orchestrators and Prometheus."""

from fastapi import Depends, Response

from app import __version__
from app.core.errors import problem_responses
from app.core.metrics import render_metrics
from app.core.routing import PrefixRouter
from app.routers.deps import SessionDep, metrics_reader
from app.schemas.health import Liveness, ReadinessRead
from app.services import health as health_service
from app.services.health import Readiness

router = PrefixRouter(tags=["operations"])


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process is up (touches nothing else)."""
    return Liveness(status="ok", version=__version__)


@router.get("/readyz", response_model=ReadinessRead, responses=problem_responses(503))
async def readyz(session: SessionDep) -> Readiness:
    """Ready to serve: the database answers and its migrations are at head."""
    return await health_service.check_readiness(session)


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(metrics_reader)],
    responses={
        **problem_responses(401, 404),
        200: {
            "description": "Prometheus text exposition format.",
            "content": {
                "text/plain; version=0.0.4": {
                    "schema": {"type": "string"},
                    "example": (
                        'innoshare_http_requests_total{method="GET",route="/healthz",status="200"}'
                        " 3.0\n"
                    ),
                }
            },
        },
    },
)
async def metrics() -> Response:
    """Request counts and latency by route template, in Prometheus format (a bearer token when
    INNOSHARE_METRICS_TOKEN is set; not served in production without one)."""
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
