"""After publishing on X and Instagram (issue 12): X cannot edit (the chat says so and offers
delete and a corrected copy) and deletes every post of a thread; Instagram edits the caption
and deletes the post. Asserted on what the fake X server and instagrapi client hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from handlers.post_life.callbacks import LifeCb
from platforms.base import PublisherRegistry
from platforms.errors import ErrorCode
from platforms.instagram import InstagramLogin, InstagramPublisher, Linked
from platforms.telegram import TelegramPublisher
from platforms.x import XAccount, XPublisher
from services.accounts import AccountService
from services.clock import ManualClock
from services.post_life import PostLifeService
from services.posts import Draft, PostOptions
from storage.db import upgrade_database
from tests.conftest import USER_ID, make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x_server import FakeXServer
from tests.social.conftest import X_CONSUMER_KEY, X_CONSUMER_SECRET, x_server
from tests.ux.conftest import texts
from tests.ux.harness import Harness, running_bot
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

IG_PASSWORD = "life-Pa55word"
__all__ = ["x_server"]


@dataclass
class World:
    harness: Harness
    x_server: FakeXServer
    instagram: FakeInstagram
    worker: ScheduledPostsWorker
    x_id: int
    ig_id: int


@pytest.fixture
async def world(
    fake_tg: FakeTelegram, x_server: FakeXServer, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[World]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        secret_key="vWTprDwNm05Nr81Rtco9G8csmiC7aSaZsJEZlM0ZMoI=",
    )
    async with running_bot(settings, fake_tg, clock) as harness:
        app = harness.app
        await harness.chat(USER_ID).send("/start")
        token, token_secret = x_server.add_account("42", "anna_codes", "Anna")
        instagram = FakeInstagram()
        instagram.add_account("anna.shop", IG_PASSWORD)
        event = await InstagramLogin(instagram.client_factory).start("anna.shop", IG_PASSWORD)
        assert isinstance(event, Linked)
        accounts = AccountService(app.db, app.services.secrets)
        x = await accounts.save_x(
            USER_ID, XAccount("42", "anna_codes", "Anna", token, token_secret)
        )
        ig = await accounts.save_instagram(USER_ID, event.account)
        registry = PublisherRegistry()
        registry.register(TelegramPublisher(app.bot))
        registry.register(
            XPublisher(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=x_server.base_url, timeout=5)
        )
        registry.register(InstagramPublisher(instagram.client_factory, delay_range=(0.0, 0.0)))
        app.services.post_life = PostLifeService(app.db, clock, registry, app.services.secrets)
        worker = ScheduledPostsWorker(
            app.db,
            registry,
            clock=clock,
            limits=RateLimits(enabled=False),
            secrets=app.services.secrets,
        )
        yield World(harness, x_server, instagram, worker, x.id, ig.id)


def life_service(world: World) -> PostLifeService:
    service = world.harness.app.services.post_life
    assert service is not None
    return service


async def publish(world: World, target_id: int, text: str, **options: object) -> int:
    draft = Draft(text=text, options=PostOptions.model_validate(options))
    _content, (post,) = await world.harness.app.services.posts.schedule(
        USER_ID, draft, [target_id], None
    )
    assert (await world.worker.run_once()).published == 1
    return post.id


async def test_x_cannot_edit_but_deletes_every_post_of_a_thread(world: World) -> None:
    long_text = " ".join(f"Sentence number {i} about testing." for i in range(20))
    post_id = await publish(world, world.x_id, long_text, x_thread=True)
    thread = list(world.x_server.tweets)
    assert len(thread) > 1
    chat = world.harness.chat(USER_ID)
    answer = await chat.press_data(LifeCb(action="edit", post_id=post_id).pack())
    assert "X does not let the bot edit" in texts(answer)
    world.harness.fake.find_button(answer[-1], "Delete")
    world.harness.fake.find_button(answer[-1], "Corrected copy")
    service = life_service(world)
    result = await service.edit_text(USER_ID, post_id, "new")
    assert result.code == ErrorCode.CANNOT_EDIT_ON_X
    await chat.press_data(LifeCb(action="delete", post_id=post_id).pack())
    answer = await chat.press_data(LifeCb(action="delete_yes", post_id=post_id).pack())
    assert "was deleted from the platform" in texts(answer)
    assert world.x_server.tweets == []
    # The replies first, then the first post.
    assert [t.id for t in world.x_server.deleted_tweets] == [t.id for t in reversed(thread)]
    deletes = [c for c in world.x_server.calls if c.method == "DELETE"]
    assert len(deletes) == len(thread)


async def test_instagram_edits_the_caption_and_deletes(world: World) -> None:
    post_id = await publish(world, world.ig_id, "First caption #tests")
    service = life_service(world)
    result = await service.edit_text(USER_ID, post_id, "Second caption #tests")
    assert result.ok, result
    (published,) = world.instagram.published
    assert published.caption == "Second caption #tests"
    (call,) = world.instagram.calls_to("media_edit")
    assert call.args["media_id"].startswith(published.pk + "_")
    result = await service.delete(USER_ID, post_id)
    assert result.ok, result
    assert world.instagram.published == []
    assert [p.pk for p in world.instagram.deleted] == [published.pk]
    # Deleted: a second delete says it is gone, and nothing is sent.
    result = await service.delete(USER_ID, post_id)
    assert (result.ok, result.code) == (False, ErrorCode.MESSAGE_GONE)
    assert len(world.instagram.calls_to("media_delete")) == 1
    kinds = [(e.kind, e.outcome) for e in await service.events(USER_ID, post_id)]
    assert kinds == [("delete", "refused"), ("delete", "ok"), ("edit", "ok")]


async def test_a_seven_day_auto_delete_is_fine_on_x(world: World, clock: ManualClock) -> None:
    post_id = await publish(world, world.x_id, "Short-lived")
    service = life_service(world)
    result = await service.set_auto_delete(USER_ID, post_id, 7 * 86400)
    assert result.ok
