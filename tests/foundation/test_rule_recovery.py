"""A rule execution claimed by a process that stopped before finishing it (a crash during the
model call) is never dropped silently: the next worker re-arms it while it is still on time,
or gives it up and tells the owner (workers/auto_posting.py, "Recovery")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handlers.failures import failure_text
from handlers.i18n import create_i18n
from platforms.errors import ErrorCode
from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import AutoPostingRule, Content, ScheduledPost, Target
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID
from tests.foundation.helpers import make_channel, make_rule, make_user
from tests.foundation.test_workers import RecordingNotifier
from workers import auto_posting
from workers.auto_posting import AutoPostingWorker

# 12:05 Moscow, the rule's daily time (tests/foundation/helpers.make_rule).
FIRE = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
NEXT_DAY = FIRE + timedelta(days=1)


class Crash(BaseException):
    """The process dies (killed, out of memory) while the model writes the post."""


@pytest.fixture
async def channel(session_factory: SessionFactory) -> Target:
    await make_user(session_factory, USER_ID)
    return await make_channel(session_factory, USER_ID, CHANNEL_ID, "Tech")


async def _crash_during_generation(
    uow: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def die(*args: Any, **kwargs: Any) -> Any:
        raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(auto_posting, "make_rule_posts", die)
        with pytest.raises(Crash):
            await AutoPostingWorker(uow, clock=clock).run_once()


async def _rule(session_factory: SessionFactory, rule_id: int) -> AutoPostingRule:
    async with session_factory() as session:
        rule = await session.get(AutoPostingRule, rule_id)
    assert rule is not None
    return rule


async def _posts(session_factory: SessionFactory) -> list[ScheduledPost]:
    async with session_factory() as session:
        return list((await session.scalars(select(ScheduledPost))).all())


async def test_a_run_claimed_by_a_crashed_process_runs_after_restart(
    uow: Database,
    session_factory: SessionFactory,
    channel: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(FIRE)
    rule = await make_rule(session_factory, USER_ID, [channel], FIRE)
    await _crash_during_generation(uow, clock, monkeypatch)
    crashed = await _rule(session_factory, rule.id)
    # The claim moved the rule to tomorrow: without recovery, today's post is simply gone.
    assert crashed.next_execution_at == NEXT_DAY
    assert crashed.claimed_slot_at == FIRE
    assert await _posts(session_factory) == []

    # The bot comes back at once. A claim this young may belong to a live process (several
    # workers share the database), so it is left alone for the lease.
    restarted = AutoPostingWorker(uow, clock=clock, notifier=RecordingNotifier())
    clock.advance(60)
    report = await restarted.run_once()
    assert (report.recovered, report.succeeded) == (0, 0)

    clock.set(FIRE + timedelta(minutes=10))  # the lease is over, still within the grace
    report = await restarted.run_once()
    assert (report.recovered, report.succeeded) == (1, 1)
    (post,) = await _posts(session_factory)
    assert post.rule_id == rule.id and post.target_id == channel.id
    async with session_factory() as session:
        content = await session.get(Content, post.content_id)
    assert content is not None and (content.variants or {}).get("slot") == FIRE.isoformat()
    recovered = await _rule(session_factory, rule.id)
    assert recovered.next_execution_at == NEXT_DAY  # the regular schedule goes on
    assert recovered.claimed_slot_at is None
    assert (recovered.retry_slot_at, recovered.retry_attempts) == (None, 0)
    # Nothing more on the next pass: the run happened once.
    clock.advance(300)
    report = await restarted.run_once()
    assert (report.recovered, report.succeeded, report.lost) == (0, 0, 0)
    assert len(await _posts(session_factory)) == 1


async def test_a_run_too_late_to_redo_is_reported_to_the_owner_once(
    uow: Database,
    session_factory: SessionFactory,
    channel: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(FIRE)
    rule = await make_rule(session_factory, USER_ID, [channel], FIRE)
    await _crash_during_generation(uow, clock, monkeypatch)

    notifier = RecordingNotifier()
    restarted = AutoPostingWorker(uow, clock=clock, notifier=notifier)
    clock.set(FIRE + timedelta(hours=3))  # down for hours: past the grace window
    report = await restarted.run_once()

    assert (report.lost, report.recovered, report.succeeded) == (1, 0, 0)
    assert await _posts(session_factory) == []
    assert [(name, args[:2]) for name, args in notifier.events] == [
        ("rule_failed", (USER_ID, rule.id))
    ]
    given_up = await _rule(session_factory, rule.id)
    assert given_up.error_code == ErrorCode.RULE_RUN_LOST
    assert given_up.claimed_slot_at is None
    assert given_up.next_execution_at == NEXT_DAY
    assert (await restarted.run_once()).lost == 0
    assert len(notifier.events) == 1


def test_the_owner_reads_what_happened_in_their_language() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        assert "Run now" in failure_text(ErrorCode.RULE_RUN_LOST)
    with i18n.context(), i18n.use_locale("ru"):
        assert "Запустить сейчас" in failure_text(ErrorCode.RULE_RUN_LOST)
