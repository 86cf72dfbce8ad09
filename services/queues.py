"""Queues with time slots (issue 12): each target has local posting times per weekday, and
a queued post takes the target's next free slot instead of a time of its own.

Rules (also in docs/chat-flows.md, "Queues"):

- Slots are local wall times in the owner's zone. The instants come from APScheduler's
  CronTrigger in that zone (services/schedule.py `next_run`), so 09:00 stays 09:00 across a
  DST change; a time the clocks skip goes out shifted by the jump (02:30 → 03:30), a
  repeated one once.
- Queued posts (`ScheduledPost.queue_position` set) go out in queue order, one per slot.
  A slot already taken by an explicitly timed post of the same target (scheduled or
  awaiting approval at that same minute) is skipped.
- Every change of the queue (slots changed, a post moved, removed, shuffled, the queue
  resumed) re-flows it: the queued posts take the free slots after now in queue order.
  Explicitly timed posts never move. Adding a post does not re-flow: it takes the first free
  slot after the queue's last post.
- Paused: queued posts are held (the worker's claim skips them, see
  storage/repositories.py `_target_not_paused`); resuming re-flows them from now. Explicitly
  timed posts of the target still go.
- "Publish next now" takes the first queued post out of the queue, due now; the others move
  up a slot. Rescheduling a queued post by hand takes it out of the queue as well.
- With no slots (cleared), queued posts keep the times they have until slots are set again.

Every method is one unit of work: it writes first (or only reads), commits, and only then
wakes the worker. Nothing here awaits the network.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from services.clock import Clock
from services.notify import NullWaker, Waker
from services.posts import MAX_AHEAD, Draft, PostRuleError, PostService
from services.schedule import Schedule, next_run
from storage.models import Content, PostStatus, ScheduledPost, Target, TargetStatus
from storage.queue_config import DAYS_IN_WEEK, MAX_TIMES_PER_DAY, PostingSlots
from storage.queues import QueueRepository
from storage.repositories import ContentRepository, PostRepository, TargetRepository
from storage.rule_config import DailySchedule
from storage.uow import Database

# What "📥 Add to queue" offers when a target has no slots yet: one tap sets these.
DEFAULT_SLOTS = PostingSlots.every_day("09:00", "13:00", "18:00")
# The presets of the slots screen.
PRESETS: dict[str, PostingSlots] = {
    "daily3": DEFAULT_SLOTS,
    "workweek": PostingSlots(
        week=(("09:00", "13:00", "18:00"),) * 5 + (("11:00",),) * 2,
    ),
    "daily1": PostingSlots.every_day("10:00"),
}
# A queue longer than this is refused (the slot computation walks every post).
MAX_QUEUE = 200


# ---------- typing the slots ----------


class SlotsParseError(ValueError):
    """What the user typed is not a schedule; `code` selects the chat's message and
    `token` is the part that was not understood."""

    def __init__(self, code: str, token: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.token = token


_DAY_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("mon", "monday", "mo", "пн", "пон", "понедельник"),
        ("tue", "tues", "tuesday", "tu", "вт", "вторник"),
        ("wed", "wednesday", "we", "ср", "среда", "среду"),
        ("thu", "thur", "thurs", "thursday", "th", "чт", "четверг"),
        ("fri", "friday", "fr", "пт", "пятница", "пятницу"),
        ("sat", "saturday", "sa", "сб", "суббота", "субботу"),
        ("sun", "sunday", "su", "вс", "воскресенье"),
    ),
    start=1,
):
    for _name in _names:
        _DAY_NAMES[_name] = _number
_DAY_WORDS: dict[str, tuple[int, ...]] = {
    "daily": tuple(range(1, 8)),
    "ежедневно": tuple(range(1, 8)),
    "weekdays": (1, 2, 3, 4, 5),
    "workdays": (1, 2, 3, 4, 5),
    "будни": (1, 2, 3, 4, 5),
    "weekends": (6, 7),
    "weekend": (6, 7),
    "выходные": (6, 7),
}
_FILLER = {"on", "at", "and", "в", "во", "по", "и"}
_PHRASES = (("every day", "daily"), ("каждый день", "daily"), ("everyday", "daily"))
_TIME_RE = re.compile(r"(?<![\d:.])([01]?\d|2[0-3])[:.]([0-5]\d)(?![\d:.])")
_SEPARATORS_RE = re.compile(r"^[\s,]*$")


def _days_of(part: str) -> tuple[int, ...]:
    """The days a segment's beginning names ("mon-fri", "sat,sun", "будни"); none named
    means every day."""
    text = re.sub(r"\s*[-–—]\s*", "-", part.strip().lower())
    days: list[int] = []
    for token in re.split(r"[\s,]+", text):
        token = token.strip(".:")
        if not token or token in _FILLER:
            continue
        if token in _DAY_WORDS:
            days.extend(_DAY_WORDS[token])
            continue
        if "-" in token:
            first, _dash, last = token.partition("-")
            if first not in _DAY_NAMES or last not in _DAY_NAMES:
                raise SlotsParseError("bad_day", token)
            start, end = _DAY_NAMES[first], _DAY_NAMES[last]
            span = (end - start) % DAYS_IN_WEEK
            days.extend((start - 1 + i) % DAYS_IN_WEEK + 1 for i in range(span + 1))
            continue
        if token not in _DAY_NAMES:
            raise SlotsParseError("bad_day", token)
        days.append(_DAY_NAMES[token])
    return tuple(sorted(set(days))) or tuple(range(1, 8))


def parse_slots(text: str) -> PostingSlots:
    """`9:00 13:00 18:00` (every day), `пн-пт 9:00, 18:00`, `mon-fri 9:00 18:00; sat,sun
    11:00`. Segments are separated by `;` or new lines; a later segment replaces the times
    of the days it names (`9:00 18:00; sat 11:00`: Saturday has 11:00 only)."""
    lowered = text.lower()
    for phrase, word in _PHRASES:
        lowered = lowered.replace(phrase, word)
    week: list[tuple[str, ...]] = [()] * DAYS_IN_WEEK
    seen_time = False
    for segment in re.split(r"[;\n]+", lowered):
        if not segment.strip():
            continue
        matches = list(_TIME_RE.finditer(segment))
        if not matches:
            raise SlotsParseError("no_times", segment.strip()[:40])
        # Only separators between and after the times: anything else was not understood.
        gaps = [segment[a.end() : b.start()] for a, b in pairwise(matches)]
        gaps.append(segment[matches[-1].end() :])
        for gap in gaps:
            if not _SEPARATORS_RE.match(gap):
                raise SlotsParseError("bad_day", gap.strip()[:40])
        times = tuple(sorted({f"{int(m.group(1)):02d}:{m.group(2)}" for m in matches}))
        if len(times) > MAX_TIMES_PER_DAY:
            raise SlotsParseError("too_many")
        for day in _days_of(segment[: matches[0].start()]):
            week[day - 1] = times
        seen_time = True
    if not seen_time:
        raise SlotsParseError("no_times")
    return PostingSlots(week=tuple(week))


# ---------- slot instants ----------


def _minute(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def upcoming_slots(
    slots: PostingSlots,
    timezone: str,
    after: datetime,
    count: int,
    *,
    skip: Collection[datetime] = (),
) -> list[datetime]:
    """The first `count` slot instants strictly after `after` (UTC), skipping those at the
    minute of a time in `skip`. Computed by APScheduler in `timezone` (DST-correct); fewer
    when the slots run out before MAX_AHEAD."""
    if count <= 0 or not slots.is_set:
        return []
    schedules = [
        Schedule.of(DailySchedule(times=times, days_of_week=days), timezone)
        for days, times in slots.groups()
    ]
    heads: list[datetime | None] = [next_run(s, after) for s in schedules]
    busy = {_minute(t) for t in skip}
    horizon = after + MAX_AHEAD
    found: list[datetime] = []
    # Every skipped slot is one of `skip`: the walk is bounded by count + len(skip).
    for _ in range(count + len(busy) + 1):
        live = [(fire, i) for i, fire in enumerate(heads) if fire is not None]
        if not live:
            break
        fire, index = min(live)
        if fire > horizon:
            break
        heads[index] = next_run(schedules[index], fire, previous=fire)
        if _minute(fire) in busy:
            continue
        found.append(fire)
        if len(found) == count:
            break
    return found


# ---------- what the chat and the calendar read ----------


def is_queued(post: ScheduledPost) -> bool:
    """A post placed by its queue (the calendar shows these in their own colour)."""
    return post.queue_position is not None


@dataclass(frozen=True)
class QueueEntry:
    post_id: int
    position: int
    when: datetime
    content: Content


@dataclass(frozen=True)
class QueueView:
    target: Target
    timezone: str  # the owner's: slots and times are shown in it
    slots: PostingSlots
    paused: bool
    entries: list[QueueEntry]
    # When a post added now would go out (None without slots).
    next_free: datetime | None


@dataclass(frozen=True)
class Queued:
    """One post placed in one target's queue."""

    post_id: int
    target: Target
    when: datetime
    position: int
    timezone: str


@dataclass(frozen=True)
class QueuedItem:
    """A queued post for a calendar: `queued` is always True here; post lists get it from
    `is_queued(post)`."""

    post: ScheduledPost
    content: Content
    target: Target
    queued: bool = True


class QueueService:
    """Queues for their owner; every target is loaded for the owner (DESIGN.md)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        posts: PostService,
        waker: Waker | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.posts = posts
        self.waker = waker or NullWaker()
        self.rng = rng or random.Random()

    # ---- reads ----

    async def view(self, owner_id: int, target_id: int) -> QueueView | None:
        now = self.clock.now()
        async with self.db.read() as session:
            repo = QueueRepository(session)
            found = await repo.target_for_owner(owner_id, target_id)
            if found is None:
                return None
            target, timezone = found
            rows = await repo.queued_with_content(target.id)
            taken = await repo.timed_times(target.id, now)
        last = rows[-1][0].scheduled_time if rows else None
        after = max(now, last) if last is not None else now
        free = upcoming_slots(target.posting_slots, timezone, after, 1, skip=taken)
        entries = [
            QueueEntry(post.id, i, post.scheduled_time, content)
            for i, (post, content) in enumerate(rows, start=1)
        ]
        return QueueView(
            target,
            timezone,
            target.posting_slots,
            target.queue_paused,
            entries,
            free[0] if free else None,
        )

    async def targets_without_slots(
        self, owner_id: int, target_ids: Sequence[int]
    ) -> list[Target]:
        async with self.db.read() as session:
            targets = await TargetRepository(session).get_many_for_owner(owner_id, target_ids)
        return [t for t in targets if not t.posting_slots.is_set]

    async def queued_between(
        self, owner_id: int, start: datetime, end: datetime
    ) -> list[QueuedItem]:
        """The owner's queued posts going out in [start, end), for a calendar."""
        async with self.db.read() as session:
            rows = await QueueRepository(session).queued_between(owner_id, start, end)
        return [QueuedItem(post, content, target) for post, content, target in rows]

    # ---- adding ----

    async def add(
        self,
        owner_id: int,
        draft: Draft,
        target_ids: Sequence[int],
        *,
        use_default_slots: bool = False,
        source: str = "manual",
        prompt: str | None = None,
    ) -> list[Queued]:
        """Save the content and queue one publication per target at its next free slot.

        PostRuleError: `no_targets`, `target_broken`, `does_not_fit` as PostService.schedule;
        `no_slots` (details `titles`) when a target has none and `use_default_slots` is not
        set (then DEFAULT_SLOTS are given to such targets); `queue_full`; `no_free_slot`."""
        now = self.clock.now()
        placed: list[Queued] = []
        async with self.db.write() as session:
            targets = await TargetRepository(session).get_many_for_owner(owner_id, target_ids)
            if not targets or len(targets) != len(set(target_ids)):
                raise PostRuleError("no_targets")
            broken = [t for t in targets if t.status == TargetStatus.BROKEN]
            if broken:
                raise PostRuleError("target_broken", title=broken[0].title)
            problems = [
                r for r in self.posts.check(draft, [t.platform for t in targets]) if not r.ok
            ]
            if problems:
                raise PostRuleError(
                    "does_not_fit", results=problems, hashtag_limit=self.posts.hashtag_limit
                )
            empty = [t for t in targets if not t.posting_slots.is_set]
            if empty and not use_default_slots:
                raise PostRuleError("no_slots", titles=[t.title for t in empty])
            queues = QueueRepository(session)
            content = await ContentRepository(session).create(
                owner_id,
                draft.text,
                title=draft.title,
                media=[m.stored() for m in draft.media],
                source=source,
                prompt=prompt,
            )
            posts = PostRepository(session)
            for target in sorted(targets, key=lambda t: t.id):
                locked = await queues.target_for_owner(owner_id, target.id, lock=True)
                if locked is None:
                    raise PostRuleError("no_targets")
                target, timezone = locked
                if not target.posting_slots.is_set:
                    queues.set_slots(target, DEFAULT_SLOTS)
                waiting = await queues.queued(target.id)
                if len(waiting) >= MAX_QUEUE:
                    raise PostRuleError("queue_full", title=target.title, limit=MAX_QUEUE)
                after = max([now, *(p.scheduled_time for p in waiting)])
                taken = await queues.timed_times(target.id, now)
                free = upcoming_slots(target.posting_slots, timezone, after, 1, skip=taken)
                if not free:
                    raise PostRuleError("no_free_slot", title=target.title)
                position = await queues.last_position(target.id) + 1
                (post,) = await posts.create(
                    content, [target], free[0], options=draft.options.stored()
                )
                post.queue_position = position
                placed.append(Queued(post.id, target, free[0], len(waiting) + 1, timezone))
        self.waker.wake_posts()
        return placed

    # ---- changing a queue ----

    async def set_slots(self, owner_id: int, target_id: int, slots: PostingSlots) -> bool:
        """New slots; the queued posts re-flow onto them."""
        return await self._change(owner_id, target_id, slots=slots)

    async def set_paused(self, owner_id: int, target_id: int, paused: bool) -> bool:
        """Pause (queued posts are held) or resume (they re-flow from now)."""
        return await self._change(owner_id, target_id, paused=paused)

    async def move(self, owner_id: int, target_id: int, post_id: int, step: int) -> bool:
        """Move a queued post one place up (step -1) or down (+1); False at either end or
        when it is not in this queue."""

        def reorder(posts: list[ScheduledPost]) -> bool:
            ids = [p.id for p in posts]
            if post_id not in ids:
                return False
            i = ids.index(post_id)
            j = i + (1 if step > 0 else -1)
            if not 0 <= j < len(posts):
                return False
            posts[i], posts[j] = posts[j], posts[i]
            return True

        return await self._change(owner_id, target_id, reorder=reorder)

    async def shuffle(self, owner_id: int, target_id: int) -> bool:
        def reorder(posts: list[ScheduledPost]) -> bool:
            if len(posts) < 2:
                return False
            self.rng.shuffle(posts)
            return True

        return await self._change(owner_id, target_id, reorder=reorder)

    async def remove(self, owner_id: int, target_id: int, post_id: int) -> bool:
        """Cancel a queued post; the ones after it move up a slot."""

        def reorder(posts: list[ScheduledPost]) -> bool:
            for post in posts:
                if post.id == post_id:
                    post.status = PostStatus.CANCELLED
                    posts.remove(post)
                    return True
            return False

        return await self._change(owner_id, target_id, reorder=reorder)

    async def publish_next_now(self, owner_id: int, target_id: int) -> int | None:
        """The first queued post leaves the queue, due now; the id, or None when empty."""
        chosen: list[int] = []

        def reorder(posts: list[ScheduledPost]) -> bool:
            if not posts:
                return False
            first = posts.pop(0)
            now = self.clock.now()
            first.queue_position = None
            first.scheduled_time = now
            first.due_at = now
            chosen.append(first.id)
            return True

        await self._change(owner_id, target_id, reorder=reorder)
        return chosen[0] if chosen else None

    async def _change(
        self,
        owner_id: int,
        target_id: int,
        *,
        slots: PostingSlots | None = None,
        paused: bool | None = None,
        reorder: object = None,
    ) -> bool:
        now = self.clock.now()
        async with self.db.write() as session:
            queues = QueueRepository(session)
            found = await queues.target_for_owner(owner_id, target_id, lock=True)
            if found is None:
                return False
            target, timezone = found
            if slots is not None:
                queues.set_slots(target, slots)
            if paused is not None:
                queues.set_paused(target, paused)
            posts = await queues.queued(target.id)
            changed = True
            if callable(reorder):
                changed = bool(reorder(posts))
                if not changed:
                    return False
            await self._reflow(queues, target, timezone, posts, now)
        self.waker.wake_posts()
        return changed

    async def _reflow(
        self,
        queues: QueueRepository,
        target: Target,
        timezone: str,
        posts: list[ScheduledPost],
        now: datetime,
    ) -> None:
        """Number the posts in their order and give them the free slots after now."""
        for position, post in enumerate(posts, start=1):
            post.queue_position = position
        if not posts or not target.posting_slots.is_set:
            return
        taken = await queues.timed_times(target.id, now)
        times = upcoming_slots(target.posting_slots, timezone, now, len(posts), skip=taken)
        for post, when in zip(posts, times, strict=False):
            post.scheduled_time = when
            post.due_at = when
