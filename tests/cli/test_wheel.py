"""An installed wheel (not the source tree) migrates a database: the migrations ship inside it."""

import asyncio
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from app.core.db import create_engine
from app.core.migrations import CURRENT_REVISIONS, SCRIPT_LOCATION, head_revisions
from tests.cli.runner import PROJECT_ROOT, environment


def test_an_installed_wheel_migrates_from_anywhere(tmp_path: Path, fresh_database_url: str) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--wheel-dir", str(tmp_path / "dist"), str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("innoshare-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in SCRIPT_LOCATION.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {"app/migrations/env.py", "app/migrations/script.py.mako"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert not any(name.startswith("migrations/") for name in names)  # no top-level package

    # A venv of its own with the wheel installed; its dependencies are borrowed from the test's
    # environment through a .pth line (not a site directory: the checkout's editable install
    # stays out of sight, so `app` can only come from the wheel).
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q"]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**environment(fresh_database_url)}
    env.pop("PYTHONPATH")
    where = subprocess.run(
        [str(python), "-c", "import app; print(app.__file__)"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(target), where

    migrated = subprocess.run(
        [str(target / "bin" / "innoshare"), "migrate"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrated.returncode == 0, migrated.stderr + migrated.stdout
    assert "database migrated to head" in migrated.stdout
    assert asyncio.run(_versions(fresh_database_url)) == set(head_revisions())


async def _versions(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set((await connection.execute(CURRENT_REVISIONS)).scalars())
    finally:
        await engine.dispose()
