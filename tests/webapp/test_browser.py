"""The Mini App in a real headless Chromium (acceptance 1), against the bot's own server and
the fake Bot API: the page loads with Telegram's initData, shows the user's posts on the
right days and times of their zone (and nobody else's), a post dragged to tomorrow moves in
the database and in the chat's /scheduled, and a post opens as its channel will show it.
Screenshots in light and dark themes at 360 and 1280 px wide are kept as artifacts
(TEST_ARTIFACTS_DIR, else the test's tmp_path; MINIAPP_DOCS_SCREENSHOTS=1 also refreshes
docs/miniapp/)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.factory import App, create_app
from bot.miniapp import miniapp_port
from services.clock import ManualClock
from storage.db import create_session_factory
from tests.conftest import USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram
from tests.webapp.support import (
    MINIAPP_URL,
    NOW,
    Seeded,
    init_data,
    launch_fragment,
    load_post,
    seed_calendar,
)

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]

LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "section_bg_color": "#17212b",
    "destructive_text_color": "#ec3942",
}
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# telegram-web-app.js as the page meets it inside Telegram (a stub: no network in tests).
TELEGRAM_STUB = """
window.__back = null;
window.Telegram = { WebApp: {
  initData: %(init_data)s,
  initDataUnsafe: {},
  colorScheme: "dark",
  themeParams: %(theme)s,
  ready: function () { window.__ready = true; },
  expand: function () {},
  onEvent: function () {},
  close: function () { window.__closed = true; },
  showConfirm: function (message, callback) { callback(true); },
  HapticFeedback: { notificationOccurred: function () {} },
  BackButton: {
    isVisible: false,
    show: function () { this.isVisible = true; },
    hide: function () { this.isVisible = false; },
    onClick: function (callback) { window.__back = callback; },
  },
} };
"""


@dataclass
class Running:
    app: App
    fake_tg: FakeTelegram
    seeded: Seeded
    session_factory: Any
    base: str
    artifacts: Path


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path) / "miniapp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def running(
    sqlite_db: tuple[str, AsyncEngine], tmp_path: Path, fake_tg: FakeTelegram, artifacts: Path
) -> AsyncIterator[Running]:
    url, engine = sqlite_db
    clock = ManualClock(NOW)
    session_factory = create_session_factory(engine)
    seeded = await seed_calendar(session_factory, clock)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        miniapp_url=MINIAPP_URL,
        miniapp_port=0,
        disable_workers=True,
        data_dir=tmp_path,
    )
    app = create_app(settings, clock=clock, engine=engine)
    async with polling(app):
        for _ in range(500):  # the start-up hooks run as polling starts
            if (port := miniapp_port(app)) and fake_tg.calls_to("setChatMenuButton"):
                break
            await asyncio.sleep(0.02)
        assert port, "the Mini App's server did not start"
        yield Running(
            app, fake_tg, seeded, session_factory, f"http://127.0.0.1:{port}/app/", artifacts
        )


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def open_page(
    browser: Any,
    running: Running,
    size: dict[str, int],
    *,
    stub: dict[str, str] | None = None,
    touch: bool = False,
) -> Any:
    """Without `stub`, telegram.org cannot be reached (the page must work from the URL
    fragment alone); with it, Telegram's script is there and carries initData and theme."""
    context = await browser.new_context(
        viewport=size, device_scale_factor=1, locale="en-US", has_touch=touch, is_mobile=touch
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    data = init_data(USER_ID, auth_date=NOW)
    if stub is None:
        await page.route("https://telegram.org/**", lambda route: route.abort())
        await page.goto(running.base + launch_fragment(data, LIGHT))
    else:
        body = TELEGRAM_STUB % {"init_data": json.dumps(data), "theme": json.dumps(stub)}
        await page.route(
            "https://telegram.org/**",
            lambda route: route.fulfill(body=body, content_type="text/javascript"),
        )
        await page.goto(running.base + "#tgWebAppVersion=8.0&tgWebAppPlatform=ios")
    await page.wait_for_selector("body[data-state=ready]", timeout=15_000)
    return page


async def shot(page: Any, running: Running, name: str) -> Path:
    path = running.artifacts / name
    await page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MINIAPP_DOCS_SCREENSHOTS") == "1":
        docs = ROOT / "docs" / "miniapp"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, docs / name)
    return path


def chip(day: str, post_id: int) -> str:
    return f'.day-col[data-date="{day}"] .chip[data-id="{post_id}"]'


async def test_the_calendar_in_a_real_browser(browser: Any, running: Running) -> None:
    s = running.seeded
    page = await open_page(browser, running, PHONE)

    # The week of Tuesday 1 December, in Moscow time: 12:00 UTC shows at 15:00.
    today = page.locator(chip("2026-12-01", s.today))
    assert await today.get_attribute("data-local") == "2026-12-01T15:00"
    assert "15:00" in await today.inner_text()
    assert await today.evaluate("node => node.style.top") == "600px"  # 15 h × 40 px
    assert await page.locator(chip("2026-11-30", s.published)).count() == 1
    assert await page.locator(chip("2026-12-03", s.failed)).count() == 1
    assert await page.locator(chip("2026-12-04", s.awaiting)).count() == 1
    # Colours by status, and the rule's runs to come as ghosts from today on.
    assert "st-published" in (
        await page.locator(f'[data-id="{s.published}"]').get_attribute("class") or ""
    )
    assert await page.locator('.day-col[data-date="2026-12-05"] .chip.ghost').count() == 1
    assert await page.locator('.day-col[data-date="2026-11-30"] .chip.ghost').count() == 0
    # Nobody else's.
    assert await page.locator(f'[data-id="{s.theirs}"]').count() == 0
    assert "Not Anna" not in await page.content()
    await shot(page, running, "week-light-360.png")

    # Drag today's post to tomorrow, same time.
    await today.scroll_into_view_if_needed()
    box = await today.bounding_box()
    column = await page.locator('.day-col[data-date="2026-12-02"]').bounding_box()
    assert box and column
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 8, y, steps=2)
    await page.mouse.move(column["x"] + column["width"] / 2, y, steps=8)
    await page.mouse.up()
    moved = page.locator(chip("2026-12-02", s.today))
    await moved.wait_for(timeout=10_000)
    assert await moved.get_attribute("data-local") == "2026-12-02T15:00"
    assert await page.locator(chip("2026-12-01", s.today)).count() == 0
    # The database agrees...
    post = await load_post(running.session_factory, s.today)
    assert post.scheduled_time == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert post.status == "scheduled"
    # ...and so does the chat's /scheduled.
    running.fake_tg.user_message(USER_ID, "/scheduled")
    listing = await running.fake_tg.wait_for_text(USER_ID, f"#{s.today} ·")
    assert "2026-12-02 15:00" in listing["text"]

    # Tap a post: its preview as the channel shows it, escaped where it must be.
    await page.locator(chip("2026-12-02", s.hostile)).click()
    sheet = page.locator("#sheet")
    await sheet.wait_for(state="visible")
    body = page.locator("#sheet .preview .body")
    assert await body.locator("b").inner_text() == "Launch day"
    assert "<script>alert(1)</script>" in await body.inner_text()
    assert await body.locator("script").count() == 0
    assert await body.locator("a").get_attribute("href") == "https://example.org/a?b=1&c=2"
    assert await page.locator("#sheet .preview .channel").inner_text() == "Tech news"
    actions = await page.locator("#sheet .actions button[data-action]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.action)"
    )
    assert actions == ["publish-now", "reschedule", "cancel", "duplicate", "close"]
    await shot(page, running, "post-light-360.png")
    await page.locator('#sheet button[data-action="close"]').click()
    await sheet.wait_for(state="hidden")
    assert page.errors == []

    wide = await open_page(browser, running, DESKTOP)
    assert await wide.locator(chip("2026-12-02", s.today)).count() == 1
    await shot(wide, running, "week-light-1280.png")
    # One target at a time: the other's posts and its rule's ghosts leave.
    await wide.select_option("#target", str(s.second_target_id))
    await wide.wait_for_selector("body[data-state=ready]")
    ids = await wide.locator(".chip[data-id]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.id)"
    )
    assert ids == [str(s.awaiting)]
    assert await wide.locator(".chip.ghost").count() == 0
    await wide.select_option("#target", "")
    await wide.wait_for_selector("body[data-state=ready]")
    await wide.locator("#view-month").click()
    await wide.wait_for_selector('.cell[data-date="2026-12-31"]')
    await wide.wait_for_selector("body[data-state=ready]")
    assert (
        await wide.locator(f'.cell[data-date="2026-12-02"] .chip[data-id="{s.today}"]').count()
        == 1
    )
    await shot(wide, running, "month-light-1280.png")
    assert wide.errors == []


async def test_dark_theme_back_button_and_month_drag_through_telegrams_script(
    browser: Any, running: Running
) -> None:
    s = running.seeded
    page = await open_page(browser, running, PHONE, stub=DARK)
    assert await page.evaluate("window.__ready") is True
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"  # DARK's bg_color
    await shot(page, running, "week-dark-360.png")

    # The back button closes an open post.
    await page.locator(chip("2026-12-03", s.failed)).click()
    await page.locator("#sheet").wait_for(state="visible")
    assert await page.evaluate("Telegram.WebApp.BackButton.isVisible") is True
    assert "Reason" in await page.locator("#sheet .meta").inner_text()
    await shot(page, running, "post-dark-360.png")
    await page.evaluate("window.__back()")
    await page.locator("#sheet").wait_for(state="hidden")
    assert await page.evaluate("Telegram.WebApp.BackButton.isVisible") is False

    # Month view: drag the post waiting for approval from Friday to Monday the 7th.
    await page.locator("#view-month").click()
    await page.wait_for_selector('.cell[data-date="2026-12-31"]')
    await page.wait_for_selector("body[data-state=ready]")
    await shot(page, running, "month-dark-360.png")
    source = page.locator(f'.cell[data-date="2026-12-04"] .chip[data-id="{s.awaiting}"]')
    box = await source.bounding_box()
    cell = await page.locator('.cell[data-date="2026-12-07"]').bounding_box()
    assert box and cell
    await page.mouse.move(box["x"] + 4, box["y"] + 4)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 14, box["y"] + 4, steps=2)
    await page.mouse.move(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2, steps=8)
    await page.mouse.up()
    await page.locator(f'.cell[data-date="2026-12-07"] .chip[data-id="{s.awaiting}"]').wait_for()
    post = await load_post(running.session_factory, s.awaiting)
    assert post.scheduled_time == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 18:00 Moscow
    assert post.status == "awaiting_approval"

    # Into the past: refused with the reason, nothing moves.
    source = page.locator(f'.cell[data-date="2026-12-07"] .chip[data-id="{s.awaiting}"]')
    box = await source.bounding_box()
    cell = await page.locator('.cell[data-date="2026-11-30"]').bounding_box()
    assert box and cell
    await page.mouse.move(box["x"] + 4, box["y"] + 4)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 14, box["y"] + 4, steps=2)
    await page.mouse.move(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2, steps=8)
    await page.mouse.up()
    toast = page.locator("#toast.error")
    await toast.wait_for(state="visible")
    assert await toast.inner_text() == "That time has already passed."
    post = await load_post(running.session_factory, s.awaiting)
    assert post.scheduled_time == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)

    wide = await open_page(browser, running, DESKTOP, stub=DARK)
    await shot(wide, running, "week-dark-1280.png")
    assert page.errors == [] and wide.errors == []


async def test_a_finger_drags_a_post_too(browser: Any, running: Running) -> None:
    """Touch input (Chromium's own touch events, turned into pointer events by the page's
    browser): the chip does not scroll the page away under the finger."""
    s = running.seeded
    page = await open_page(browser, running, PHONE, touch=True)
    cdp = await page.context.new_cdp_session(page)
    source = page.locator(chip("2026-12-02", s.hostile))
    await source.scroll_into_view_if_needed()
    box = await source.bounding_box()
    column = await page.locator('.day-col[data-date="2026-12-03"]').bounding_box()
    assert box and column
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    end_x = column["x"] + column["width"] / 2

    async def touch(kind: str, at_x: float = 0, at_y: float = 0) -> None:
        points = [] if kind == "touchEnd" else [{"x": at_x, "y": at_y}]
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    await touch("touchStart", x, y)
    for step in range(1, 11):
        await touch("touchMove", x + (end_x - x) * step / 10, y)
    await touch("touchEnd")
    await page.locator(chip("2026-12-03", s.hostile)).wait_for(timeout=10_000)
    post = await load_post(running.session_factory, s.hostile)
    assert post.scheduled_time == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 08:00 Moscow
    assert page.errors == []


async def test_forged_init_data_shows_the_refusal_and_no_posts(
    browser: Any, running: Running
) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.route("https://telegram.org/**", lambda route: route.abort())
    forged = init_data(USER_ID, token="999999:" + "A" * 35, auth_date=NOW)
    await page.goto(running.base + launch_fragment(forged, LIGHT))
    await page.wait_for_selector("body[data-state=error]", timeout=15_000)
    assert await page.locator("#status").inner_text() == (
        "Open the calendar from the bot's menu again."
    )
    assert await page.locator(".chip").count() == 0


async def test_the_menu_buttons_open_the_mini_app(running: Running) -> None:
    fake_tg = running.fake_tg
    (call,) = fake_tg.calls_to("setChatMenuButton")
    button = call.params["menu_button"]
    assert button["type"] == "web_app" and button["web_app"]["url"] == MINIAPP_URL
    fake_tg.user_message(USER_ID, "/menu")
    menu = await fake_tg.wait_for_text(USER_ID, "")
    urls = [
        b.get("web_app", {}).get("url")
        for row in menu["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert MINIAPP_URL in urls
