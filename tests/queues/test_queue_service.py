"""Queues with time slots (issue 12), at the service: typing slots, DST, and every queue
operation with exact expected times on a manual clock (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.clock import ManualClock
from services.posts import Draft, PostRuleError, PostService
from services.queues import (
    DEFAULT_SLOTS,
    QueueService,
    SlotsParseError,
    is_queued,
    parse_slots,
    upcoming_slots,
)
from storage.models import Content, PostStatus, ScheduledPost
from storage.queue_config import PostingSlots
from storage.repositories import PostRepository, TargetRepository, UserRepository
from storage.uow import Database
from tests.conftest import USER_ID

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ---------- typing ----------


@pytest.mark.parametrize(
    ("typed", "groups"),
    [
        ("9:00 13:00 18:00", [((1, 2, 3, 4, 5, 6, 7), ("09:00", "13:00", "18:00"))]),
        ("пн-пт 9:00, 18:00", [((1, 2, 3, 4, 5), ("09:00", "18:00"))]),
        (
            "mon-fri 9:00 18:00; sat,sun 11:00",
            [((1, 2, 3, 4, 5), ("09:00", "18:00")), ((6, 7), ("11:00",))],
        ),
        (
            "Пн–Пт 9.00 13:00\nсб, вс 11:00",
            [((1, 2, 3, 4, 5), ("09:00", "13:00")), ((6, 7), ("11:00",))],
        ),
        ("будни 10:00; выходные 12:30", [((1, 2, 3, 4, 5), ("10:00",)), ((6, 7), ("12:30",))]),
        ("every day 7:05", [((1, 2, 3, 4, 5, 6, 7), ("07:05",))]),
        # A later part replaces the times of the days it names.
        ("9:00 18:00; sat 11:00", [((1, 2, 3, 4, 5, 7), ("09:00", "18:00")), ((6,), ("11:00",))]),
        ("fri-mon 8:00", [((1, 5, 6, 7), ("08:00",))]),
    ],
)
def test_slots_typed_in_both_languages(typed: str, groups: list[object]) -> None:
    assert parse_slots(typed).groups() == groups


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("hello", "no_times"),
        ("", "no_times"),
        ("mon-xyz 9:00", "bad_day"),
        ("9:00 and later", "bad_day"),
        ("25:00", "no_times"),
        ("mon 9:00 25:00", "bad_day"),
    ],
)
def test_unreadable_slots_are_refused_with_a_reason(typed: str, code: str) -> None:
    with pytest.raises(SlotsParseError) as caught:
        parse_slots(typed)
    assert caught.value.code == code


def test_a_dst_week_keeps_wall_clock_slots() -> None:
    slots = parse_slots("9:00 18:00")
    # Europe/Berlin leaves summer time on Sunday 2026-10-25 (03:00 CEST → 02:00 CET).
    autumn = upcoming_slots(slots, BERLIN, utc(2026, 10, 23, 12), 6)
    assert autumn == [
        utc(2026, 10, 23, 16),  # Fri 18:00 CEST
        utc(2026, 10, 24, 7),  # Sat 09:00 CEST
        utc(2026, 10, 24, 16),
        utc(2026, 10, 25, 8),  # Sun 09:00 CET
        utc(2026, 10, 25, 17),
        utc(2026, 10, 26, 8),
    ]
    # ... and enters it on Sunday 2027-03-28 (02:00 CET → 03:00 CEST).
    spring = upcoming_slots(slots, BERLIN, utc(2027, 3, 27, 12), 4)
    assert spring == [
        utc(2027, 3, 27, 17),
        utc(2027, 3, 28, 7),
        utc(2027, 3, 28, 16),
        utc(2027, 3, 29, 7),
    ]
    # A slot inside the skipped hour goes out shifted by the jump (03:30 CEST), once.
    gap = upcoming_slots(parse_slots("2:30"), BERLIN, utc(2027, 3, 27, 12), 2)
    assert gap == [utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)]
    # A repeated local time (02:30 happens twice on 2026-10-25) is one slot.
    fold = upcoming_slots(parse_slots("2:30"), BERLIN, utc(2026, 10, 24, 12), 2)
    assert fold == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


# ---------- the queue ----------


@pytest.fixture
async def setup(uow: Database) -> tuple[QueueService, ManualClock, int]:
    # Tuesday 2026-12-01 10:00 in Berlin (UTC+1).
    clock = ManualClock(utc(2026, 12, 1, 9))
    async with uow.write() as session:
        await UserRepository(session).upsert(
            USER_ID,
            username="anna",
            first_name="Anna",
            language="en",
            timezone=BERLIN,
            is_admin=False,
        )
        target = await TargetRepository(session).link(USER_ID, "telegram", "-100", "News", "n")
    posts = PostService(uow, clock)
    return QueueService(uow, clock, posts, rng=random.Random(7)), clock, target.id


async def times(queues: QueueService, target_id: int) -> list[tuple[str, datetime]]:
    view = await queues.view(USER_ID, target_id)
    assert view is not None
    return [(entry.content.text, entry.when) for entry in view.entries]


async def add(queues: QueueService, target_id: int, text: str) -> datetime:
    (placed,) = await queues.add(USER_ID, Draft(text=text), [target_id])
    return placed.when


async def test_add_needs_slots_or_takes_the_defaults(setup: tuple) -> None:
    queues, _clock, target_id = setup
    with pytest.raises(PostRuleError) as caught:
        await add(queues, target_id, "A")
    assert caught.value.code == "no_slots"
    assert caught.value.details["titles"] == ["News"]
    (placed,) = await queues.add(USER_ID, Draft(text="A"), [target_id], use_default_slots=True)
    # 10:00 in Berlin: the next default slot is 13:00 local.
    assert placed.when == utc(2026, 12, 1, 12)
    assert placed.position == 1
    view = await queues.view(USER_ID, target_id)
    assert view is not None and view.slots == DEFAULT_SLOTS
    assert view.next_free == utc(2026, 12, 1, 17)


async def test_operations_with_exact_times(setup: tuple, uow: Database) -> None:
    queues, clock, target_id = setup
    assert await queues.set_slots(USER_ID, target_id, parse_slots("9:00 13:00 18:00"))
    assert await add(queues, target_id, "A") == utc(2026, 12, 1, 12)
    assert await add(queues, target_id, "B") == utc(2026, 12, 1, 17)
    # An explicitly timed post at Wednesday 09:00 takes that slot: the queue skips it.
    posts = PostService(uow, clock)
    _content, (timed,) = await posts.schedule(
        USER_ID, Draft(text="E"), [target_id], utc(2026, 12, 2, 8)
    )
    assert not is_queued(timed)
    assert await add(queues, target_id, "C") == utc(2026, 12, 2, 12)
    assert await add(queues, target_id, "D") == utc(2026, 12, 2, 17)
    view = await queues.view(USER_ID, target_id)
    assert view is not None
    ids = {entry.content.text: entry.post_id for entry in view.entries}

    # Move C up: it takes B's slot, B takes C's.
    assert await queues.move(USER_ID, target_id, ids["C"], -1)
    assert await times(queues, target_id) == [
        ("A", utc(2026, 12, 1, 12)),
        ("C", utc(2026, 12, 1, 17)),
        ("B", utc(2026, 12, 2, 12)),
        ("D", utc(2026, 12, 2, 17)),
    ]
    # The first cannot go higher, the last not lower.
    assert not await queues.move(USER_ID, target_id, ids["A"], -1)
    assert not await queues.move(USER_ID, target_id, ids["D"], 1)
    assert await queues.move(USER_ID, target_id, ids["A"], 1)
    assert [t for t, _ in await times(queues, target_id)] == ["C", "A", "B", "D"]

    # Remove A: the ones after it move up a slot; E keeps its own time.
    assert await queues.remove(USER_ID, target_id, ids["A"])
    assert await times(queues, target_id) == [
        ("C", utc(2026, 12, 1, 12)),
        ("B", utc(2026, 12, 1, 17)),
        ("D", utc(2026, 12, 2, 12)),
    ]
    async with uow.read() as session:
        removed = await session.get(ScheduledPost, ids["A"])
        still_timed = await session.get(ScheduledPost, timed.id)
    assert removed is not None and removed.status == PostStatus.CANCELLED
    assert still_timed is not None and still_timed.scheduled_time == utc(2026, 12, 2, 8)

    # Shuffle: the same slots, another order (seeded).
    assert await queues.shuffle(USER_ID, target_id)
    shuffled = await times(queues, target_id)
    assert sorted(t for t, _ in shuffled) == ["B", "C", "D"]
    assert [w for _, w in shuffled] == [
        utc(2026, 12, 1, 12),
        utc(2026, 12, 1, 17),
        utc(2026, 12, 2, 12),
    ]

    # New slots: weekdays 09:00 and 18:00, weekends 11:00; the queue re-flows onto them
    # (Wednesday 09:00 is still E's).
    assert await queues.set_slots(
        USER_ID, target_id, parse_slots("mon-fri 9:00 18:00; sat,sun 11:00")
    )
    assert [w for _, w in await times(queues, target_id)] == [
        utc(2026, 12, 1, 17),
        utc(2026, 12, 2, 17),
        utc(2026, 12, 3, 8),
    ]

    # Publish next now: the first leaves the queue, due now; the others move up.
    first = (await times(queues, target_id))[0][0]
    clock.advance(minutes=5)
    next_id = await queues.publish_next_now(USER_ID, target_id)
    assert next_id is not None
    async with uow.read() as session:
        now_post = await session.get(ScheduledPost, next_id)
        content = await session.get(Content, now_post.content_id) if now_post else None
    assert now_post is not None and content is not None and content.text == first
    assert now_post.due_at == clock.now() and not is_queued(now_post)
    assert [w for _, w in await times(queues, target_id)] == [
        utc(2026, 12, 1, 17),
        utc(2026, 12, 2, 17),
    ]


async def test_a_paused_queue_is_not_claimed_and_resumes_on_new_slots(
    setup: tuple, uow: Database
) -> None:
    queues, clock, target_id = setup
    await queues.set_slots(USER_ID, target_id, parse_slots("9:00 13:00 18:00"))
    await add(queues, target_id, "A")  # 12:00 UTC
    await add(queues, target_id, "B")  # 17:00 UTC
    _content, (timed,) = await PostService(uow, clock).schedule(
        USER_ID, Draft(text="E"), [target_id], utc(2026, 12, 1, 12, 30)
    )
    assert await queues.set_paused(USER_ID, target_id, True)
    view = await queues.view(USER_ID, target_id)
    assert view is not None and view.paused

    clock.set(utc(2026, 12, 1, 13))
    async with uow.write() as session:
        claimed = await PostRepository(session).claim_due(
            clock.now(), "w1", timedelta(minutes=1), 10
        )
        missed = await PostRepository(session).mark_missed(clock.now(), timedelta(seconds=1))
    # Only the explicitly timed post goes; the queued one waits, and is not "missed".
    assert [c.id for c in claimed] == [timed.id]
    assert missed == []

    # Resumed at 14:00 UTC (15:00 Berlin): A and B take the next slots from now.
    clock.set(utc(2026, 12, 1, 14))
    assert await queues.set_paused(USER_ID, target_id, False)
    assert await times(queues, target_id) == [
        ("A", utc(2026, 12, 1, 17)),
        ("B", utc(2026, 12, 2, 8)),
    ]
    clock.set(utc(2026, 12, 1, 17))
    async with uow.write() as session:
        claimed = await PostRepository(session).claim_due(
            clock.now(), "w1", timedelta(minutes=1), 10
        )
    assert len(claimed) == 1


async def test_a_dst_week_in_the_queue(setup: tuple) -> None:
    queues, clock, target_id = setup
    clock.set(utc(2026, 10, 23, 12))  # Friday, 14:00 CEST
    await queues.set_slots(USER_ID, target_id, parse_slots("9:00"))
    whens = [await add(queues, target_id, f"P{i}") for i in range(4)]
    # 09:00 in Berlin every day: 07:00 UTC in summer time, 08:00 UTC after it.
    assert whens == [
        utc(2026, 10, 24, 7),
        utc(2026, 10, 25, 8),
        utc(2026, 10, 26, 8),
        utc(2026, 10, 27, 8),
    ]


async def test_queues_belong_to_their_owner_and_hand_times_drop_the_queue(
    setup: tuple, uow: Database
) -> None:
    queues, clock, target_id = setup
    await queues.set_slots(USER_ID, target_id, PostingSlots.every_day("10:00"))
    await add(queues, target_id, "A")
    assert await queues.view(USER_ID + 1, target_id) is None
    assert not await queues.set_paused(USER_ID + 1, target_id, True)
    view = await queues.view(USER_ID, target_id)
    assert view is not None
    post_id = view.entries[0].post_id
    assert not await queues.remove(USER_ID + 1, target_id, post_id)
    # The calendar's read: queued posts, marked as such.
    items = await queues.queued_between(USER_ID, utc(2026, 12, 1), utc(2026, 12, 8))
    assert [(i.post.id, i.queued) for i in items] == [(post_id, True)]
    # A time chosen by hand takes the post out of the queue.
    assert await PostService(uow, clock).reschedule(USER_ID, post_id, utc(2026, 12, 5, 15))
    assert (await queues.view(USER_ID, target_id)).entries == []  # type: ignore[union-attr]
