"""Every log line is one JSON object with its time in ISO 8601 UTC, uvicorn's lines too."""

import calendar
import json
import logging
import re
import time
from collections.abc import Iterator

import pytest

from app.core.logging import configure_logging

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_every_line_has_an_iso_8601_utc_time(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")  # the host's zone must not show
    time.tzset()
    try:
        configure_logging("INFO")
        before = time.time()
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("app.main").warning("search index: %s", "not built")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("innoshare.errors").exception("unhandled")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["logger"] for line in lines] == ["uvicorn.error", "app.main", "innoshare.errors"]
    for line in lines:
        assert ISO_UTC.match(line["time"]), line["time"]
    logged = time.strptime(lines[0]["time"][:19], "%Y-%m-%dT%H:%M:%S")
    assert abs(calendar.timegm(logged) - before) < 5  # UTC, not the host's Asia/Shanghai
