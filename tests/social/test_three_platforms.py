"""One post for a Telegram channel, an X account and an Instagram account: the worker publishes
all three, and each row gets its own status. Credentials stay encrypted throughout."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from bot.factory import create_bot
from platforms.base import MediaItem, PublisherRegistry
from platforms.credentials import SecretBox
from platforms.instagram import InstagramLogin, InstagramPublisher, Linked
from platforms.telegram import TelegramPublisher
from platforms.x import XPublisher
from services.accounts import AccountService
from services.clock import ManualClock
from storage.models import PostStatus, Target
from storage.repositories import (
    ContentRepository,
    PostRepository,
    TargetRepository,
    UserRepository,
)
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID, make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x_server import FakeXServer, rate_limited
from tests.social.conftest import (
    X_CONSUMER_KEY,
    X_CONSUMER_SECRET,
    assert_no_secrets,
    log_text,
)
from workers.policy import RetryPolicy
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

IG_PASSWORD = "Sup3r-secret-pa55word"


def jpeg(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(buffer, format="JPEG")
    return buffer.getvalue()


async def load_media(item: MediaItem) -> bytes:
    return jpeg(item.telegram_file_id or "gray")


class World:
    def __init__(
        self,
        session_factory: Any,
        db: Database,
        fake_tg: FakeTelegram,
        x_server: FakeXServer,
        instagram: FakeInstagram,
        secrets: SecretBox,
        clock: ManualClock,
    ) -> None:
        self.session_factory = session_factory
        self.db = db
        self.fake_tg = fake_tg
        self.x_server = x_server
        self.instagram = instagram
        self.secrets = secrets
        self.clock = clock
        self.bot = create_bot(make_settings(telegram_api_base=fake_tg.base_url))
        registry = PublisherRegistry()
        registry.register(TelegramPublisher(self.bot))
        registry.register(
            XPublisher(X_CONSUMER_KEY, X_CONSUMER_SECRET, api_base=x_server.base_url, timeout=5)
        )
        registry.register(InstagramPublisher(instagram.client_factory, delay_range=(0.0, 0.0)))
        self.worker = ScheduledPostsWorker(
            db,
            registry,
            clock=clock,
            retry=RetryPolicy(max_attempts=3, base_delay=30),
            limits=RateLimits(enabled=False),
            secrets=secrets,
            media_loader=load_media,
        )
        self.targets: dict[str, Target] = {}
        self.x_secrets: list[str] = []

    async def setup(self) -> None:
        self.fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
        token, token_secret = self.x_server.add_account("42", "anna_codes", "Anna")
        self.x_secrets = [token, token_secret]
        self.instagram.add_account("anna.shop", IG_PASSWORD, full_name="Anna's shop")
        event = await InstagramLogin(self.instagram.client_factory).start("anna.shop", IG_PASSWORD)
        assert isinstance(event, Linked)
        from platforms.x import XAccount

        async with self.session_factory() as session:
            await UserRepository(session).upsert(
                USER_ID,
                username="anna",
                first_name="Anna",
                language="en",
                timezone="UTC",
                is_admin=False,
            )
            self.targets["telegram"] = await TargetRepository(session).link(
                USER_ID, "telegram", str(CHANNEL_ID), "Tech news", "technews"
            )
            await session.commit()
        # Linked as the chat links them: each account stored in its own write unit.
        accounts = AccountService(self.db, self.secrets)
        self.targets["x"] = await accounts.save_x(
            USER_ID, XAccount("42", "anna_codes", "Anna", token, token_secret)
        )
        self.targets["instagram"] = await accounts.save_instagram(USER_ID, event.account)

    async def schedule(self, body: str, media: list[dict[str, Any]] | None = None) -> None:
        async with self.session_factory() as session:
            content = await ContentRepository(session).create(
                USER_ID, body, title="Python 3.14", media=media
            )
            targets = [self.targets[p] for p in ("telegram", "x", "instagram")]
            await PostRepository(session).create(content, targets, self.clock.now())
            await session.commit()

    async def statuses(self) -> dict[str, tuple[str, str | None, str | None]]:
        async with self.session_factory() as session:
            rows, _total = await PostRepository(session).list_for_owner(USER_ID, limit=50)
        return {
            target.platform: (post.status, post.external_id, post.last_error)
            for post, _content, target in rows
        }

    async def raw(self, table: str) -> str:
        async with self.session_factory() as session:
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
        return "\n".join(repr(tuple(r)) for r in rows)


# Fernet keys (a comma separates keys only when every part is one).
NEW_KEY = "rwTNitm2w7TyFljVaRcin3LWSc41VhDBYjJue9GWOiE="
OLD_KEY = "q52WJVq7YU5d2wH2eoCSVfMOobfMV3pXOeLa2iJ85kg="
ROTATED_KEY = "r4PeCkyQrLCQWWL8rJjt8Oc7BlTuFc4iQ2HEQPw23qM="


@pytest.fixture
async def world(
    session_factory: Any,
    uow: Database,
    fake_tg: FakeTelegram,
    x_server: FakeXServer,
    clock: ManualClock,
) -> Any:
    # Two Fernet keys: the first encrypts, both decrypt (rotation).
    secrets = SecretBox(f"{NEW_KEY}, {OLD_KEY}")
    value = World(session_factory, uow, fake_tg, x_server, FakeInstagram(), secrets, clock)
    await value.setup()
    yield value
    await value.bot.session.close()


async def test_one_post_publishes_to_telegram_x_and_instagram(
    world: World, app_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await world.schedule("A new release with <b>free threading</b>. #python")

    report = await world.worker.run_once()

    assert report.published == 3
    statuses = await world.statuses()
    assert {p: s[0] for p, s in statuses.items()} == {
        "telegram": PostStatus.PUBLISHED,
        "x": PostStatus.PUBLISHED,
        "instagram": PostStatus.PUBLISHED,
    }
    (channel_post,) = world.fake_tg.sent_to(CHANNEL_ID)
    assert channel_post["text"] == (
        "<b>Python 3.14</b>\n\nA new release with <b>free threading</b>. #python"
    )
    (tweet,) = world.x_server.tweets_by("42")
    assert tweet.text == "Python 3.14\n\nA new release with free threading. #python"
    assert statuses["x"][1] == tweet.id
    (ig_post,) = world.instagram.published
    assert ig_post.kind == "photo"  # the text card
    assert ig_post.caption == tweet.text
    assert statuses["instagram"][1] == ig_post.pk

    everything = await world.raw("credentials") + await world.raw("targets")
    ig_account = world.instagram.accounts["anna.shop"]
    for secret in [*world.x_secrets, ig_account.session_id, ig_account.auth_token, IG_PASSWORD]:
        assert secret and secret not in everything
    assert_no_secrets(
        log_text(app_log) + caplog.text,
        [
            *world.x_secrets,
            ig_account.session_id or "",
            ig_account.auth_token or "",
            IG_PASSWORD,
            X_CONSUMER_SECRET,
        ],
    )


async def test_each_row_keeps_its_own_status_and_a_relogin_is_stored_encrypted(
    world: World,
) -> None:
    world.x_server.fail_next("tweets", rate_limited(900))
    world.instagram.expire_authorization("anna.shop")
    async with world.session_factory() as session:
        before = await session.scalar(
            text("SELECT ciphertext FROM credentials WHERE target_id = :t"),
            {"t": world.targets["instagram"].id},
        )
    await world.schedule(
        "Pictures!",
        media=[{"kind": "photo", "file_id": "red"}, {"kind": "photo", "file_id": "blue"}],
    )

    report = await world.worker.run_once()

    # X's 429 defers its row (no attempt used: DESIGN.md, rate-limited is never an attempt).
    assert (report.published, report.retried, report.deferred) == (2, 0, 1)
    statuses = await world.statuses()
    assert statuses["telegram"][0] == PostStatus.PUBLISHED
    assert statuses["instagram"][0] == PostStatus.PUBLISHED
    assert statuses["x"][0] == PostStatus.SCHEDULED
    assert "rate limit" in (statuses["x"][2] or "")
    (album,) = world.instagram.published
    assert album.kind == "album" and album.pictures == [jpeg("red"), jpeg("blue")]

    # The renewed Instagram session was re-encrypted and stored.
    async with world.session_factory() as session:
        after = await session.scalar(
            text("SELECT ciphertext FROM credentials WHERE target_id = :t"),
            {"t": world.targets["instagram"].id},
        )
    assert after != before
    renewed = world.secrets.decrypt(after)
    assert renewed["settings"]["authorization_data"]["authorization_token"] == (
        world.instagram.accounts["anna.shop"].auth_token
    )
    fresh_token = world.instagram.accounts["anna.shop"].auth_token
    assert fresh_token and fresh_token not in await world.raw("credentials")

    # X's wait is honoured: nothing is retried before the reset.
    world.clock.advance(600)
    assert (await world.worker.run_once()).claimed == 0
    # ... and it goes once the reset (plus the deferral's jitter) has passed.
    world.clock.advance(600)
    report = await world.worker.run_once()
    assert report.published == 1
    assert (await world.statuses())["x"][0] == PostStatus.PUBLISHED
    (tweet,) = world.x_server.tweets_by("42")
    assert len(tweet.media_ids) == 2


async def test_a_revoked_x_account_fails_only_its_own_row_and_is_marked_broken(
    world: World,
) -> None:
    world.x_server.revoke(world.x_secrets[0])
    await world.schedule("Hello")
    report = await world.worker.run_once()
    assert (report.published, report.failed) == (2, 1)
    statuses = await world.statuses()
    assert statuses["x"][0] == PostStatus.FAILED
    assert "Link the X account again" in (statuses["x"][2] or "")
    async with world.session_factory() as session:
        target = await TargetRepository(session).get(world.targets["x"].id)
    assert target is not None and target.status == "broken"


async def test_credentials_keep_working_across_a_key_rotation(world: World) -> None:
    # SECRET_KEY gets a new first key; the old ones stay listed so stored secrets still open.
    rotated = SecretBox(f"{ROTATED_KEY}, {NEW_KEY}, {OLD_KEY}")
    world.worker.secrets = rotated
    world.instagram.expire_authorization("anna.shop")
    await world.schedule("After the rotation")

    report = await world.worker.run_once()

    assert report.published == 3
    async with world.session_factory() as session:
        renewed = await session.scalar(
            text("SELECT ciphertext FROM credentials WHERE target_id = :t"),
            {"t": world.targets["instagram"].id},
        )
    # What was written back is under the new key alone.
    assert SecretBox(ROTATED_KEY).decrypt(renewed)["username"] == "anna.shop"
