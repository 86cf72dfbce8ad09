"""A hostile internet (issue 11), the parts at the bot's edge: forged webhook updates, replies
that must never reach a group or a channel, strangers under ACCESS=allowlist, and a health
server that stays on loopback and does not leak error text."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.factory import create_app
from bot.settings import Settings
from bot.webhook import create_webhook_app, register_webhook, webhook_path, webhook_secret
from services.worker_stats import WorkerStats
from storage.models import User
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, TEST_TOKEN, USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.harness import Harness


def start_update(user_id: int, chat: dict[str, Any], update_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_a_forged_webhook_update_is_refused(fake_tg: FakeTelegram, tmp_path: Path) -> None:
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        telegram_api_base=fake_tg.base_url,
        data_dir=tmp_path / "data",
        webhook_url="https://bot.example.org",
    )
    secret = webhook_secret(settings)
    # Generated once, kept private, and the same for every later start or process.
    secret_file = tmp_path / "data" / "webhook_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert webhook_secret(settings) == secret and len(secret) >= 64
    path = webhook_path(secret)
    assert path != "/webhook" and secret not in path

    app = create_app(settings)
    try:
        await _forged_updates_are_refused(app, fake_tg, secret, path)
    finally:
        await app.bot.session.close()
        await app.engine.dispose()


async def _forged_updates_are_refused(
    app: Any, fake_tg: FakeTelegram, secret: str, path: str
) -> None:
    url = await register_webhook(app.dispatcher, app.bot, "https://bot.example.org", secret)
    (call,) = fake_tg.calls_to("setWebhook")
    assert call.params["url"] == url == f"https://bot.example.org{path}"
    assert call.params["secret_token"] == secret
    allowed = call.params["allowed_updates"]
    allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
    assert set(allowed) <= {"message", "callback_query", "my_chat_member"}

    forged = start_update(USER_ID, {"id": USER_ID, "type": "private", "first_name": "M"})
    async with TestClient(
        TestServer(create_webhook_app(app.dispatcher, app.bot, secret))
    ) as client:
        assert (await client.post("/webhook", json=forged)).status == 404
        assert (await client.post(path, json=forged)).status == 401
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert (await client.post(path, json=forged, headers=wrong)).status == 401
        assert fake_tg.sent_to(USER_ID) == []
        right = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert (await client.post(path, json=forged, headers=right)).status == 200
    await fake_tg.wait_for(lambda: fake_tg.sent_to(USER_ID), what="the answer to /start")


def test_a_webhook_secret_telegram_would_refuse_stops_start_up(tmp_path: Path) -> None:
    settings = make_settings(webhook_secret="has spaces", data_dir=tmp_path)
    try:
        webhook_secret(settings)
    except SystemExit as exc:
        assert "WEBHOOK_SECRET" in str(exc)
    else:
        raise AssertionError("a bad WEBHOOK_SECRET was accepted")


async def test_messages_in_groups_and_channels_get_no_reply(sqlite_harness: Harness) -> None:
    fake = sqlite_harness.fake
    group = {"id": -100777, "type": "supergroup", "title": "Chatter"}
    channel = {"id": CHANNEL_ID, "type": "channel", "title": "Tech news"}
    for update_id, chat in enumerate((group, channel), start=1):
        body = start_update(USER_ID, chat, update_id)
        del body["update_id"]
        await sqlite_harness.feed(body, None)
    assert [c for c in fake.calls if c.method.startswith("send")] == []


async def test_refused_strangers_are_not_stored(fake_tg: FakeTelegram, tmp_path: Path) -> None:
    from storage.db import upgrade_database
    from tests.ux.harness import running_bot

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        access="allowlist",
        allowed_user_ids=[OTHER_USER_ID],
    )
    from services.clock import ManualClock

    async with running_bot(settings, fake_tg, ManualClock(datetime(2026, 12, 1, tzinfo=UTC))) as h:
        await h.chat(USER_ID).send("/start")
        assert "This bot is private" in fake_tg.sent_to(USER_ID)[-1]["text"]
        await h.chat(OTHER_USER_ID).send("/start")
        async with h.app.session_factory() as session:
            ids = set((await session.scalars(select(User.id))).all())
            assert await session.scalar(select(func.count()).select_from(User)) == 1
    assert ids == {OTHER_USER_ID}


def test_health_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings(bot_token=TEST_TOKEN).health_host == "127.0.0.1"  # type: ignore[call-arg]
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert "HEALTH_HOST=0.0.0.0" in dockerfile  # inside the container's own network


def test_health_reports_the_error_class_not_its_text() -> None:
    stats = WorkerStats(name="ScheduledPostsWorker", interval=60)
    stats.last_error = "ClientResponseError: 500, url='https://api.example/bot123:SECRET/x'"
    shown = stats.as_dict(datetime.now(UTC))
    assert shown["last_error"] == "ClientResponseError"
