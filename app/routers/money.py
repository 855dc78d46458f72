"""What money-moving endpoints share: the Idempotency-Key header and the idempotent request.

An endpoint that moves money (or makes an object money will move through) declares
``money: MoneyRequest`` and returns ``await money.run(Schema, work, payload=...)``: the work
runs at most once per key in a short transaction of its own, and the endpoint's
``response_model`` still shapes the answer, first time or replayed.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Principal
from app.routers.deps import CurrentPrincipal, DatabaseDep
from app.services import idempotency

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="Required. A unique string per operation (e.g. a UUID): a retry with the"
        " same key and body gets the first response again, with Idempotent-Replayed: true.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"

ResultModel = TypeVar("ResultModel", bound=BaseModel)


class IdempotentRequest:
    """The caller, the key and the response of one money-moving request."""

    def __init__(
        self,
        request: Request,
        response: Response,
        db: DatabaseDep,
        principal: CurrentPrincipal,
        idempotency_key: IdempotencyKey = None,
    ) -> None:
        self.request = request
        self.response = response
        self.db = db
        self.principal: Principal = principal
        self.key = idempotency_key

    async def run(
        self,
        schema: type[ResultModel],
        work: Callable[[AsyncSession], Awaitable[object]],
        *,
        payload: Any = None,
    ) -> ResultModel:
        """``work``'s result as ``schema``, at most once per key: a retry with the same key and
        ``payload`` gets the first result again, marked ``Idempotent-Replayed: true``."""
        key = idempotency.checked_key(self.key)
        method, path = self.request.method, self.request.url.path
        route = self.request.scope.get("route")
        outcome = await idempotency.run_once(
            self.db,
            principal=self.principal.label,
            key=key,
            method=method,
            path=path,
            request_fingerprint=idempotency.fingerprint(method, path, payload),
            status_code=getattr(route, "status_code", None) or 200,
            schema=schema,
            work=work,
        )
        if outcome.replayed:
            self.response.headers[REPLAYED_HEADER] = "true"
        return outcome.result


MoneyRequest = Annotated[IdempotentRequest, Depends()]
