"""The Mini App's tests: initData built as Telegram builds it, and a seeded calendar."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.clock import ManualClock
from services.rules import RuleDraft, RuleService
from storage.db import SessionFactory
from storage.models import PostStatus, ScheduledPost
from storage.repositories import (
    ContentRepository,
    PostRepository,
    TargetRepository,
    UserRepository,
)
from storage.rule_config import ALL_DAYS, ContentConfig, DailySchedule
from storage.uow import Database
from tests.conftest import OTHER_USER_ID, TEST_TOKEN, USER_ID

MINIAPP_URL = "https://calendar.example.org/app/"
ZONE = "Europe/Moscow"  # UTC+3 all year: the page must show 15:00 for 12:00 UTC
# Tuesday 1 December 2026, 09:00 UTC = 12:00 in Moscow.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def init_data(
    user_id: int = USER_ID,
    *,
    token: str = TEST_TOKEN,
    auth_date: datetime = NOW,
    first_name: str = "Anna",
    language_code: str = "en",
    **extra: str,
) -> str:
    """initData as Telegram signs it (https://core.telegram.org/bots/webapps), computed here
    independently of webapp/auth.py: secret = HMAC_SHA256("WebAppData", token), hash = hex
    HMAC_SHA256(secret, sorted key=value lines)."""
    user = {"id": user_id, "first_name": first_name, "language_code": language_code}
    fields = {
        "query_id": "AAH-test-query",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(auth_date.timestamp())),
        **extra,
    }
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def launch_fragment(data: str, theme: dict[str, str] | None = None) -> str:
    """The URL fragment Telegram opens a Mini App with."""
    parts = {"tgWebAppData": data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"}
    if theme is not None:
        parts["tgWebAppThemeParams"] = json.dumps(theme)
    return "#" + urlencode(parts, quote_via=quote)


@dataclass
class Seeded:
    target_id: int
    other_target_id: int
    second_target_id: int
    today: int  # scheduled, today 15:00 Moscow
    published: int  # yesterday 10:00
    failed: int  # Thursday 09:30
    awaiting: int  # Friday 18:00, second target
    hostile: int  # Wednesday 08:00, HTML a page must not run
    theirs: int  # the other user's, Wednesday 11:00
    rule_id: int


HOSTILE_TEXT = (
    "<b>Launch day</b> &lt;script&gt;alert(1)&lt;/script&gt; "
    '<a href="https://example.org/a?b=1&amp;c=2">read</a> <tg-spoiler>secret</tg-spoiler>'
)


async def _post(
    session_factory: SessionFactory,
    owner_id: int,
    target_id: int,
    text: str,
    when: datetime,
    status: PostStatus = PostStatus.SCHEDULED,
) -> int:
    async with session_factory() as session, session.begin():
        content = await ContentRepository(session).create(owner_id, text)
        target = await TargetRepository(session).get(target_id)
        assert target is not None
        (post,) = await PostRepository(session).create(content, [target], when, status=status)
        if status == PostStatus.PUBLISHED:
            post.published_at = when
        if status == PostStatus.FAILED:
            post.error_code = "forbidden"
            post.attempts = 3
        return post.id


def moscow(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


async def seed_calendar(session_factory: SessionFactory, clock: ManualClock) -> Seeded:
    async with session_factory() as session, session.begin():
        users = UserRepository(session)
        await users.upsert(
            USER_ID,
            username="anna",
            first_name="Anna",
            language="en",
            timezone=ZONE,
            is_admin=False,
        )
        await users.upsert(
            OTHER_USER_ID,
            username="boris",
            first_name="Boris",
            language="ru",
            timezone="UTC",
            is_admin=False,
        )
        targets = TargetRepository(session)
        mine = await targets.link(USER_ID, "telegram", "-1001", "Tech news", "technews")
        second = await targets.link(USER_ID, "telegram", "-1002", "Cooking", "cooking")
        theirs = await targets.link(OTHER_USER_ID, "telegram", "-1003", "Boris's", None)
        ids = (mine.id, second.id, theirs.id)
    seeded = Seeded(
        target_id=ids[0],
        second_target_id=ids[1],
        other_target_id=ids[2],
        today=await _post(session_factory, USER_ID, ids[0], "Morning <b>news</b>", moscow(1, 15)),
        published=await _post(
            session_factory,
            USER_ID,
            ids[0],
            "Yesterday's",
            moscow(30, 10, month=11),
            PostStatus.PUBLISHED,
        ),
        failed=await _post(
            session_factory, USER_ID, ids[0], "Broken one", moscow(3, 9, 30), PostStatus.FAILED
        ),
        awaiting=await _post(
            session_factory,
            USER_ID,
            ids[1],
            "Soup recipe",
            moscow(4, 18),
            PostStatus.AWAITING_APPROVAL,
        ),
        hostile=await _post(session_factory, USER_ID, ids[0], HOSTILE_TEXT, moscow(2, 8)),
        theirs=await _post(session_factory, OTHER_USER_ID, ids[2], "Not Anna's", moscow(2, 11)),
        rule_id=0,
    )
    draft = RuleDraft(
        name="Daily digest",
        schedule=DailySchedule(times=("20:00",), days_of_week=ALL_DAYS),
        content=ContentConfig(title="Digest", description="Tech news of the day"),
        target_ids=[ids[0]],
        timezone=ZONE,
    )
    rule = await RuleService(Database(session_factory.kw["bind"]), clock).create(USER_ID, draft)
    seeded.rule_id = rule.id
    return seeded


async def load_post(session_factory: SessionFactory, post_id: int) -> ScheduledPost:
    async with session_factory() as session:
        post = await session.scalar(select(ScheduledPost).where(ScheduledPost.id == post_id))
        assert post is not None
        return post


def auth(data: str) -> dict[str, Any]:
    return {"Authorization": f"tma {data}"}
