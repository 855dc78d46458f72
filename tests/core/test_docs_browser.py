"""/docs and /redoc in a real browser: they render the API, log nothing, fetch only from us.

Headless Chromium (Debian's ``chromium``, driven by Playwright; no browser download) loads
each page from a live server. A console warning or error, or a request to any other host
(ReDoc's bundle used to load Redocly's logo from a CDN, which our CSP refused: an error in
the console), fails the test. Skipped when Chromium is not installed.
"""

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Request, async_playwright

from tests.conftest import TEST_SECRET
from tests.servers import running_servers

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 90_000
#: After the page shows the API, how long late messages (a lazily drawn logo) may take.
SETTLE_MS = 1_500
#: What each page must show once it has rendered the document.
RENDERED = {
    "/docs": ".opblock-summary-path:has-text('/v1/auth/token')",
    "/redoc": "h2:has-text('Issue Token')",
}


async def _visit(browser: Browser, url: str, path: str) -> tuple[list[str], list[str]]:
    """Load ``url + path`` until it shows the API; its console warnings and errors, and the
    requests it made to any other host."""
    origin = urlsplit(url).netloc
    messages: list[str] = []
    elsewhere: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("warning", "error"):
            messages.append(f"{message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        messages.append(f"uncaught: {error}")

    def on_request(request: Request) -> None:
        address = urlsplit(request.url.removeprefix("blob:"))
        if address.scheme != "data" and address.netloc != origin:
            elsewhere.append(request.url)

    page = await browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", on_request)
    try:
        response = await page.goto(url + path)
        assert response is not None
        assert response.status == 200, path
        await page.locator(RENDERED[path]).first.wait_for(state="visible")
        await page.wait_for_load_state("networkidle")
        await page.wait_for_timeout(SETTLE_MS)
    finally:
        await page.close()
    return messages, elsewhere


async def test_docs_pages_render_quietly_from_this_origin(migrated_fresh_database_url: str) -> None:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: docs pages browser check skipped")
    env = {
        "INNOSHARE_DATABASE_URL": migrated_fresh_database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "ERROR",
    }
    with running_servers(1, env) as [url]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, timeout=TIMEOUT_MS)
            try:
                for path in RENDERED:
                    messages, elsewhere = await _visit(browser, url, path)
                    assert not messages, (path, messages)
                    assert not elsewhere, (path, elsewhere)
            finally:
                await browser.close()
