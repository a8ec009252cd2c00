"""What the browser tests share: logging in, the sideways-scroll check and screenshots."""

import os
import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD

# How far a page scrolls sideways (0 or less: it fits the screen).
NO_SIDEWAYS_SCROLL = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


def log_in(page, email: str) -> None:
    """Log in as this member (the demo password) and land on the workspace's home."""
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))


def shoot(page, name: str, width: int, *, top: bool = False) -> None:
    """A full-page screenshot ``<name>-<width>.png`` into LEADFLOW_SCREENSHOTS, when set
    (``top``: scrolled to the top first, so the sticky header is not drawn mid-page)."""
    directory = os.environ.get("LEADFLOW_SCREENSHOTS")
    if directory:
        if top:
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=f"{directory}/{name}-{width}.png", full_page=True)
