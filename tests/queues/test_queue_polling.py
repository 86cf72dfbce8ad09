"""Queues through real long polling against the fake Bot API (issue 12): slots typed in
the target's view, one tap queues the post after its text lands, and the running worker
publishes it in its slot: the channel's reader sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.factory import create_app
from services.clock import ManualClock
from storage.db import upgrade_database
from tests.conftest import CHANNEL_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram


async def test_queue_by_polling_published_in_its_slot(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    # Monday 2027-03-22 10:00 in Berlin (CET, UTC+1).
    clock = ManualClock(datetime(2027, 3, 22, 9, 0, tzinfo=UTC))
    app = create_app(
        make_settings(database_url=url, telegram_api_base=fake_tg.base_url), clock=clock
    )

    async with polling(app):
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator")
        await app.services.users.set_timezone(USER_ID, "Europe/Berlin")

        fake_tg.user_message(USER_ID, "/link")
        await fake_tg.wait_for_text(USER_ID, "Forward any post")
        fake_tg.forward_from_channel(USER_ID, CHANNEL_ID)
        await fake_tg.wait_for_text(USER_ID, "is linked")

        fake_tg.user_message(USER_ID, "/channels")
        listing = await fake_tg.wait_for_text(USER_ID, "Your targets")
        fake_tg.press(USER_ID, listing, fake_tg.find_button(listing, "Tech news"))
        view = await fake_tg.wait_for_text(USER_ID, "no time slots yet")
        fake_tg.press(USER_ID, view, fake_tg.find_button(view, "Time slots"))
        await fake_tg.wait_for_text(USER_ID, "Type the times in your zone (Europe/Berlin)")
        fake_tg.user_message(USER_ID, "mon-fri 9:00 18:00; sat,sun 11:00")
        await fake_tg.wait_for_text(USER_ID, "Time slots saved")

        fake_tg.user_message(USER_ID, "/new")
        await fake_tg.wait_for_text(USER_ID, "Send the post")
        fake_tg.user_message(USER_ID, "Queued by polling")
        preview = await fake_tg.wait_for_text(USER_ID, "how the post will look")
        # One tap after the text: one linked target, slots set.
        fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Add to queue"))
        done = await fake_tg.wait_for_text(USER_ID, "Added to the queue")
        assert "goes out Mon 22.03 18:00 (Europe/Berlin)" in done["text"]

        # 18:00 CET is 17:00 UTC. The running worker publishes once the slot comes.
        clock.set(datetime(2027, 3, 22, 16, 59, tzinfo=UTC))
        assert app.workers is not None
        await app.workers.runners[0].worker.run_once()
        assert fake_tg.reader_texts(CHANNEL_ID) == []
        clock.set(datetime(2027, 3, 22, 17, 0, tzinfo=UTC))
        await app.workers.runners[0].worker.run_once()
        await fake_tg.wait_for(
            lambda: fake_tg.sent_to(CHANNEL_ID), timeout=10, what="the queued post"
        )
        assert fake_tg.reader_texts(CHANNEL_ID) == ["Queued by polling"]

        # The next post: today's 18:00 is gone, so Tuesday 09:00. Each message waits for
        # the answer to the one before (polling handles updates side by side).
        async def next_text(part: str) -> dict[str, Any]:
            start = len(fake_tg.sent_to(USER_ID))
            fake_tg.user_message(USER_ID, *pending)
            pending.clear()

            def find() -> dict[str, Any] | None:
                for message in fake_tg.sent_to(USER_ID)[start:]:
                    if part in (message.get("text") or ""):
                        return message
                return None

            return await fake_tg.wait_for(find, what=part)  # type: ignore[no-any-return]

        pending: list[str] = ["/new"]
        await next_text("Send the post")
        pending.append("Second")
        preview = await next_text("how the post will look")
        start = len(fake_tg.sent_to(USER_ID))
        fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Add to queue"))
        answer = await fake_tg.wait_for(
            lambda: [m for m in fake_tg.sent_to(USER_ID)[start:] if "queue" in m.get("text", "")],
            what="the second answer",
        )
        assert "goes out Tue 23.03 09:00 (Europe/Berlin), number 1" in answer[0]["text"]
