"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

A live server on a database of its own gets schema-derived and mutated requests, signed in as
an admin; any 5xx, undocumented status, wrong content type or response that breaks its schema
fails the test. The seed is fixed so CI is repeatable; change it locally to explore.
"""

import os
import subprocess
import sys
from pathlib import Path

from app.core.db import Database, create_engine
from app.core.security import Role
from tests import builders
from tests.conftest import TEST_SECRET, make_settings
from tests.servers import running_servers

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def test_no_input_breaks_the_api(migrated_fresh_database_url: str) -> None:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            admin = await builders.create_user(session, role=Role.admin)
            await builders.create_organization(session)
    finally:
        await database.dispose()
    headers = builders.bearer_for(
        admin, make_settings(migrated_fresh_database_url), ttl_seconds=3600
    )

    env = {
        "INNOSHARE_DATABASE_URL": migrated_fresh_database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "ERROR",
    }
    with running_servers(1, env) as [url]:
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: {headers['Authorization']}",
                "--checks",
                CHECKS,
                "--max-examples",
                "6",
                "--seed",
                "20261124",
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
