"""Rules by chat (issue 3 rules dialog, issue 4 approval), through real polling against the
fake Bot API and the fake model."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.factory import App, create_app
from handlers.rules.callbacks import ApprovalCb, RulesCb
from services.clock import ManualClock
from storage.db import upgrade_database
from storage.models import AutoPostingRule, PostStatus, ScheduledPost
from storage.rule_config import ALL_DAYS, ContentConfig, DailySchedule, QuietHours
from tests.ai.chat import Chat
from tests.ai.helpers import at, create_rule, load_rule, seed_user_and_channel
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings, polling
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from workers.auto_posting import AutoPostingWorker

MSK = "Europe/Moscow"


@pytest.fixture
def chat_clock(ai_clock: ManualClock) -> ManualClock:
    return ai_clock


async def rules_of(app: App) -> list[AutoPostingRule]:
    async with app.session_factory() as session:
        return list((await session.scalars(select(AutoPostingRule))).all())


async def test_create_the_seed_rule_by_chat_with_dry_run_and_five_next_runs(
    running: App, fake_tg: FakeTelegram, fake_ai: FakeOpenAI
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "No rules yet")
    step = await chat.tap(listing, "New rule", "Step 1 of 5")
    step = await chat.say("Тестовое правило", "Step 2 of 5")
    step = await chat.tap(step, "Daily", "At what time?")
    step = await chat.say("12:05", "On which days?")
    assert "✅ Mon" in str(step["reply_markup"])  # daily: every day chosen already
    step = await chat.tap(step, "Done", "Step 3 of 5")
    step = await chat.tap(step, "AI writes it", "What shall the AI write about?")
    step = await chat.say("Создай пост о технологиях", "Which style?")
    step = await chat.tap(step, "Skip", "Step 4 of 5")
    await chat.toggle(step, "Tech news")
    step = await chat.tap(step, "Done", "Step 5 of 5")
    confirm = await chat.tap(step, "Publish directly", "Check the new rule")

    text = confirm["text"]
    assert "every day at 12:05 (Europe/Moscow)" in text
    assert "Создай пост о технологиях" in text
    runs = re.findall(r"• \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d)", text)
    assert runs == [f"2026-12-0{d} 12:05" for d in range(1, 6)]

    sample = await chat.tap(confirm, "Try it now", "Dry run: nothing is published")
    await chat.expect("Sample for Telegram")
    again = await chat.expect("Check the new rule")  # the summary again, below the sample
    assert len(fake_ai.requests) == 1
    assert sample and await rules_of(running) == []  # a dry run saves nothing

    save = fake_tg.find_button(again, "Save the rule")
    await chat.tap(again, "Save the rule", "The rule is saved")
    view = await chat.expect("Next run:")
    assert "Runs: 0 · successes: 0 · failures: 0" in view["text"]
    assert again["reply_markup"] is None  # the dialog's message keeps no buttons
    (rule,) = await rules_of(running)
    assert rule.name == "Тестовое правило"
    assert (rule.schedule_type, rule.schedule_config) == (
        "daily",
        DailySchedule(times=("12:05",), days_of_week=ALL_DAYS),
    )
    assert rule.content_config == ContentConfig(description="Создай пост о технологиях")
    assert rule.timezone == MSK and not rule.approval_required
    assert rule.next_execution_at == at(MSK, 2026, 12, 1, 12, 5)
    assert chat.taps == 10  # nine taps, plus one for the optional dry run

    # The closed dialog's buttons do nothing any more (a second Save makes no second rule).
    stale = await chat.tap_data(again, save)
    assert "no longer active" in stale
    assert len(await rules_of(running)) == 1


async def test_back_and_cancel_work_in_the_rule_dialog(
    running: App, fake_tg: FakeTelegram
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "No rules yet")
    step = await chat.tap(listing, "New rule", "Step 1 of 5")
    assert await window_becomes(running, USER_ID, "RuleDialog:name")
    step = await chat.say("Weekly digest", "Step 2 of 5")
    step = await chat.tap(step, "Weekly", "At what time?")
    step = await chat.tap(step, "Back", "Step 2 of 5")
    step = await chat.tap(step, "Every N hours", "Every how many hours?")
    # A wrong answer says why, and the same step is shown again below it.
    await chat.say("0", "whole number of hours")
    step = await chat.expect("Every how many hours?")
    step = await chat.tap(step, "6", "Step 3 of 5")
    step = await chat.tap(step, "Back", "Every how many hours?")
    step = await chat.tap(step, "Back", "Step 2 of 5")
    step = await chat.tap(step, "Cron", "cron expression")
    await chat.say("61 * * * *", "does not work")
    step = await chat.expect("cron expression")
    step = await chat.say("0 9 * * mon", "Step 3 of 5")
    # Text where buttons are expected: a hint, then the step again.
    await chat.say("hello", "Use the buttons above")
    step = await chat.expect("Step 3 of 5")
    step = await chat.tap(step, "Fixed text", "Send the text")
    # A fixed text must differ from run to run (issue 11): without {date} it is refused.
    await chat.say("<b>Monday</b> digest is out", "posted word for word")
    step = await chat.say("<b>Monday</b> digest of {date} is out", "Step 4 of 5")
    assert await window_becomes(running, USER_ID, "RuleDialog:targets")
    await chat.tap(step, "Cancel", "Cancelled. Nothing was saved.")
    assert await rules_of(running) == []
    assert await window_becomes(running, USER_ID, None)
    # The dialog's message keeps no buttons that could still act.
    assert not fake_tg.last_message_with_button(USER_ID, "New post")["text"].startswith("Step")


async def open_window(app: App, user_id: int) -> str | None:
    """The rule dialog's window the user is in (aiogram_dialog's stack), or None."""
    storage = app.dispatcher.storage
    stack = await storage.get_data(_key(app, user_id, "aiogd:stack:"))
    intents = stack.get("intents") or []
    if not intents:
        return None
    context = await storage.get_data(_key(app, user_id, f"aiogd:context:{intents[-1]}"))
    return str(context.get("state")) if context.get("state") else None


async def window_becomes(app: App, user_id: int, expected: str | None) -> bool:
    """The dialog's storage is written when the update is done, just after its reply."""
    for _ in range(100):
        if await open_window(app, user_id) == expected:
            return True
        await asyncio.sleep(0.02)
    return False


def _key(app: App, user_id: int, destiny: str = "default") -> Any:
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=app.bot.id, chat_id=user_id, user_id=user_id, destiny=destiny)


async def test_rule_list_pause_resume_run_now_edit_and_delete(
    running: App, fake_tg: FakeTelegram, chat_clock: ManualClock
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    rule_id = await create_rule(running.session_factory, chat_clock, [target], timezone=MSK)
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "Auto-posting rules</b>\n▶️")
    assert "next run Tue 2026-12-01 12:05" in listing["text"]
    view = await chat.tap(listing, "Тестовое правило", "Runs: 0")
    view = await chat.tap(view, "Pause", "paused")
    assert (await load_rule(running.session_factory, rule_id)).next_execution_at is None
    view = await chat.tap(view, "Resume", "active")
    assert (await load_rule(running.session_factory, rule_id)).next_execution_at == at(
        MSK, 2026, 12, 1, 12, 5
    )
    await chat.tap(view, "Run now", "The rule runs now")
    assert (await load_rule(running.session_factory, rule_id)).next_execution_at == (
        chat_clock.now()
    )

    confirm = await chat.tap(view, "Edit", "Edit the rule")
    step = await chat.tap(confirm, "✏️ Name", "Step 1 of 5")
    confirm = await chat.say("Renamed rule", "Edit the rule")
    assert "Renamed rule" in confirm["text"]
    step = await chat.tap(confirm, "✏️ Publishing", "Step 5 of 5")
    step = await chat.tap(step, "approve", "If you have not answered")
    confirm = await chat.tap(step, "Publish it anyway", "Edit the rule")
    limits = await chat.tap(confirm, "Limits", "Limits keep a rule polite")
    # Within the operator's bounds (issue 11): the default cap of 10, never "no limit".
    for shown in ("10", "20", "48", "1"):
        limits = await chat.toggle(limits, f"Posts per day: {shown}")
    limits = fake_tg.last_message_with_button(USER_ID, "Posts per day: 2")
    await chat.tap(limits, "Quiet hours: none", "Send quiet hours")
    await chat.say("22-08", "could not read that")
    limits = await chat.say("22:00 - 08:00", "Limits keep a rule polite")
    await chat.tap(limits, "AI tokens per month", "How many AI tokens")
    limits = await chat.say("30 000", "Limits keep a rule polite")
    confirm = await chat.tap(limits, "Done", "Edit the rule")
    assert (
        "Limits: 2 posts a day · quiet hours 22:00–08:00 · 30000 AI tokens a month"
        in (confirm["text"])
    )
    await chat.tap(confirm, "Save the rule", "The rule is saved")
    rule = await load_rule(running.session_factory, rule_id)
    assert (rule.name, rule.approval_required, rule.approval_policy) == (
        "Renamed rule",
        True,
        "publish",
    )
    assert rule.content_config.description == "Создай пост о технологиях"
    assert (rule.daily_cap, rule.quiet_hours, rule.monthly_token_budget) == (
        2,
        QuietHours(start="22:00", end="08:00"),
        30000,
    )

    view = await chat.expect("Next run:")
    ask = await chat.tap(view, "Delete", "Delete the rule")
    await chat.tap(ask, "Yes, delete", "The rule was deleted")
    assert await rules_of(running) == []


async def test_forged_rule_and_draft_buttons_of_another_user_are_refused(
    running: App, fake_tg: FakeTelegram, chat_clock: ManualClock
) -> None:
    target = await seed_user_and_channel(running.session_factory, timezone=MSK, language="en")
    rule_id = await create_rule(
        running.session_factory, chat_clock, [target], timezone=MSK, approval_required=True
    )
    chat_clock.set(at(MSK, 2026, 12, 1, 12, 5))
    worker = AutoPostingWorker(running.db, generator=running.generator, clock=chat_clock)
    await worker.run_once()
    before = await load_rule(running.session_factory, rule_id)

    boris = Chat(fake_tg, OTHER_USER_ID)
    own = await boris.say("/rules", "автопостинга")  # Boris speaks Russian
    for action in ("view", "pause", "resume", "run", "dry", "edit", "delete", "delete_yes"):
        alert = await boris.tap_data(own, RulesCb(action=action, rule_id=rule_id).pack())
        assert "Это правило не ваше" in alert, action
    for action in ("approve", "edit", "regen", "skip"):
        alert = await boris.tap_data(own, ApprovalCb(action=action, content_id=1).pack())
        assert "Этот черновик не ваш" in alert, action

    # Ids out of the bounded range do not even unpack: a stale button, not an apology.
    for forged in (
        "rl:view:99999999999999999999",
        "rl:pause:-1",
        "ap:approve:2147483648",
    ):
        alert = await boris.tap_data(own, forged)
        assert "Эта кнопка больше не работает" in alert, forged

    # Anna's rule dialog, open on her rule: its buttons pressed by Boris (the same data, in
    # his chat) belong to no dialog of his.
    anna = Chat(fake_tg, USER_ID)
    listing = await anna.say("/rules", "Auto-posting rules")
    view = await anna.tap(listing, "Тестовое правило", "Runs:")
    summary = await anna.tap(view, "Edit", "Edit the rule")
    for button in ("Save the rule", "✏️ Name", "Limits"):
        alert = await boris.tap_data(own, fake_tg.find_button(summary, button))
        assert "Эта кнопка больше не работает" in alert, button

    after = await load_rule(running.session_factory, rule_id)
    assert (after.is_active, after.next_execution_at, after.name) == (
        before.is_active,
        before.next_execution_at,
        before.name,
    )
    async with running.session_factory() as session:
        (post,) = (await session.scalars(select(ScheduledPost))).all()
    assert post.status == PostStatus.AWAITING_APPROVAL
    texts = " ".join(m.get("text", "") for m in fake_tg.sent_to(OTHER_USER_ID))
    assert "Тестовое правило" not in texts
    assert len(fake_tg.sent_to(USER_ID)) == 0 or all(
        "Boris" not in m.get("text", "") for m in fake_tg.sent_to(USER_ID)
    )


async def test_no_ai_configured_hides_ai_and_fixed_text_rules_still_work(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    app = create_app(
        make_settings(database_url=url, telegram_api_base=fake_tg.base_url, disable_workers=True)
    )
    async with polling(app):
        await seed_user_and_channel(app.session_factory, timezone=MSK, language="en")
        chat = Chat(fake_tg, USER_ID)
        listing = await chat.say("/rules", "No rules yet")
        step = await chat.tap(listing, "New rule", "Step 1 of 5")
        step = await chat.say("Plain", "Step 2 of 5")
        step = await chat.tap(step, "Every N hours", "Every how many hours?")
        step = await chat.tap(step, "24", "AI writing is not configured")
        with pytest.raises(AssertionError):
            fake_tg.find_button(step, "AI writes it")
        await chat.tap(step, "Fixed text", "Send the text")


async def test_create_the_seed_rule_by_chat_in_russian(
    running: App, fake_tg: FakeTelegram, fake_ai: FakeOpenAI
) -> None:
    await seed_user_and_channel(running.session_factory, timezone=MSK, language="ru")
    chat = Chat(fake_tg, USER_ID)
    listing = await chat.say("/rules", "Правил пока нет")
    step = await chat.tap(listing, "Новое правило", "Шаг 1 из 5")
    step = await chat.say("Тестовое правило", "Шаг 2 из 5")
    step = await chat.tap(step, "Ежедневно", "В какое время?")
    step = await chat.say("12:05", "По каким дням?")
    assert "✅ Пн" in str(step["reply_markup"])
    step = await chat.tap(step, "Готово", "Шаг 3 из 5")
    step = await chat.tap(step, "Пишет ИИ", "О чём писать ИИ?")
    step = await chat.say("Создай пост о технологиях", "Какой стиль?")
    step = await chat.tap(step, "Пропустить", "Шаг 4 из 5")
    await chat.toggle(step, "Tech news")
    step = await chat.tap(step, "Готово", "Шаг 5 из 5")
    confirm = await chat.tap(step, "Публиковать сразу", "Проверьте новое правило")
    assert "каждый день в 12:05 (Europe/Moscow)" in confirm["text"]
    assert confirm["text"].count("• Вт 2026-12-01 12:05") == 1
    assert len(re.findall(r"• \w\w 2026-12-0\d 12:05", confirm["text"])) == 5
    await chat.tap(confirm, "Сохранить правило", "Правило сохранено")
    view = await chat.expect("Следующий запуск: Вт 2026-12-01 12:05")
    assert "Запусков: 0 · успешно: 0 · ошибок: 0" in view["text"]
    (rule,) = await rules_of(running)
    assert rule.content_config == ContentConfig(description="Создай пост о технологиях")
    assert fake_ai.requests == []
    assert chat.taps == 9  # plus four typed answers: name, time, topic (and /rules)


async def test_a_channel_linked_from_the_rule_dialog_comes_back_chosen(
    running: App, fake_tg: FakeTelegram
) -> None:
    """No channel yet: the targets step links one (the accounts' linking dialog, started on
    top of the rule dialog) and comes back with it chosen — instead of leaving the rule."""
    chat = Chat(fake_tg, USER_ID)  # Anna writes in English and has linked nothing
    listing = await chat.say("/rules", "No rules yet")
    await chat.tap(listing, "New rule", "Step 1 of 5")
    step = await chat.say("Plain", "Step 2 of 5")
    step = await chat.tap(step, "Every N hours", "Every how many hours?")
    step = await chat.tap(step, "24", "Step 3 of 5")
    step = await chat.tap(step, "Fixed text", "Send the text")
    step = await chat.say("Good morning, {date}", "You have no linked channels yet")
    await chat.tap(step, "Link a channel", "Forward")
    await chat.forward(CHANNEL_ID, "is linked")
    step = await chat.expect("Step 4 of 5")  # the rule's targets again, below
    assert "✅ Telegram: Tech news" in str(step["reply_markup"])
    step = await chat.tap(step, "Done", "Step 5 of 5")
    await chat.tap(step, "Publish directly", "Check the new rule")
