"""Issue 11: the per-user daily AI quota stops /new AI (and its Regenerate) with a clear
message saying when it renews, in the user's language; the model is not called."""

from __future__ import annotations

from pathlib import Path

from services.clock import ManualClock
from tests.conftest import OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.conftest import sqlite_copy, texts
from tests.ux.harness import ScriptedGenerator, running_bot


async def test_the_daily_ai_quota_stops_the_next_generation(
    fake_tg: FakeTelegram,
    migrated_sqlite: Path,
    tmp_path: Path,
    clock: ManualClock,
    generator: ScriptedGenerator,
) -> None:
    settings = make_settings(
        database_url=sqlite_copy(migrated_sqlite, tmp_path),
        telegram_api_base=fake_tg.base_url,
        ai_daily_quota_per_user=2,
    )
    async with running_bot(settings, fake_tg, clock, generator=generator) as harness:
        chat = harness.chat(USER_ID)
        await chat.send("/new")
        await chat.tap("Generate with AI")
        reply = await chat.send("a post about Python")
        assert "Draft 1: a post about Python" in texts(reply)
        reply = await chat.tap("Regenerate")
        assert "Draft 2: a post about Python" in texts(reply)

        reply = await chat.tap("Regenerate")

        assert "You have used all 2 AI requests for today" in texts(reply)
        assert "More are available from" in texts(reply)
        assert len(generator.briefs) == 2  # the third request never reached the model
        usage = await harness.app.services.ai_quota.usage(USER_ID)
        assert (usage.used, usage.limit) == (2, 2)

        # In Russian too (OTHER_USER_ID writes in Russian), and by the rule of today's date.
        other = harness.chat(OTHER_USER_ID)
        await other.send("/start")
        for _ in range(2):
            await harness.app.services.ai_quota.spend(OTHER_USER_ID)
        await other.send("/new")
        await other.tap("Сгенерировать ИИ")
        reply = await other.send("пост о Python")
        assert "Вы израсходовали все 2 запросов к ИИ на сегодня" in texts(reply)
        assert len(generator.briefs) == 2
