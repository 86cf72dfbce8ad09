"""An auto-delete survives a restart: the first app publishes a post that deletes itself in
an hour and stops; a new App on the same database file, polling for real, deletes it when
the hour is over (the action is in `post_actions`, not in memory)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.factory import App, create_app
from services.clock import ManualClock
from services.posts import Draft, PostOptions
from storage.db import upgrade_database
from storage.models import PostAction, PostEvent, PostStatus, ScheduledPost
from tests.conftest import CHANNEL_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram


async def wait_for_rows(app: App, model: type, what: str, **match: object) -> list:
    for _ in range(300):
        async with app.session_factory() as session:
            query: Any = select(model)
            for name, value in match.items():
                query = query.where(getattr(model, name) == value)
            rows = list((await session.scalars(query)).all())
        if rows:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_auto_delete_fires_after_a_restart(
    fake_tg: FakeTelegram, tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    fake_tg.wall_clock = lambda: clock.now().timestamp()
    settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)

    first = create_app(settings, clock=clock)
    async with polling(first):
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator")
        target = await first.services.targets.link(
            USER_ID, "telegram", str(CHANNEL_ID), "Tech news", "technews"
        )
        draft = Draft(text="Gone in an hour", options=PostOptions(auto_delete_after=3600))
        await first.services.posts.schedule(USER_ID, draft, [target.id], None)
        await fake_tg.wait_for(lambda: fake_tg.channel_view(CHANNEL_ID), what="the post")
        (action,) = await wait_for_rows(first, PostAction, "the auto-delete", kind="delete")
        assert action.due_at == clock.now() + timedelta(hours=1)
        assert action.status == "pending"
    assert fake_tg.channel_view(CHANNEL_ID), "deleted before its time"

    clock.advance(hours=1, seconds=1)
    second = create_app(settings, clock=clock)
    async with polling(second):
        await fake_tg.wait_for(
            lambda: fake_tg.calls_to("deleteMessage", chat_id=CHANNEL_ID), what="the delete"
        )
        await fake_tg.wait_for(lambda: not fake_tg.channel_view(CHANNEL_ID), what="gone")
        (event,) = await wait_for_rows(second, PostEvent, "the record", kind="auto_delete")
        assert (event.actor, event.outcome) == ("worker", "ok")
        (action,) = await wait_for_rows(second, PostAction, "the action", status="done")
        async with second.session_factory() as session:
            post = (await session.scalars(select(ScheduledPost))).one()
        # Still a published post in the history, with its link kept.
        assert post.status == PostStatus.PUBLISHED and post.external_url
    assert len(fake_tg.calls_to("deleteMessage", chat_id=CHANNEL_ID)) == 1
