"""Forged or stale callbacks naming another user's post or target are refused and change
nothing (DESIGN.md, "Who may do what")."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.compose.callbacks import TargetPickCb
from handlers.compose.states import NewPost
from handlers.posts.callbacks import PostCb
from handlers.targets.callbacks import TargetCb
from storage.models import Content, PostStatus, ScheduledPost, Target
from tests.conftest import OTHER_USER_ID, USER_ID
from tests.ux.harness import Harness
from tests.ux.test_lists_settings_admin import make_posts


async def snapshot(harness: Harness) -> list[tuple]:
    async with harness.app.session_factory() as session:
        posts = (await session.scalars(select(ScheduledPost).order_by(ScheduledPost.id))).all()
        targets = (await session.scalars(select(Target).order_by(Target.id))).all()
        contents = await session.scalar(select(func.count()).select_from(Content))
        return [
            *[(p.id, p.owner_id, p.status, p.scheduled_time, p.target_id) for p in posts],
            *[(t.id, t.owner_id, t.status, t.title) for t in targets],
            ("contents", contents),
        ]


async def test_forged_post_and_target_callbacks_are_refused(harness: Harness) -> None:
    victim_posts = await make_posts(
        harness, USER_ID, [PostStatus.SCHEDULED, PostStatus.FAILED, PostStatus.UNKNOWN]
    )
    async with harness.app.session_factory() as session:
        victim_target = (await session.scalars(select(Target))).one().id
    before = await snapshot(harness)

    attacker = harness.chat(OTHER_USER_ID)
    await attacker.send("/start")
    refusals_before = len(attacker.alerts())
    forged = [
        PostCb(action=action, post_id=post_id).pack()
        for post_id in victim_posts
        for action in (
            "view",
            "cancel",
            "retry",
            "published",
            "publish_now",
            "reschedule",
            "duplicate",
        )
    ]
    forged += [
        TargetCb(action=action, target_id=victim_target).pack()
        for action in ("view", "unlink", "unlink_yes")
    ]
    sent_before = len(attacker.sent())
    for data in forged:
        await attacker.press_data(data)
    # A forged toggle inside the attacker's own new-post dialog.
    await harness.set_state(OTHER_USER_ID, NewPost.targets.state, {"text": "x", "chosen": []})
    await attacker.press_data(TargetPickCb(target_id=victim_target).pack())
    await attacker.press_data(TargetPickCb(target_id=0).pack())

    alerts = attacker.alerts()[refusals_before:]
    assert len(alerts) == len(forged) + 2
    assert all(
        "не ваш" in alert or "не ваше" in alert or "Сначала выберите" in alert for alert in alerts
    ), alerts
    # Nothing about the victim's posts reached the attacker's chat.
    leaked = " ".join(m.get("text") or "" for m in attacker.sent()[sent_before:])
    assert "Post text" not in leaked and f"Channel of {USER_ID}" not in leaked
    assert (await harness.data(OTHER_USER_ID))["chosen"] == []
    assert await snapshot(harness) == before
