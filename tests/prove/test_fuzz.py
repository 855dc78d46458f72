"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

A live server on a database of its own gets schema-derived and mutated requests from every
phase schemathesis has (examples, coverage, fuzzing, and the stateful phase, which chains
operations through the links it infers from the schema and from ``Location`` headers), with
all its checks, once for each kind of caller: an admin, a member of an enterprise, a
university's API key and nobody. Any failure fails the test, with schemathesis's own report
and a curl command to reproduce it.

The seed and the number of examples are fixed so ``make test`` is repeatable and bounded;
``make fuzz`` runs the same harness longer on a random seed (``FUZZ_SEED``,
``FUZZ_EXAMPLES``, ``FUZZ_MAX_SECONDS``; ``FUZZ_IDENTITIES`` picks callers by name).
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from app.core.db import Database, create_engine
from app.core.security import Role, Scope
from app.models.orgs import OrganizationKind
from tests import builders
from tests.conftest import TEST_SECRET, make_settings
from tests.servers import running_servers

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
HERE = Path(__file__).parent
SEED = int(os.environ.get("FUZZ_SEED", "20261124"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
#: Each caller's time budget (``--max-time``: the fuzzing and stateful phases repeat until it
#: is spent), for ``make fuzz``; ``make test`` is bounded by the number of examples instead.
MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "0")) or None
#: Checks switched off, each with the issue that keeps it off. Empty is the goal: keep it so.
EXCLUDED_CHECKS: dict[str, str] = {}

#: What each member-side caller may hold; an API key gets every scope an organization can.
MEMBER_SCOPES = [
    Scope.catalog_write,
    Scope.demands_write,
    Scope.deals_write,
    Scope.subscriptions_write,
]


async def _build_world(database: Database, database_url: str) -> dict[str, dict[str, str]]:
    """The callers' headers by name, and something of each side's in the catalogs for the
    fuzzer to find (its stateful phase creates the rest)."""
    settings = make_settings(database_url)
    async with database.unit_of_work(write=True) as session:
        enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
        university = await builders.create_organization(session, kind=OrganizationKind.university)
        admin = await builders.actor(session, settings, role=Role.admin)
        member = await builders.actor(session, settings, organization=enterprise)
        key = await builders.api_key_actor(session, organization=university, scopes=MEMBER_SCOPES)
        await builders.published_technology(session, university)
        await builders.open_demand(session, enterprise)
    long_lived = {"ttl_seconds": 3600 + (MAX_SECONDS or 0)}
    assert admin.user is not None
    assert member.user is not None
    return {
        "admin": builders.bearer_for(admin.user, settings, **long_lived),
        "enterprise_member": builders.bearer_for(member.user, settings, **long_lived),
        "university_key": key.headers,
        "anonymous": {},
    }


IDENTITIES = ["admin", "enterprise_member", "university_key", "anonymous"]
SELECTED = os.environ.get("FUZZ_IDENTITIES", ",".join(IDENTITIES)).split(",")
ALL_PHASES = "examples,coverage,fuzzing,stateful"
#: The coverage phase (every boundary of every parameter, deterministic) is two thirds of a
#: caller's run and does not shrink with the number of examples: ``make test`` runs it as the
#: admin, who reaches the most operations; ``make fuzz`` (``FUZZ_PHASES=all``) for everyone.
PHASES = dict.fromkeys(IDENTITIES, "examples,fuzzing,stateful") | {"admin": ALL_PHASES}
if os.environ.get("FUZZ_PHASES"):
    PHASES = dict.fromkeys(IDENTITIES, os.environ["FUZZ_PHASES"].replace("all", ALL_PHASES))


def schemathesis_command(
    url: str, headers: dict[str, str], report: Path, phases: str = ALL_PHASES
) -> list[str]:
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",  # the same cases on every machine, nothing learnt from a previous run
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--suppress-health-check",
        "all",
        "--phases",
        phases,
    ]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    if MAX_SECONDS:
        command += ["--max-time", str(MAX_SECONDS)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return command


@pytest.mark.parametrize("identity", [i for i in IDENTITIES if i in SELECTED])
async def test_no_input_breaks_the_api(
    identity: str, migrated_fresh_database_url: str, tmp_path: Path
) -> None:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        headers = (await _build_world(database, migrated_fresh_database_url))[identity]
    finally:
        await database.dispose()

    env = {
        "INNOSHARE_DATABASE_URL": migrated_fresh_database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "ERROR",
        "INNOSHARE_API_KEY_REQUESTS_PER_MINUTE": "1000000",  # the fuzzer is no abuser
    }
    report = Path(os.environ.get("FUZZ_REPORT_DIR") or tmp_path) / f"fuzz-{identity}.xml"
    with running_servers(1, env, lifetime=(MAX_SECONDS or 0) + 900) as [url]:
        result = subprocess.run(
            schemathesis_command(url, headers, report, PHASES[identity]),
            capture_output=True,
            text=True,
            timeout=(MAX_SECONDS or 0) + 600,
            env={
                **os.environ,
                "SCHEMATHESIS_TELEMETRY": "false",
                "SCHEMATHESIS_HOOKS": "tests.prove.fuzz_checks",
                "PYTHONPATH": str(HERE.parents[1]),
            },
        )
    assert result.returncode == 0, (
        failures_by_check(report) + "\n" + result.stdout[-8000:] + result.stderr[-2000:]
    )


def failures_by_check(report: Path) -> str:
    """One line per failing (check, operation) in schemathesis's JUnit report."""
    if not report.exists():
        return "(no report)"
    found: set[str] = set()
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            text = failure.text or failure.get("message") or ""
            checks = sorted(set(re.findall(r"^- (ST\d+ .+)$", text, re.MULTILINE))) or [text[:80]]
            for check in checks:
                found.add(f"{case.get('name')}: {check}")
    return "\n".join(sorted(found))
