"""The arena cap: set on glibc, left to the operator when MALLOC_ARENA_MAX is set."""

import platform
import subprocess
import sys

import pytest

from app.core import malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_cap_is_set_in_a_fresh_process_and_left_to_the_operator() -> None:
    code = "from app.core import malloc; print(malloc.limit_arenas())"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "True"
    told = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"MALLOC_ARENA_MAX": "4", "PATH": ""},
    )
    assert told.stdout.strip() == "False"
    assert malloc.M_ARENA_MAX == -8
