"""A TypeScript client generated from the OpenAPI document compiles against a typed tour.

`typescript/usage.ts` signs in, searches with facets, reads a policy, opens and funds a deal
and reads the ledger's totals through `openapi-fetch`, and holds `@ts-expect-error` lines
that must not compile (a money request without an Idempotency-Key, money as a number, …):
the check fails when the schema loosens as well as when it breaks. The tools are pinned in
`typescript/package-lock.json`; `make test` installs them (`make clients`, with npm). By hand:
`npx openapi-typescript openapi.json -o api.ts --default-non-nullable false && npx tsc`.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings

PROJECT = Path(__file__).with_name("typescript")
NODE_MODULES = PROJECT / "node_modules"
GENERATOR = NODE_MODULES / "openapi-typescript" / "bin" / "cli.js"
COMPILER = NODE_MODULES / "typescript" / "bin" / "tsc"
#: Optional in the types is what `required` says, not what a default suggests: a response
#: field with a default is required in the document, a request field with one is optional.
GENERATOR_OPTIONS = ["--default-non-nullable", "false"]
TIMEOUT_SECONDS = 180


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js not found: TypeScript client check skipped")
    if not (GENERATOR.is_file() and COMPILER.is_file()):
        pytest.skip("run npm ci in tests/clients/typescript (make clients)")
    return node


def _run(tool: str, command: list[str], cwd: Path) -> None:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    assert result.returncode == 0, f"{tool} failed:\n{result.stdout}{result.stderr}"


def test_a_generated_typescript_client_compiles_strictly(tmp_path: Path) -> None:
    node = _node()
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app(settings).openapi()), encoding="utf-8")
    for name in ("tsconfig.json", "usage.ts"):
        shutil.copy(PROJECT / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)

    _run(
        "openapi-typescript",
        [node, str(GENERATOR), str(document), "-o", "api.ts", *GENERATOR_OPTIONS],
        tmp_path,
    )
    _run(
        "tsc", [node, str(COMPILER), "--project", "tsconfig.json", "--noEmit", "--strict"], tmp_path
    )
