"""Pictures in the chat (issue 13, acceptance 3): /calendar sends the week as a PNG and turns
it in place with editMessageMedia; /stats (a user's own, and the admins' across all users)
sends charts. Through the dispatcher against the fake Bot API: the uploads are valid PNGs of
the fixed size, the caption's numbers are the database's (recounted here independently, in
the user's zone), another user's posts are never counted, and a failed drawing still
answers with the numbers."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select, update

import content.charts as charts
from bot.factory import create_app
from content.charts import Block, ChartError, place_blocks, render_async
from services.rules import RuleDraft
from storage.models import Platform, PostStatus, ScheduledPost, User
from storage.repositories import ContentRepository, PostRepository, TargetRepository
from storage.rule_config import ALL_DAYS, ContentConfig, DailySchedule
from tests.conftest import OTHER_USER_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram
from tests.ux.conftest import sqlite_copy
from tests.ux.harness import Harness

ADMIN_ID = 999
BERLIN = ZoneInfo("Europe/Berlin")
# The harness clock: Tuesday 1 December 2026, 09:00 UTC (10:00 in Berlin).
KIND = {
    "scheduled": "⏰",
    "publishing": "⏰",
    "awaiting_approval": "🕓",
    "published": "✅",
    "failed": "❌",
    "unknown": "❓",
    "missed": "❓",
    "cancelled": "🚫",
    "skipped": "🚫",
}
ORDER = ["⏰", "📥", "🕓", "✅", "❌", "❓", "🚫"]


def berlin(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


async def seed(
    harness: Harness,
    owner: int,
    posts: list[tuple[datetime, str]],
    *,
    timezone: str = "Europe/Berlin",
    language: str = "en",
    platform: str = Platform.TELEGRAM,
    title: str | None = None,
    tokens: list[tuple[datetime, int]] = (),  # type: ignore[assignment]
) -> int:
    """`owner` with a target and posts (time, status) as the worker leaves them, and AI
    drafts that used `tokens`; returns the target id."""
    async with harness.app.session_factory() as session:
        user = await session.get(User, owner)
        if user is None:
            session.add(User(id=owner, language=language, timezone=timezone, role="user"))
        else:
            user.timezone, user.language = timezone, language
        await session.flush()
        target = await TargetRepository(session).link(
            owner,
            platform,
            f"{platform}-{owner}-{title}",
            title or f"Channel of {owner}",
            "anna" if platform == Platform.X else None,
        )
        for number, (when, status) in enumerate(posts):
            content = await ContentRepository(session).create(owner, f"Post {number}")
            (post,) = await PostRepository(session).create(content, [target], when)
            post.status = status
            if status == PostStatus.PUBLISHED:
                post.published_at = when
        for when, used in tokens:
            content = await ContentRepository(session).create(owner, "AI draft")
            content.prompt_tokens, content.completion_tokens = used // 2, used - used // 2
            content.created_at = when
        await session.commit()
        return target.id


def uploaded_png(fake: FakeTelegram, method: str) -> Image.Image:
    call = fake.calls_to(method)[-1]
    (data,) = call.files.values()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.verify()  # a whole, valid PNG
    return Image.open(io.BytesIO(data))


async def posts_by_local_day(
    harness: Harness,
    owner: int | None,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    *,
    week: bool = False,
) -> dict[date, Counter[str]]:
    """The database's posts per local day and caption mark, counted here without the
    service: what the caption must say."""
    query = select(ScheduledPost.scheduled_time, ScheduledPost.status).where(
        ScheduledPost.scheduled_time >= start, ScheduledPost.scheduled_time < end
    )
    if owner is not None:
        query = query.where(ScheduledPost.owner_id == owner)
    async with harness.app.session_factory() as session:
        rows = (await session.execute(query)).all()
    days: dict[date, Counter[str]] = {}
    for when, status in rows:
        if status in KIND and not (week and KIND[status] == "🚫"):  # a week omits those
            days.setdefault(when.astimezone(zone).date(), Counter())[KIND[status]] += 1
    return days


def day_line(label: str, counts: Counter[str], ghosts: int = 0) -> str:
    line = f"{label}: {sum(counts.values())}"
    if counts:
        line += " (" + ", ".join(f"{m} {counts[m]}" for m in ORDER if counts[m]) + ")"
    return line + (f" + 🤖 {ghosts}" if ghosts else "")


async def test_calendar_week_picture_turns_in_place(
    harness: Harness, fake_tg: FakeTelegram
) -> None:
    target = await seed(
        harness,
        USER_ID,
        [
            (berlin(30, 10, month=11), PostStatus.PUBLISHED),
            (berlin(1, 12), PostStatus.SCHEDULED),
            (berlin(1, 12), PostStatus.SCHEDULED),
            (berlin(2, 8, 30), PostStatus.FAILED),
            (berlin(3, 14), PostStatus.AWAITING_APPROVAL),
            (berlin(4, 9), PostStatus.CANCELLED),  # dropped: not in the week
            (berlin(5, 20), PostStatus.UNKNOWN),
            (berlin(6, 0, 30), PostStatus.SCHEDULED),  # Saturday 23:30 UTC: Berlin's Sunday
            (berlin(7, 0, 30), PostStatus.SCHEDULED),  # Sunday 23:30 UTC: next week's Monday
            (berlin(8, 9), PostStatus.SCHEDULED),
        ],
    )
    # Another user's posts the same week, Friday (the user's Friday has none of their own).
    await seed(harness, OTHER_USER_ID, [(berlin(4, 12), PostStatus.SCHEDULED)] * 3, language="ru")
    rules = harness.app.services.rules
    await rules.create(
        USER_ID,
        RuleDraft(
            name="Evening digest",
            schedule=DailySchedule(times=("18:00",), days_of_week=ALL_DAYS),
            content=ContentConfig(title="Digest", description="A digest of the day"),
            target_ids=(target,),
            timezone="Europe/Berlin",
        ),
    )

    chat = harness.chat(USER_ID)
    (sent,) = await chat.send("/calendar")
    assert "photo" in sent
    assert uploaded_png(fake_tg, "sendPhoto").size == (1200, 800)
    caption = sent["caption"]
    assert caption.startswith("<b>Week of 30 Nov – 6 Dec 2026 (Europe/Berlin)</b>")
    expected = await posts_by_local_day(
        harness, USER_ID, berlin(30, 0, month=11), berlin(7, 0), BERLIN, week=True
    )
    assert sum(sum(c.values()) for c in expected.values()) == 7
    assert "Posts: 7 — ⏰ scheduled 3, 🕓 awaiting approval 1, ✅ published 1" in caption
    # Rule runs to come: today 18:00 (it is 10:00 in Berlin) to Sunday, none in the past.
    ghosts = {date(2026, 11, 30): 0, **{date(2026, 12, d): 1 for d in range(1, 7)}}
    for day, count in ghosts.items():
        label = f"{day:%a %d.%m}"
        assert day_line(label, expected.get(day, Counter()), count) in caption.split("\n")
    assert "Fri 04.12: 0 + 🤖 1" in caption  # the other user's three posts are not there
    assert "Sun 06.12: 1 (⏰ 1) + 🤖 1" in caption
    assert "🤖 Rule runs to come: 6" in caption

    # ▶️ replaces the photo in the same message (editMessageMedia), with next week's numbers.
    await chat.tap("Next week ▶️")
    edits = fake_tg.calls_to("editMessageMedia")
    assert len(edits) == 1 and int(edits[0].params["message_id"]) == sent["message_id"]
    assert uploaded_png(fake_tg, "editMessageMedia").size == (1200, 800)
    turned = chat.last()
    assert turned["message_id"] == sent["message_id"] and "edit_date" in turned
    assert turned["caption"].startswith("<b>Week of 7 Dec – 13 Dec 2026")
    assert "Mon 07.12: 1 (⏰ 1) + 🤖 1" in turned["caption"]
    assert "Tue 08.12: 1 (⏰ 1) + 🤖 1" in turned["caption"]
    assert "Posts: 2 — ⏰ scheduled 2" in turned["caption"]
    assert "📆 This week" in str(turned["reply_markup"])
    # And back: the week before, then this week again.
    await chat.tap("◀️ Previous week", turned)
    assert chat.last()["caption"].startswith("<b>Week of 30 Nov – 6 Dec 2026")
    assert len(fake_tg.calls_to("editMessageMedia")) == 2

    # Another user in Russian sees their own week only, in their language.
    other = harness.chat(OTHER_USER_ID)
    (theirs,) = await other.send("/calendar")
    assert theirs["caption"].startswith("<b>Неделя 30 нояб. – 6 дек. 2026 (Europe/Berlin)")
    assert "Постов: 3 — ⏰ запланирован 3" in theirs["caption"]
    assert "пт 04.12: 3 (⏰ 3)" in theirs["caption"]
    assert "🤖" not in theirs["caption"]


async def test_the_menu_and_an_old_text_message_open_the_week(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    await chat.send("/start")
    (week,) = await chat.tap("📆 This week")
    assert "photo" in week and "Posts: 0" in week["caption"]
    assert "Nothing planned" not in week["caption"]  # said in the picture, not the caption
    # A week button under a message without a photo (the caption sent as text when the
    # picture failed) sends a new photo instead of editing.
    (menu,) = await chat.send("/menu")
    replies = await chat.press_data("cal:week:1", menu)
    assert len(replies) == 1 and "photo" in replies[0]
    assert replies[0]["caption"].startswith("<b>Week of 7 Dec")
    # Forged offsets out of bounds do not unpack: nothing is drawn.
    replies = await chat.press_data("cal:week:99999", menu)
    assert all("photo" not in reply for reply in replies)


async def test_stats_pictures_for_a_user_and_for_the_admins(
    harness: Harness, fake_tg: FakeTelegram
) -> None:
    now = harness.app.clock.now()
    channel = await seed(
        harness,
        USER_ID,
        [
            (berlin(1, 8), PostStatus.PUBLISHED),
            (berlin(29, 12, month=11), PostStatus.PUBLISHED),
            (berlin(25, 12, month=11), PostStatus.FAILED),
            (berlin(18, 0, 30, month=11), PostStatus.SKIPPED),  # the first day of 14
            (berlin(17, 23, 30, month=11), PostStatus.PUBLISHED),  # a day too early
            (berlin(2, 12), PostStatus.SCHEDULED),  # tomorrow: after the window
            (berlin(1, 20), PostStatus.SCHEDULED),  # later today: in it
        ],
        tokens=[(now - timedelta(days=1), 1200), (now - timedelta(days=20), 999)],
    )
    await seed(
        harness,
        USER_ID,
        [(berlin(30, 9, month=11), PostStatus.UNKNOWN)],
        platform=Platform.X,
        title="Anna on X",
    )
    await seed(
        harness,
        OTHER_USER_ID,
        [(berlin(30, 9, month=11), PostStatus.PUBLISHED)] * 4,
        timezone="UTC",
        language="ru",
        tokens=[(now - timedelta(hours=1), 5000)],
    )
    assert channel

    fake_tg.add_user(ADMIN_ID, "Root", "en", "root")
    chat = harness.chat(USER_ID)
    (sent,) = await chat.send("/stats")
    assert uploaded_png(fake_tg, "sendPhoto").size == (1200, 1100)
    caption = sent["caption"]
    expected = await posts_by_local_day(
        harness, USER_ID, berlin(18, 0, month=11), berlin(2, 0), BERLIN
    )
    total = sum(sum(c.values()) for c in expected.values())
    assert total == 6
    assert caption.startswith("<b>Last 14 days (Europe/Berlin)</b>")
    assert (
        "Posts: 6 — ⏰ scheduled 1, ✅ published 2, ❌ failed 1, ❓ unknown 1, "
        "🚫 cancelled or skipped 1" in caption
    )
    assert "• Telegram: Channel of 111: 5 (⏰ 1, ✅ 2, ❌ 1, 🚫 1)" in caption
    assert "• X: @anna: 1 (❓ 1)" in caption
    assert "AI tokens: 1200" in caption  # not the 999 of 20 days ago, nor the other user's
    assert "Users:" not in caption

    # The admins: every user's posts per UTC day, per platform, and the number of users.
    (admin_stats,) = await harness.chat(ADMIN_ID).send("/stats")
    assert uploaded_png(fake_tg, "sendPhoto").size == (1200, 1100)
    everyone = await posts_by_local_day(
        harness, None, datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC), UTC
    )
    assert sum(sum(c.values()) for c in everyone.values()) == 9
    admin_caption = admin_stats["caption"]
    assert admin_caption.startswith("<b>Last 14 days (UTC)</b>")
    # Berlin's 18 November 00:30 is 17 November in UTC: out of the admins' window.
    assert (
        "Posts: 9 — ⏰ scheduled 1, ✅ published 6, ❌ failed 1, ❓ unknown 1\n" in admin_caption
    )
    assert "• Telegram: 8 (⏰ 1, ✅ 6, ❌ 1)" in admin_caption and "• X: 1 (❓ 1)" in admin_caption
    assert "AI tokens: 6200" in admin_caption
    assert "Users: 3" in admin_caption
    # The text figures stay one tap away.
    await harness.chat(ADMIN_ID).tap("📊 Stats", admin_stats)
    assert "Last 24 hours" in harness.chat(ADMIN_ID).last()["text"]

    # In Russian, for the other user: their own four posts only.
    (theirs,) = await harness.chat(OTHER_USER_ID).send("/stats")
    assert "Постов: 4 — ✅ опубликован 4" in theirs["caption"]
    assert "Токенов ИИ: 5000" in theirs["caption"]


async def test_a_failed_drawing_still_answers_with_the_numbers(
    harness: Harness, fake_tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(harness, USER_ID, [(berlin(1, 12), PostStatus.SCHEDULED)])

    def broken(picture: Any) -> bytes:
        raise RuntimeError("no fonts today")

    monkeypatch.setattr("handlers.charts.pictures.render_week", broken)
    chat = harness.chat(USER_ID)
    (sent,) = await chat.send("/calendar")
    assert "photo" not in sent
    assert sent["text"].startswith("I could not draw the picture this time")
    assert "Posts: 1 — ⏰ scheduled 1" in sent["text"]
    assert not fake_tg.calls_to("sendPhoto")
    # ▶️ under that text message answers with a new message, never an edit of the text.
    await chat.tap("Next week ▶️")
    assert not fake_tg.calls_to("editMessageMedia")
    assert chat.last()["text"].startswith("I could not draw")


# ---------------------------------------------------------------- the bounds


def test_a_crowded_day_keeps_its_lanes_and_counts_the_rest() -> None:
    blocks = [Block(0, 12 * 60, "scheduled", f"Channel {i}") for i in range(40)]
    blocks += [Block(1, minute, "published", "x") for minute in range(0, 24 * 60, 10)]
    days = place_blocks(blocks)
    assert days[0].lanes == charts.MAX_LANES
    assert len(days[0].placed) == charts.MAX_LANES and days[0].hidden == 40 - charts.MAX_LANES
    assert len(days[1].placed) == charts.MAX_BLOCKS_PER_DAY
    assert days[1].hidden == 144 - charts.MAX_BLOCKS_PER_DAY
    assert all(len(day.placed) == 0 for day in days[2:])


def test_labels_keep_what_the_font_draws() -> None:
    assert charts.drawable("Новости 新闻 дня $5") == r"Новости дня \$5"
    assert charts.drawable("x" * 100, 10) == "x" * 9 + "…"


async def test_one_render_at_a_time_within_the_time_allowed() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def slow(picture: Any) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return b"png"

    week = charts.WeekPicture("t", ["d"] * 7, [], {})
    results = await asyncio.gather(*(render_async(slow, week, within=5) for _ in range(3)))
    assert results == [b"png"] * 3 and most == 1
    # Past its time the caller gets ChartError; the next render waits for that thread.
    with pytest.raises(ChartError):
        await render_async(slow, week, within=0.1)
    assert await render_async(slow, week, within=5) == b"png"
    assert most == 1


async def test_a_real_render_is_a_png_of_the_fixed_size() -> None:
    blocks = [Block(d, 9 * 60 + d * 30, "queued", "Канал «Новости»") for d in range(7)]
    blocks.append(Block(2, 18 * 60, "rule", "Правило", ghost=True))
    week = charts.WeekPicture(
        "Неделя", [f"пн {d}" for d in range(7)], blocks, {"queued": "в очереди"}
    )
    png = await render_async(charts.render_week, week)
    assert Image.open(io.BytesIO(png)).size == (1200, 800)
    # The figures are the picture's own: matplotlib's global (pyplot) figures are untouched.
    import sys

    assert "matplotlib.pyplot" not in sys.modules


async def test_the_counts_follow_the_database_and_the_queue_marker(
    harness: Harness,
) -> None:
    await seed(harness, USER_ID, [(berlin(2, 9), PostStatus.SCHEDULED)] * 2)
    chat = harness.chat(USER_ID)
    (first,) = await chat.send("/calendar")
    assert "Wed 02.12: 2 (⏰ 2)" in first["caption"]
    async with harness.app.session_factory() as session:
        await session.execute(
            update(ScheduledPost)
            .where(ScheduledPost.id == select(ScheduledPost.id).limit(1).scalar_subquery())
            .values(status=PostStatus.FAILED)
        )
        await session.commit()
    (second,) = await chat.send("/calendar")
    assert "Wed 02.12: 2 (⏰ 1, ❌ 1)" in second["caption"]
    # A post with a place in its target's queue (issue 12's marker) is drawn as queued.
    async with harness.app.session_factory() as session:
        await session.execute(
            update(ScheduledPost)
            .where(ScheduledPost.status == PostStatus.SCHEDULED)
            .values(queue_position=1)
        )
        await session.commit()
    (third,) = await chat.send("/calendar")
    assert "Posts: 2 — 📥 queued 1, ❌ failed 1" in third["caption"]
    assert "Wed 02.12: 2 (📥 1, ❌ 1)" in third["caption"]


async def test_calendar_over_real_polling(
    fake_tg: FakeTelegram, migrated_sqlite: Path, tmp_path: Path
) -> None:
    """The same through aiogram's long polling (real clock): the photo upload and the
    editMessageMedia multipart go through the HTTP session as in production."""
    settings = make_settings(
        database_url=sqlite_copy(migrated_sqlite, tmp_path),
        telegram_api_base=fake_tg.base_url,
        disable_workers=True,
    )
    app = create_app(settings)
    now = datetime.now(UTC)
    async with polling(app):
        async with app.session_factory() as session:
            for owner, count in ((USER_ID, 2), (OTHER_USER_ID, 5)):
                session.add(User(id=owner, language="en", timezone="UTC", role="user"))
                await session.flush()
                target = await TargetRepository(session).link(
                    owner, Platform.TELEGRAM, f"-100{owner}", f"Channel {owner}", None
                )
                for _ in range(count):
                    content = await ContentRepository(session).create(owner, "Post")
                    (post,) = await PostRepository(session).create(content, [target], now)
                    post.status = PostStatus.PUBLISHED
            await session.commit()
        fake_tg.user_message(USER_ID, "/calendar")
        sent = await fake_tg.wait_for(
            lambda: next((m for m in fake_tg.sent_to(USER_ID) if "photo" in m), None)
        )
        assert "Posts: 2 — ✅ published 2" in sent["caption"]
        assert uploaded_png(fake_tg, "sendPhoto").size == (1200, 800)
        fake_tg.press(USER_ID, sent, fake_tg.find_button(sent, "Next week"))
        await fake_tg.wait_for(lambda: fake_tg.calls_to("editMessageMedia"))
        edited = await fake_tg.wait_for(
            lambda: next((m for m in fake_tg.sent_to(USER_ID) if "edit_date" in m), None)
        )
        assert edited["message_id"] == sent["message_id"] and "Posts: 0" in edited["caption"]
        assert uploaded_png(fake_tg, "editMessageMedia").size == (1200, 800)
