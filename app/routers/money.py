"""What money-moving endpoints share: the Idempotency-Key header and the stored response."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request, Response

from app.core.db import Database
from app.core.security import Principal
from app.services import idempotency
from app.services.deals import principal_label

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="Required. A unique string per operation (e.g. a UUID): a retry with the"
        " same key and body gets the first response again, with Idempotent-Replayed: true.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


async def idempotent(
    request: Request,
    db: Database,
    principal: Principal,
    key: str | None,
    payload: Any,
    work: Callable[[Any], Awaitable[tuple[int, Any]]],
    *,
    location: Callable[[Any], str] | None = None,
) -> Response:
    """Run ``work`` (status code and JSON-ready body) at most once per key; answer its result,
    or the stored first result with ``Idempotent-Replayed: true``."""
    checked = idempotency.checked_key(key)
    method, path = request.method, request.url.path
    stored = await idempotency.run_once(
        db,
        principal=principal_label(principal),
        key=checked,
        method=method,
        path=path,
        request_fingerprint=idempotency.fingerprint(method, path, payload),
        work=work,
    )
    headers = {REPLAYED_HEADER: "true"} if stored.replayed else {}
    if location is not None:
        headers["Location"] = location(stored.body)
    return Response(
        stored.body, status_code=stored.status_code, media_type="application/json", headers=headers
    )
