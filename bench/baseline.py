"""The floor bench_get compares against: a bare FastAPI app with the same route and body.

``GET /v1/organizations/{organization_id}`` answers the bytes in the file named by
``BENCH_BASELINE_BODY_FILE`` (the real API's response, fetched once by bench_get): routing,
UUID path parsing and a constant JSON response, with no middleware, database or response
model. Served as ``uvicorn baseline:create_app --factory --app-dir bench``.
"""

import os
import uuid
from pathlib import Path

from fastapi import FastAPI, Response

BODY_FILE_ENV = "BENCH_BASELINE_BODY_FILE"


def create_app() -> FastAPI:
    body = Path(os.environ[BODY_FILE_ENV]).read_bytes()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/v1/organizations/{organization_id}")
    async def get_organization(organization_id: uuid.UUID) -> Response:
        return Response(content=body, media_type="application/json")

    return app
