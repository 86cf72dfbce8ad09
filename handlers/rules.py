"""Auto-posting rules by chat: the rule list, the create/edit dialog (name → schedule →
content → targets → publishing → confirm with the next five runs), Pause/Resume, Run now,
Try it (dry run), Delete, and the approval of drafts a rule prepared.

Every rule, target and draft is loaded for the user who pressed the button: a forged or
stale button gets a refusal and changes nothing."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import TELEGRAM_TEXT_LIMIT, fit_for_platform, sanitize_telegram_html
from content.generator import ContentGenerator, GenerationError
from handlers.callbacks import MenuCb, NavCb
from handlers.notifications import TelegramNotifier
from handlers.render import platform_label, target_label
from handlers.rules_ui import (
    DAILY_CAPS,
    STYLE_PROMPTS,
    ApprovalCb,
    ApprovalEdit,
    RulesCb,
    RuleWizard,
    RuleWizCb,
    approval_keyboard,
    content_config,
    content_type_keyboard,
    days_keyboard,
    delete_keyboard,
    describe_mode,
    hours_keyboard,
    limits_keyboard,
    local_moment,
    mode_keyboard,
    policy_keyboard,
    rule_details,
    rule_summary,
    rule_targets_keyboard,
    rule_view_keyboard,
    rules_list_keyboard,
    schedule_config,
    schedule_type_keyboard,
    style_keyboard,
    with_nav,
)
from handlers.rules_ui import confirm_rule_keyboard as confirm_keyboard
from platforms.telegram import render_post_html
from services.clock import Clock, SystemClock
from services.notify import Waker
from services.rules import (
    ApprovalDraft,
    ApprovalService,
    DryRun,
    RuleDraft,
    RuleError,
    RuleService,
)
from services.schedule import Schedule, ScheduleError, parse_hhmm, validate_schedule
from storage.db import SessionFactory
from storage.models import AutoPostingRule, User
from storage.repositories import (
    PostRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)

log = logging.getLogger("handlers.rules")

router = Router(name="rules")

NAME_LIMIT = 128
PROMPT_LIMIT = 2000
_TIME_SPLIT = re.compile(r"[,;\s]+")


# ---------- small helpers ----------


def _message(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


async def refuse(query: CallbackQuery) -> None:
    await query.answer(_("This rule is not yours or no longer exists."), show_alert=True)


def rule_error_text(error: RuleError) -> str:
    texts = {
        "bad_name": _("The name must be 1 to {limit} characters.").format(limit=NAME_LIMIT),
        "bad_schedule": _("This schedule does not work: {detail}").format(detail=error.detail),
        "no_content": _("The rule needs a topic for the AI or a fixed text."),
        "no_targets": _("Choose at least one of your channels."),
        "paused": _("The rule is paused. Resume it first."),
        "not_found": _("This rule is not yours or no longer exists."),
        "not_waiting": _("This draft was already decided."),
        "over_budget": _("The rule used up its AI tokens for this month ({detail}).").format(
            detail=error.detail
        ),
        "does_not_fit": _("The text is too long for {platforms}.").format(platforms=error.detail),
    }
    return texts.get(error.code, _("That did not work. Try again."))


def draft_from_data(data: dict[str, Any], timezone: str) -> RuleDraft:
    config = schedule_config(data)
    config.update(data.get("extra_schedule") or {})
    return RuleDraft(
        name=str(data.get("name") or ""),
        schedule_type=str(data.get("stype") or ""),
        schedule_config=config,
        content_config=content_config(data),
        target_ids=[int(t) for t in data.get("targets") or []],
        timezone=str(data.get("timezone") or timezone),
        approval_required=bool(data.get("approval")),
        approval_policy=str(data.get("policy") or "skip"),
        daily_cap=data.get("daily_cap"),
        quiet_hours=dict(data.get("quiet_hours") or {}),
        monthly_token_budget=data.get("monthly_token_budget"),
    )


def data_from_rule(rule: AutoPostingRule) -> dict[str, Any]:
    schedule = dict(rule.schedule_config or {})
    content = dict(rule.content_config or {})
    data: dict[str, Any] = {
        "rule_id": rule.id,
        "name": rule.name,
        "stype": rule.schedule_type,
        "times": list(schedule.pop("times", []) or []),
        "days": list(schedule.pop("days_of_week", []) or []),
        "hours": schedule.pop("hours", None),
        "cron": schedule.pop("expression", None),
        "extra_schedule": {k: v for k, v in schedule.items() if k not in ("minutes",)},
        "ctype": "text" if content.get("text") else "ai",
        "text": content.get("text"),
        "description": content.get("description") or content.get("prompt"),
        "style": content.get("style"),
        "style_key": content.get("style_key"),
        "extra_content": {
            k: v
            for k, v in content.items()
            if k not in ("text", "description", "prompt", "style", "style_key")
        },
        "targets": [t.id for t in rule.targets],
        "approval": rule.approval_required,
        "policy": rule.approval_policy,
        "timezone": rule.timezone,
        "daily_cap": rule.daily_cap,
        "quiet_hours": dict(rule.quiet_hours or {}),
        "monthly_token_budget": rule.monthly_token_budget,
    }
    return data


# ---------- the list and one rule ----------


async def show_rules_list(message: Message, session: AsyncSession, user: User) -> None:
    rules = await RuleRepository(session).list_for_owner(user.id)
    lines = [_("🤖 <b>Auto-posting rules</b>")]
    if not rules:
        lines.append(
            _(
                "No rules yet. A rule writes and publishes posts by itself on a schedule: for "
                "example, every day at 12:05 a post about technology."
            )
        )
    for rule in rules:
        if rule.is_active and rule.next_execution_at:
            when = local_moment(rule.next_execution_at, user.timezone)
            lines.append(_("▶️ {name} — next run {when}").format(name=escape(rule.name), when=when))
        else:
            lines.append(_("⏸ {name} — paused").format(name=escape(rule.name)))
    await message.answer("\n".join(lines), reply_markup=rules_list_keyboard(rules))


@router.message(Command("rules"))
async def cmd_rules(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await state.clear()
    await show_rules_list(message, session, db_user)


@router.callback_query(MenuCb.filter(F.action == "rules"))
@router.callback_query(RulesCb.filter(F.action == "list"))
async def on_rules_list(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await state.clear()
    await query.answer()
    if (message := _message(query)) is not None:
        await show_rules_list(message, session, db_user)


async def show_rule(message: Message, rule: AutoPostingRule, user: User) -> None:
    await message.answer(rule_details(rule, user.timezone), reply_markup=rule_view_keyboard(rule))


async def _owned_rule(
    query: CallbackQuery, callback_data: RulesCb, service: RuleService, user: User
) -> AutoPostingRule | None:
    try:
        return await service.get(user.id, callback_data.rule_id)
    except RuleError:
        await refuse(query)
        return None


@router.callback_query(RulesCb.filter(F.action == "view"))
async def on_rule_view(
    query: CallbackQuery,
    callback_data: RulesCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    rule = await _owned_rule(query, callback_data, RuleService(session, clock), db_user)
    if rule is None:
        return
    await state.clear()
    await query.answer()
    if (message := _message(query)) is not None:
        await show_rule(message, rule, db_user)


@router.callback_query(RulesCb.filter(F.action.in_({"pause", "resume"})))
async def on_rule_pause_resume(
    query: CallbackQuery,
    callback_data: RulesCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    service = RuleService(session, clock, waker)
    if await _owned_rule(query, callback_data, service, db_user) is None:
        return
    active = callback_data.action == "resume"
    try:
        rule = await service.set_active(db_user.id, callback_data.rule_id, active)
    except (RuleError, ScheduleError):
        await query.answer(_("That did not work. Try again."), show_alert=True)
        return
    await query.answer(_("Resumed") if active else _("Paused"))
    if (message := _message(query)) is not None:
        await show_rule(message, rule, db_user)


@router.callback_query(RulesCb.filter(F.action == "run"))
async def on_rule_run_now(
    query: CallbackQuery,
    callback_data: RulesCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    service = RuleService(session, clock, waker)
    if await _owned_rule(query, callback_data, service, db_user) is None:
        return
    try:
        await service.run_now(db_user.id, callback_data.rule_id)
    except RuleError as exc:
        await query.answer(rule_error_text(exc), show_alert=True)
        return
    await query.answer(_("Running"))
    if (message := _message(query)) is not None:
        await message.answer(
            _("⚡ The rule runs now; its post follows shortly. Its schedule stays as it is.")
        )


@router.callback_query(RulesCb.filter(F.action == "delete"))
async def on_rule_delete(
    query: CallbackQuery,
    callback_data: RulesCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    rule = await _owned_rule(query, callback_data, RuleService(session, clock), db_user)
    if rule is None:
        return
    await query.answer()
    if (message := _message(query)) is not None:
        await message.answer(
            _("Delete the rule <b>{name}</b>? Posts it already created stay as they are.").format(
                name=escape(rule.name)
            ),
            reply_markup=delete_keyboard(rule.id),
        )


@router.callback_query(RulesCb.filter(F.action == "delete_yes"))
async def on_rule_delete_confirmed(
    query: CallbackQuery,
    callback_data: RulesCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    service = RuleService(session, clock)
    if not await service.delete(db_user.id, callback_data.rule_id):
        await refuse(query)
        return
    await query.answer(_("Deleted"))
    if (message := _message(query)) is not None:
        await message.answer(_("The rule was deleted."))
        await show_rules_list(message, session, db_user)


@router.callback_query(RulesCb.filter(F.action == "dry"))
async def on_rule_dry_run(
    query: CallbackQuery,
    callback_data: RulesCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    service = RuleService(session, clock)
    rule = await _owned_rule(query, callback_data, service, db_user)
    if rule is None:
        return
    await query.answer(_("Generating a sample…"))
    if (message := _message(query)) is None:
        return
    result = await service.dry_run(
        db_user.id, RuleDraft.from_rule(rule), generator, rule_id=rule.id
    )
    await send_dry_run(message, result, db_user, rule.timezone)


async def send_dry_run(message: Message, result: DryRun, user: User, timezone: str) -> None:
    runs = "\n".join(f"• {local_moment(run, timezone)}" for run in result.runs)
    await message.answer(
        _("🧪 Dry run: nothing is published.\nNext runs ({zone}):\n{runs}").format(
            zone=timezone, runs=runs or "—"
        )
    )
    if result.error is not None:
        await message.answer(
            _("The sample could not be written: {reason}").format(
                reason=escape(result.error.reason)
            )
        )
        return
    assert result.output is not None
    for item in result.output.texts:
        header = _("Sample for {platform}:").format(platform=platform_label(item.platform))
        if item.duplicate_of is not None:
            header += "\n" + _("⚠️ It repeats a recent post, so the rule would not publish it.")
        await message.answer(header)
        await message.answer(draft_html(item.platform, item.generated.title, item.generated.text))


def draft_html(platform: str, title: str | None, text: str) -> str:
    """The draft exactly as it will look: Telegram HTML for Telegram, plain text elsewhere."""
    if platform == "telegram":
        return render_post_html(title, text) or "—"
    plain = f"{title}\n\n{text}" if title else text
    return escape(plain) or "—"


# ---------- the dialog ----------


async def ask_name(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.name)
    data = await state.get_data()
    hint = ""
    if data.get("name"):
        hint = "\n" + _("Now: <b>{name}</b>").format(name=escape(str(data["name"])))
    kb = _nav_only()
    await message.answer(
        _("Step 1 of 5. What shall we call the rule? For example: Daily tech post.") + hint,
        reply_markup=kb,
    )


def _nav_only() -> InlineKeyboardMarkup:
    from aiogram.utils.keyboard import InlineKeyboardBuilder

    return with_nav(InlineKeyboardBuilder())


async def ask_schedule_type(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.schedule_type)
    await message.answer(
        _("Step 2 of 5. When shall the rule post?"), reply_markup=schedule_type_keyboard()
    )


async def ask_times(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.times)
    await message.answer(
        _(
            "At what time? Send one or more times in your time zone, for example "
            "<code>12:05</code> or <code>09:00, 18:30</code>."
        ),
        reply_markup=_nav_only(),
    )


async def ask_days(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.days)
    data = await state.get_data()
    chosen = {int(d) for d in data.get("days") or []}
    await message.answer(
        _("On which days? Tap to toggle, then Done."), reply_markup=days_keyboard(chosen)
    )


async def ask_hours(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.hours)
    await message.answer(
        _("Every how many hours? Tap a number or send one (1 to 168)."),
        reply_markup=hours_keyboard(),
    )


async def ask_cron(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.cron)
    await message.answer(
        _(
            "Send a cron expression with five fields: minute hour day month weekday, in your "
            "time zone. For example <code>5 12 * * mon-fri</code>."
        ),
        reply_markup=_nav_only(),
    )


async def ask_content_type(
    message: Message, state: FSMContext, generator: ContentGenerator
) -> None:
    await state.set_state(RuleWizard.content_type)
    text = _("Step 3 of 5. What shall the rule post?")
    if not generator.available:
        text += "\n" + _(
            "AI writing is not configured on this bot (OPENAI_API_KEY), so a rule can post a "
            "fixed text."
        )
    await message.answer(text, reply_markup=content_type_keyboard(generator.available))


async def ask_prompt(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.prompt)
    await message.answer(
        _(
            "What shall the AI write about? Send the topic or an instruction, for example: "
            "<i>Создай пост о технологиях</i> or <i>One practical Python tip with an example</i>."
        ),
        reply_markup=_nav_only(),
    )


async def ask_style(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.style)
    await message.answer(
        _("Which style? Tap one, send your own description, or skip."),
        reply_markup=style_keyboard(),
    )


async def ask_text(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.text)
    await message.answer(
        _("Send the text the rule will post (formatting is kept)."), reply_markup=_nav_only()
    )


async def ask_targets(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    await state.set_state(RuleWizard.targets)
    targets = await TargetRepository(session).list_for_owner(user.id)
    chosen = {int(t) for t in (await state.get_data()).get("targets") or []}
    if not targets:
        await message.answer(
            _("You have no linked channels yet. Link one with /channels, then create the rule."),
            reply_markup=rule_targets_keyboard([], set()),
        )
        return
    await message.answer(
        _("Step 4 of 5. Where shall it publish? Tap to choose, then Done."),
        reply_markup=rule_targets_keyboard(targets, chosen),
    )


async def ask_mode(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.mode)
    await message.answer(
        _("Step 5 of 5. Publish each post directly, or send it to you for approval first?"),
        reply_markup=mode_keyboard(),
    )


async def ask_policy(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.policy)
    await message.answer(
        _(
            "A draft waits for your answer until its publish time (an hour after the rule "
            "runs). If you have not answered by then:"
        ),
        reply_markup=policy_keyboard(),
    )


async def show_confirm(
    message: Message, state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> None:
    await state.set_state(RuleWizard.confirm)
    await state.update_data(single=False)
    data = await state.get_data()
    draft = draft_from_data(data, user.timezone)
    targets = await TargetRepository(session).get_many_for_owner(user.id, draft.target_ids)
    try:
        runs = RuleService(session, clock).next_runs(draft.schedule)
    except RuleError:
        runs = []
    title = _("Edit the rule:") if data.get("rule_id") else _("Check the new rule:")
    await message.answer(
        title + "\n\n" + rule_summary(data, targets, runs, draft.timezone),
        reply_markup=confirm_keyboard(),
    )


Next = Callable[[], Awaitable[None]]


async def section_done(
    message: Message,
    state: FSMContext,
    following: Next,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """After a part of the dialog: the next part, or the summary when editing one part."""
    if (await state.get_data()).get("single"):
        await show_confirm(message, state, session, user, clock)
    else:
        await following()


@router.callback_query(RulesCb.filter(F.action == "new"))
async def on_rule_new(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if (message := _message(query)) is not None:
        await ask_name(message, state)


@router.message(RuleWizard.name, F.text)
async def on_rule_name(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    name = (message.text or "").strip()
    if not name or len(name) > NAME_LIMIT or name.startswith("/"):
        await message.answer(
            _("The name must be 1 to {limit} characters.").format(limit=NAME_LIMIT),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(name=name)
    await section_done(
        message, state, lambda: ask_schedule_type(message, state), session, db_user, clock
    )


@router.callback_query(RuleWizard.schedule_type, RuleWizCb.filter(F.action == "stype"))
async def on_schedule_type(
    query: CallbackQuery, callback_data: RuleWizCb, state: FSMContext
) -> None:
    kind = callback_data.value
    if kind not in ("daily", "weekly", "interval", "cron"):
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    data = await state.get_data()
    updates: dict[str, Any] = {"stype": kind}
    if kind == "daily" and not data.get("days"):
        updates["days"] = [1, 2, 3, 4, 5, 6, 7]
    if kind == "weekly" and data.get("stype") != "weekly":
        updates["days"] = []
    await state.update_data(**updates)
    await query.answer()
    if (message := _message(query)) is None:
        return
    if kind in ("daily", "weekly"):
        await ask_times(message, state)
    elif kind == "interval":
        await ask_hours(message, state)
    else:
        await ask_cron(message, state)


def parse_times(text: str) -> list[str]:
    times: set[tuple[int, int]] = set()
    for part in _TIME_SPLIT.split(text.strip()):
        if part:
            times.add(parse_hhmm(part.replace(".", ":")))
    if not times or len(times) > 24:
        raise ScheduleError("no times")
    return [f"{h:02d}:{m:02d}" for h, m in sorted(times)]


@router.message(RuleWizard.times, F.text)
async def on_rule_times(message: Message, state: FSMContext) -> None:
    try:
        times = parse_times(message.text or "")
    except ScheduleError:
        await message.answer(
            _("I could not read that. Send times as HH:MM, for example 09:00, 18:30."),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(times=times)
    await ask_days(message, state)


@router.callback_query(RuleWizard.days, RuleWizCb.filter(F.action == "day"))
async def on_rule_day_toggle(
    query: CallbackQuery, callback_data: RuleWizCb, state: FSMContext
) -> None:
    if not callback_data.value.isdigit() or not 1 <= int(callback_data.value) <= 7:
        await query.answer()
        return
    chosen = {int(d) for d in (await state.get_data()).get("days") or []}
    chosen ^= {int(callback_data.value)}
    await state.update_data(days=sorted(chosen))
    await query.answer()
    if (message := _message(query)) is not None:
        try:
            await message.edit_reply_markup(reply_markup=days_keyboard(chosen))
        except TelegramBadRequest:
            await ask_days(message, state)


@router.callback_query(RuleWizard.days, RuleWizCb.filter(F.action == "days_done"))
async def on_rule_days_done(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    if not (await state.get_data()).get("days"):
        await query.answer(_("Choose at least one day."), show_alert=True)
        return
    await query.answer()
    if (message := _message(query)) is not None:
        await section_done(
            message,
            state,
            lambda: ask_content_type(message, state, generator),
            session,
            db_user,
            clock,
        )


async def _set_hours(
    message: Message,
    state: FSMContext,
    value: str,
    session: AsyncSession,
    user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    if not value.strip().isdigit() or not 1 <= int(value) <= 168:
        await message.answer(
            _("Send a whole number of hours from 1 to 168."), reply_markup=hours_keyboard()
        )
        return
    await state.update_data(hours=int(value))
    await section_done(
        message, state, lambda: ask_content_type(message, state, generator), session, user, clock
    )


@router.callback_query(RuleWizard.hours, RuleWizCb.filter(F.action == "hours"))
async def on_rule_hours_button(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    await query.answer()
    if (message := _message(query)) is not None:
        await _set_hours(message, state, callback_data.value, session, db_user, clock, generator)


@router.message(RuleWizard.hours, F.text)
async def on_rule_hours_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    await _set_hours(message, state, message.text or "", session, db_user, clock, generator)


@router.message(RuleWizard.cron, F.text)
async def on_rule_cron(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    expression = " ".join((message.text or "").split())
    data = await state.get_data()
    zone = str(data.get("timezone") or db_user.timezone)
    try:
        validate_schedule(Schedule("cron", {"expression": expression}, zone), clock.now())
    except ScheduleError as exc:
        await message.answer(
            _("That cron expression does not work: {error}").format(error=escape(str(exc))),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(cron=expression)
    await section_done(
        message,
        state,
        lambda: ask_content_type(message, state, generator),
        session,
        db_user,
        clock,
    )


@router.callback_query(RuleWizard.content_type, RuleWizCb.filter(F.action == "ctype"))
async def on_rule_content_type(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    generator: ContentGenerator,
) -> None:
    if callback_data.value == "ai" and not generator.available:
        await query.answer(
            _("AI writing is not configured on this bot (OPENAI_API_KEY)."), show_alert=True
        )
        return
    await state.update_data(ctype="ai" if callback_data.value == "ai" else "text")
    await query.answer()
    if (message := _message(query)) is None:
        return
    if callback_data.value == "ai":
        await ask_prompt(message, state)
    else:
        await ask_text(message, state)


@router.message(RuleWizard.prompt, F.text)
async def on_rule_prompt(message: Message, state: FSMContext) -> None:
    topic = (message.text or "").strip()
    if not topic or len(topic) > PROMPT_LIMIT or topic.startswith("/"):
        await message.answer(
            _("Send the topic as text, up to {limit} characters.").format(limit=PROMPT_LIMIT),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(description=topic, text=None)
    await ask_style(message, state)


async def _set_style(
    message: Message,
    state: FSMContext,
    key: str,
    custom: str | None,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if custom is not None:
        await state.update_data(style=custom[:300], style_key=None)
    elif key in STYLE_PROMPTS:
        await state.update_data(style=STYLE_PROMPTS[key], style_key=key)
    else:
        await state.update_data(style=None, style_key=None)
    await section_done(
        message, state, lambda: ask_targets(message, state, session, user), session, user, clock
    )


@router.callback_query(RuleWizard.style, RuleWizCb.filter(F.action == "style"))
async def on_rule_style_button(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    await query.answer()
    if (message := _message(query)) is not None:
        await _set_style(message, state, callback_data.value, None, session, db_user, clock)


@router.message(RuleWizard.style, F.text)
async def on_rule_style_text(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    style = (message.text or "").strip()
    if not style or style.startswith("/"):
        await ask_style(message, state)
        return
    await _set_style(message, state, "", style, session, db_user, clock)


@router.message(RuleWizard.text, F.text)
async def on_rule_text(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    text = message.html_text
    if not fit_for_platform("telegram", text).ok:
        await message.answer(
            _("The text must be 1 to {limit} characters.").format(limit=TELEGRAM_TEXT_LIMIT),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(text=text, description=None, style=None, style_key=None)
    await section_done(
        message,
        state,
        lambda: ask_targets(message, state, session, db_user),
        session,
        db_user,
        clock,
    )


@router.callback_query(RuleWizard.targets, RuleWizCb.filter(F.action == "tpick"))
async def on_rule_target_toggle(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
) -> None:
    repo = TargetRepository(session)
    target = None
    if callback_data.value.isdigit():
        target = await repo.get_for_owner(db_user.id, int(callback_data.value))
    if target is None:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    chosen = {int(t) for t in (await state.get_data()).get("targets") or []}
    chosen ^= {target.id}
    await state.update_data(targets=sorted(chosen))
    await query.answer()
    if (message := _message(query)) is not None:
        targets = await repo.list_for_owner(db_user.id)
        try:
            await message.edit_reply_markup(reply_markup=rule_targets_keyboard(targets, chosen))
        except TelegramBadRequest:
            await ask_targets(message, state, session, db_user)


@router.callback_query(RuleWizard.targets, RuleWizCb.filter(F.action == "tdone"))
async def on_rule_targets_done(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    chosen = [int(t) for t in (await state.get_data()).get("targets") or []]
    owned = await TargetRepository(session).get_many_for_owner(db_user.id, chosen)
    if not owned:
        await query.answer(_("Choose at least one of your channels."), show_alert=True)
        return
    await state.update_data(targets=[t.id for t in owned])
    await query.answer()
    if (message := _message(query)) is not None:
        await section_done(
            message, state, lambda: ask_mode(message, state), session, db_user, clock
        )


@router.callback_query(RuleWizard.mode, RuleWizCb.filter(F.action == "mode"))
async def on_rule_mode(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    approval = callback_data.value == "approval"
    await state.update_data(approval=approval)
    await query.answer()
    if (message := _message(query)) is None:
        return
    if approval:
        await ask_policy(message, state)
    else:
        await show_confirm(message, state, session, db_user, clock)


@router.callback_query(RuleWizard.policy, RuleWizCb.filter(F.action == "policy"))
async def on_rule_policy(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    await state.update_data(policy="publish" if callback_data.value == "publish" else "skip")
    await query.answer()
    if (message := _message(query)) is not None:
        await show_confirm(message, state, session, db_user, clock)


@router.callback_query(RuleWizard.confirm, RuleWizCb.filter(F.action == "save"))
async def on_rule_save(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    data = await state.get_data()
    draft = draft_from_data(data, db_user.timezone)
    service = RuleService(session, clock, waker)
    try:
        if data.get("rule_id"):
            rule = await service.update(db_user.id, int(data["rule_id"]), draft)
        else:
            rule = await service.create(db_user.id, draft)
    except RuleError as exc:
        await query.answer(rule_error_text(exc), show_alert=True)
        return
    await state.clear()
    await query.answer(_("Saved"))
    if (message := _message(query)) is not None:
        await message.answer(_("✅ The rule is saved."))
        await show_rule(message, rule, db_user)


@router.callback_query(RuleWizard.confirm, RuleWizCb.filter(F.action == "dry"))
async def on_rule_draft_dry_run(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    data = await state.get_data()
    draft = draft_from_data(data, db_user.timezone)
    await query.answer(_("Generating a sample…"))
    if (message := _message(query)) is None:
        return
    try:
        result = await RuleService(session, clock).dry_run(
            db_user.id, draft, generator, rule_id=data.get("rule_id")
        )
    except RuleError as exc:
        await message.answer(rule_error_text(exc))
        return
    await send_dry_run(message, result, db_user, draft.timezone)
    await message.answer(_("Save the rule?"), reply_markup=confirm_keyboard())


@router.callback_query(RuleWizard.confirm, RuleWizCb.filter(F.action == "part"))
async def on_rule_edit_part(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    generator: ContentGenerator,
) -> None:
    await state.update_data(single=True)
    await query.answer()
    if (message := _message(query)) is None:
        return
    part = callback_data.value
    if part == "name":
        await ask_name(message, state)
    elif part == "schedule":
        await ask_schedule_type(message, state)
    elif part == "content":
        await ask_content_type(message, state, generator)
    elif part == "targets":
        await ask_targets(message, state, session, db_user)
    else:
        await ask_mode(message, state)


@router.callback_query(RulesCb.filter(F.action == "edit"))
async def on_rule_edit(
    query: CallbackQuery,
    callback_data: RulesCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    rule = await _owned_rule(query, callback_data, RuleService(session, clock), db_user)
    if rule is None:
        return
    await state.clear()
    await state.set_data(data_from_rule(rule))
    await query.answer()
    if (message := _message(query)) is not None:
        await show_confirm(message, state, session, db_user, clock)


# ---------- limits (guardrails) ----------


async def show_limits(message: Message, state: FSMContext) -> None:
    await state.set_state(RuleWizard.limits)
    await message.answer(
        _(
            "Limits keep a rule polite: at most so many posts a day, no posts during quiet "
            "hours (they wait until the quiet hours end), and a monthly cap on AI tokens. "
            "Tap to change."
        ),
        reply_markup=limits_keyboard(await state.get_data()),
    )


@router.callback_query(RuleWizard.confirm, RuleWizCb.filter(F.action == "limits"))
async def on_rule_limits(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if (message := _message(query)) is not None:
        await show_limits(message, state)


@router.callback_query(RuleWizard.limits, RuleWizCb.filter(F.action == "cap"))
async def on_rule_cap(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    current = data.get("daily_cap")
    index = DAILY_CAPS.index(current) if current in DAILY_CAPS else 0
    await state.update_data(daily_cap=DAILY_CAPS[(index + 1) % len(DAILY_CAPS)])
    await query.answer()
    if (message := _message(query)) is not None:
        try:
            await message.edit_reply_markup(reply_markup=limits_keyboard(await state.get_data()))
        except TelegramBadRequest:
            await show_limits(message, state)


@router.callback_query(RuleWizard.limits, RuleWizCb.filter(F.action == "quiet"))
async def on_rule_quiet(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(RuleWizard.quiet)
    await query.answer()
    if (message := _message(query)) is not None:
        await message.answer(
            _(
                "Send quiet hours in your time zone as <code>22:00-08:00</code>, or "
                "<code>off</code> for none."
            ),
            reply_markup=_nav_only(),
        )


QUIET_RE = re.compile(r"^\s*(\d{1,2}[:.]\d{2})\s*[-–—]\s*(\d{1,2}[:.]\d{2})\s*$")
OFF_WORDS = {"off", "no", "none", "0", "-", "нет", "выкл", "без"}


@router.message(RuleWizard.quiet, F.text)
async def on_rule_quiet_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().lower()
    if text in OFF_WORDS:
        await state.update_data(quiet_hours={})
        await show_limits(message, state)
        return
    match = QUIET_RE.match(text)
    try:
        if match is None:
            raise ScheduleError("format")
        start, end = (parse_hhmm(part.replace(".", ":")) for part in match.groups())
        if start == end:
            raise ScheduleError("empty")
    except ScheduleError:
        await message.answer(
            _("I could not read that. Send it as 22:00-08:00, or off."),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(
        quiet_hours={
            "start": f"{start[0]:02d}:{start[1]:02d}",
            "end": f"{end[0]:02d}:{end[1]:02d}",
        }
    )
    await show_limits(message, state)


@router.callback_query(RuleWizard.limits, RuleWizCb.filter(F.action == "budget"))
async def on_rule_budget(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(RuleWizard.budget)
    await query.answer()
    if (message := _message(query)) is not None:
        await message.answer(
            _(
                "How many AI tokens may this rule use per month? A post takes about 500–1500. "
                "Send a number, or <code>off</code> for no limit."
            ),
            reply_markup=_nav_only(),
        )


@router.message(RuleWizard.budget, F.text)
async def on_rule_budget_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().lower().replace(" ", "").replace("_", "")
    if text in OFF_WORDS:
        await state.update_data(monthly_token_budget=None)
        await show_limits(message, state)
        return
    if not text.isdigit() or not 1 <= int(text) <= 100_000_000:
        await message.answer(
            _("Send a whole number of tokens, for example 30000, or off."),
            reply_markup=_nav_only(),
        )
        return
    await state.update_data(monthly_token_budget=int(text))
    await show_limits(message, state)


@router.callback_query(RuleWizard.limits, RuleWizCb.filter(F.action == "limits_done"))
async def on_rule_limits_done(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    await query.answer()
    if (message := _message(query)) is not None:
        await show_confirm(message, state, session, db_user, clock)


# ---------- Back, and text where buttons are expected ----------


BACK: dict[State, str] = {
    RuleWizard.schedule_type: "name",
    RuleWizard.times: "schedule_type",
    RuleWizard.hours: "schedule_type",
    RuleWizard.cron: "schedule_type",
    RuleWizard.days: "times",
    RuleWizard.content_type: "schedule",
    RuleWizard.prompt: "content_type",
    RuleWizard.text: "content_type",
    RuleWizard.style: "prompt",
    RuleWizard.targets: "content",
    RuleWizard.mode: "targets",
    RuleWizard.policy: "mode",
    RuleWizard.confirm: "mode",
    RuleWizard.limits: "confirm",
    RuleWizard.quiet: "limits",
    RuleWizard.budget: "limits",
}


async def ask_step(
    step: str,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    generator: ContentGenerator,
) -> None:
    data = await state.get_data()
    if step == "schedule":
        # Back from the content step lands on the last question of the schedule part.
        step = {"daily": "days", "weekly": "days", "interval": "hours", "cron": "cron"}.get(
            str(data.get("stype")), "schedule_type"
        )
    if step == "content":
        step = "style" if data.get("ctype") == "ai" else "text"
    asks: dict[str, Callable[[], Awaitable[None]]] = {
        "name": lambda: ask_name(message, state),
        "schedule_type": lambda: ask_schedule_type(message, state),
        "times": lambda: ask_times(message, state),
        "days": lambda: ask_days(message, state),
        "hours": lambda: ask_hours(message, state),
        "cron": lambda: ask_cron(message, state),
        "content_type": lambda: ask_content_type(message, state, generator),
        "prompt": lambda: ask_prompt(message, state),
        "style": lambda: ask_style(message, state),
        "text": lambda: ask_text(message, state),
        "targets": lambda: ask_targets(message, state, session, user),
        "mode": lambda: ask_mode(message, state),
    }
    await asks[step]()


@router.callback_query(NavCb.filter(F.action == "back"), RuleWizard.name)
async def on_rule_back_from_name(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    await query.answer()
    if (message := _message(query)) is None:
        return
    if (await state.get_data()).get("single"):
        await show_confirm(message, state, session, db_user, clock)
        return
    await state.clear()
    await show_rules_list(message, session, db_user)


@router.callback_query(NavCb.filter(F.action == "back"), StateFilter(*BACK))
async def on_rule_back(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
    raw_state: str | None = None,
) -> None:
    current = raw_state or await state.get_state()
    step = next((step for st, step in BACK.items() if st.state == current), None)
    if step is None:
        # Not our dialog: let the user know instead of staying silent.
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    await query.answer()
    if (message := _message(query)) is None:
        return
    if step == "confirm":
        await show_confirm(message, state, session, db_user, clock)
        return
    if step == "limits":
        await show_limits(message, state)
        return
    if (await state.get_data()).get("single") and current != RuleWizard.days.state:
        await show_confirm(message, state, session, db_user, clock)
        return
    await ask_step(step, message, state, session, db_user, generator)


@router.message(StateFilter(RuleWizard))
async def on_rule_unexpected_message(message: Message) -> None:
    await message.answer(
        _("Use the buttons above, or send the text I asked for. /cancel leaves the dialog.")
    )


# ---------- approval of drafts ----------


async def send_approval_draft(
    bot: Bot, chat_id: int, draft: ApprovalDraft, timezone: str, *, flagged: bool = False
) -> None:
    """The header (rule, targets, time, what happens with no answer), then the exact draft
    with Approve / Edit / Regenerate / Skip."""
    content = draft.content
    platform = draft.posts[0][1].platform if draft.posts else "telegram"
    when = draft.publish_at
    policy = draft.rule.approval_policy if draft.rule else "skip"
    header = _("🕓 Rule <b>{name}</b> prepared a post for {targets}.").format(
        name=escape(draft.rule.name if draft.rule else "—"),
        targets=", ".join(target_label(t) for _p, t in draft.posts) or "—",
    )
    if when is not None:
        if policy == "publish":
            header += "\n" + _(
                "It will be published at {when}. If you do not answer by then, it is published "
                "as it is."
            ).format(when=local_moment(when, timezone))
        else:
            header += "\n" + _(
                "Approve it to publish at {when}. If you do not answer by then, it is skipped."
            ).format(when=local_moment(when, timezone))
    if flagged:
        header += "\n" + _("⚠️ Check it: it looks like a recent post.")
    await bot.send_message(chat_id, header)
    body = draft_html(platform, content.title, content.text)
    try:
        await bot.send_message(chat_id, body, reply_markup=approval_keyboard(content.id))
    except TelegramBadRequest:
        # Markup Telegram would not take must not hide the draft: show it as plain text.
        await bot.send_message(
            chat_id, escape(content.text), reply_markup=approval_keyboard(content.id)
        )


class RulesNotifier(TelegramNotifier):
    """TelegramNotifier whose approval request carries the exact draft and its buttons."""

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        content_ids: list[int] = []
        async with self.session_factory() as session:
            for post_id in post_ids:
                post = await PostRepository(session).get_for_owner(owner_id, post_id)
                if post is not None and post.content_id not in content_ids:
                    content_ids.append(post.content_id)
            owner = await UserRepository(session).get(owner_id)
        timezone = owner.timezone if owner else "UTC"
        language = await self._language(owner_id)
        for content_id in content_ids:
            async with self.session_factory() as session:
                draft = await ApprovalService(session, SystemClock()).load(owner_id, content_id)
            if draft is None:
                continue
            try:
                with self.i18n.context(), self.i18n.use_locale(language):
                    await send_approval_draft(self.bot, owner_id, draft, timezone)
            except TelegramAPIError as exc:
                log.warning("could not send a draft to user %s: %s", owner_id, type(exc).__name__)


def build_notifier(
    bot: Bot, session_factory: SessionFactory, i18n: I18n, admin_ids: Iterable[int] = ()
) -> RulesNotifier:
    return RulesNotifier(bot, session_factory, i18n, admin_ids)


async def _approval_target(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    service: ApprovalService,
    user: User,
) -> ApprovalDraft | None:
    draft = await service.load(user.id, callback_data.content_id)
    if draft is None or not draft.posts:
        await query.answer(_("This draft is not yours or no longer exists."), show_alert=True)
        return None
    if not draft.waiting:
        await query.answer(_("This draft was already decided."), show_alert=True)
        await _drop_buttons(query)
        return None
    return draft


async def _drop_buttons(query: CallbackQuery) -> None:
    if (message := _message(query)) is not None:
        with contextlib.suppress(TelegramAPIError):
            await message.edit_reply_markup(reply_markup=None)


@router.callback_query(ApprovalCb.filter(F.action == "approve"))
async def on_approve(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    waker: Waker,
) -> None:
    service = ApprovalService(session, clock, waker)
    draft = await _approval_target(query, callback_data, service, db_user)
    if draft is None:
        return
    moved = await service.approve(db_user.id, callback_data.content_id)
    if not moved:
        await query.answer(_("This draft was already decided."), show_alert=True)
        return
    when = max(draft.publish_at or clock.now(), clock.now())
    await query.answer(_("Approved"))
    await _drop_buttons(query)
    if (message := _message(query)) is not None:
        await message.answer(
            _("✅ Approved. It will be published at {when}.").format(
                when=local_moment(when, db_user.timezone)
            )
        )


@router.callback_query(ApprovalCb.filter(F.action == "skip"))
async def on_skip(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    service = ApprovalService(session, clock)
    if await _approval_target(query, callback_data, service, db_user) is None:
        return
    await service.skip(db_user.id, callback_data.content_id)
    await query.answer(_("Skipped"))
    await _drop_buttons(query)
    if (message := _message(query)) is not None:
        await message.answer(_("⏭ Skipped. This post will not be published."))


@router.callback_query(ApprovalCb.filter(F.action == "edit"))
async def on_approval_edit(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    service = ApprovalService(session, clock)
    if await _approval_target(query, callback_data, service, db_user) is None:
        return
    await state.set_state(ApprovalEdit.text)
    await state.update_data(approval_content_id=callback_data.content_id)
    await query.answer()
    if (message := _message(query)) is not None:
        await message.answer(
            _("Send the new text of the post. It stays a draft until you approve it."),
            reply_markup=_cancel_only(),
        )


def _cancel_only() -> InlineKeyboardMarkup:
    from handlers.keyboards import cancel_only

    return cancel_only()


@router.message(ApprovalEdit.text, F.text)
async def on_approval_new_text(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    content_id = int((await state.get_data()).get("approval_content_id") or 0)
    text = sanitize_telegram_html(message.html_text)
    try:
        draft = await ApprovalService(session, clock).replace_text(db_user.id, content_id, text)
    except RuleError as exc:
        await message.answer(rule_error_text(exc), reply_markup=_cancel_only())
        if exc.code != "does_not_fit":
            await state.clear()
        return
    await state.clear()
    assert message.bot is not None
    await send_approval_draft(message.bot, message.chat.id, draft, db_user.timezone)


@router.message(ApprovalEdit.text)
async def on_approval_new_text_unsupported(message: Message) -> None:
    await message.answer(_("Send the new text of the post."), reply_markup=_cancel_only())


@router.callback_query(ApprovalCb.filter(F.action == "regen"))
async def on_approval_regenerate(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    generator: ContentGenerator,
) -> None:
    service = ApprovalService(session, clock)
    found = await _approval_target(query, callback_data, service, db_user)
    if found is None:
        return
    if not generator.available or (found.rule and (found.rule.content_config or {}).get("text")):
        await query.answer(_("Only AI-written posts can be regenerated."), show_alert=True)
        return
    await query.answer(_("Generating a new version…"))
    message = _message(query)
    try:
        draft = await service.regenerate(db_user.id, callback_data.content_id, generator)
    except GenerationError as exc:
        if message is not None:
            await message.answer(
                _("The AI could not write a new version: {reason}").format(
                    reason=escape(exc.reason)
                )
            )
        return
    except RuleError as exc:
        if message is not None:
            await message.answer(rule_error_text(exc))
        return
    await _drop_buttons(query)
    if message is not None and message.bot is not None:
        await send_approval_draft(message.bot, message.chat.id, draft, db_user.timezone)


__all__ = [
    "RulesNotifier",
    "build_notifier",
    "describe_mode",
    "router",
    "send_approval_draft",
]
