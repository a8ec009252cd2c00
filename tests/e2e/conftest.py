"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

The browser must be installed (/usr/bin/chromium, from apt); when it is missing these
tests fail rather than skip, so CI never goes green without them.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Assertions wait longer than Playwright's 5 s: on a loaded CI machine a server round trip
# behind a swap or a redirect has taken more than that (a template picked, a pipeline
# renamed: both pass in seconds on a quiet machine).
expect.set_options(timeout=20_000)

CHROMIUM = Path(os.environ.get("LEADFLOW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests
    make around it are still plain synchronous code. Set only while a browser test runs, so
    it never leaks into other tests (or into the processes they start)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(_orm_beside_playwright, transactional_db, live_server):
    """Chromium, started after the database and the live server are ready and stopped
    before they are torn down (Playwright's event loop lives only as long as the test)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.javascript_errors = errors
    yield page
    context.close()
