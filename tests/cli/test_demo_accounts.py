"""Each database keeps its own demo accounts, and ``innoshare demo-accounts`` prints them."""

import stat
import subprocess
from pathlib import Path

from tests.cli.runner import assert_one_line, innoshare


def _seeded(tmp_path: Path, name: str) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / name}"
    assert innoshare(url, "migrate", cwd=tmp_path).returncode == 0
    seeded = innoshare(url, "seed", "--scale", "small", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    listing = seeded.stdout[seeded.stdout.index("demo accounts (password") :]
    return url, listing.split("\n(also written")[0] + "\n"


def test_two_databases_keep_their_own_demo_accounts(tmp_path: Path) -> None:
    first_url, first = _seeded(tmp_path, "first.db")
    second_url, second = _seeded(tmp_path, "second.db")
    assert first != second  # random passwords and keys

    files = sorted((tmp_path / "var" / "demo-accounts").iterdir())
    assert len(files) == 2
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    for url, listing in ((first_url, first), (second_url, second)):
        shown = innoshare(url, "demo-accounts", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == listing


def test_demo_accounts_of_an_unseeded_database_is_one_line(tmp_path: Path) -> None:
    result = innoshare(f"sqlite:///{tmp_path / 'never.db'}", "demo-accounts", cwd=tmp_path)
    assert_one_line(result, "no demo accounts", "innoshare seed")
    assert list(tmp_path.iterdir()) == []


def test_demo_accounts_as_shell_assignments(tmp_path: Path) -> None:
    url, listing = _seeded(tmp_path, "shell.db")
    shown = innoshare(url, "demo-accounts", "--shell", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    printed = subprocess.run(
        ["bash", "-c", f"set -eu -o allexport\n{shown.stdout}\nenv"],
        capture_output=True,
        text=True,
        check=True,
    )
    variables = dict(line.split("=", 1) for line in printed.stdout.splitlines() if "=" in line)
    password = listing.split("password for all: ", 1)[1].split("):", 1)[0]
    assert variables["DEMO_PASSWORD"] == password
    for label in ("admin", "operator", "auditor", "provider", "buyer"):
        assert f"  {label:<10}{variables[f'{label.upper()}_EMAIL']}" in listing
    assert f"  郑州大学  {variables['PROVIDER_KEY']}\n" in listing
    assert "(member of 郑州大学)" in listing
