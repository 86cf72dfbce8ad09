"""A bot (dispatcher, no polling) with one linked channel, and helpers that publish a post
through the real worker and press the post's buttons after publishing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["migrated_sqlite"]
from sqlalchemy import select

from handlers.post_life.callbacks import LifeCb
from services.clock import ManualClock
from services.posts import Draft, MediaRef, PostOptions
from storage.models import PostAction, PostEvent, ScheduledPost, Target
from tests.conftest import CHANNEL_ID, USER_ID, database, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.conftest import migrated_sqlite, sqlite_copy
from tests.ux.harness import Chat, Harness, running_bot
from workers.post_actions import PostActionsWorker
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker


@dataclass
class Life:
    harness: Harness
    fake: FakeTelegram
    clock: ManualClock
    chat: Chat
    target: Target

    @property
    def services(self) -> Any:
        return self.harness.app.services

    async def publish(
        self,
        text: str = "Hello <b>readers</b>",
        *,
        photos: int = 0,
        options: PostOptions | None = None,
    ) -> ScheduledPost:
        media = tuple(MediaRef(file_id=f"photo-{i}") for i in range(photos))
        draft = Draft(text=text, media=media, options=options or PostOptions())
        _content, (post,) = await self.services.posts.schedule(
            USER_ID, draft, [self.target.id], None
        )
        worker = ScheduledPostsWorker(
            self.harness.app.db,
            self.harness.app.publishers,
            clock=self.clock,
            limits=RateLimits(enabled=False),
        )
        report = await worker.run_once()
        assert report.published == 1, report
        return post

    def actions_worker(self) -> PostActionsWorker:
        app = self.harness.app
        assert app.services.post_life is not None
        return PostActionsWorker(app.db, app.services.post_life, clock=self.clock)

    async def press(self, action: str, post_id: int, seconds: int = 0) -> list[dict[str, Any]]:
        data = LifeCb(action=action, post_id=post_id, seconds=seconds).pack()  # type: ignore[arg-type]
        return await self.chat.press_data(data)

    async def events(self, post_id: int) -> list[PostEvent]:
        async with self.harness.app.db.read() as session:
            rows = await session.scalars(
                select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
            )
            return list(rows.all())

    async def actions(self, post_id: int) -> list[PostAction]:
        async with self.harness.app.db.read() as session:
            rows = await session.scalars(
                select(PostAction).where(PostAction.post_id == post_id).order_by(PostAction.id)
            )
            return list(rows.all())

    def follow_clock(self) -> None:
        """The fake dates messages by the test's clock (deleteMessage's 48 hours)."""
        self.fake.wall_clock = lambda: self.clock.now().timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def life(
    request: pytest.FixtureRequest,
    fake_tg: FakeTelegram,
    migrated_sqlite: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> AsyncIterator[Life]:
    """SQLite, and PostgreSQL when TEST_DATABASE_URL is set (a schema of its own)."""
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_copy(migrated_sqlite, tmp_path)
        else:
            url, _engine = await stack.enter_async_context(database("postgres", tmp_path))
        settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)
        harness = await stack.enter_async_context(running_bot(settings, fake_tg, clock))
        chat = harness.chat(USER_ID)
        await chat.send("/start")
        target = await harness.app.services.targets.link(
            USER_ID, "telegram", str(CHANNEL_ID), "Tech news", "technews"
        )
        value = Life(harness, fake_tg, clock, chat, target)
        value.follow_clock()
        yield value
