"""The rule dialog's answers, step by step: name, schedule, content, targets, publishing.
Each handler checks the answer, stores it in the typed draft (`WizardData`) and asks the
next step from the step table (handlers/rules/steps.py)."""

from __future__ import annotations

import re
from html import escape

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from content.fitting import TELEGRAM_TEXT_LIMIT, fit_for_platform
from handlers.rules.callbacks import RuleTargetCb, RuleWizCb
from handlers.rules.keyboards import days_keyboard, hours_keyboard, nav_only, rule_targets_keyboard
from handlers.rules.states import WizardData, load_wizard, save_wizard
from handlers.rules.steps import (
    ASK,
    Step,
    StepContext,
    chosen_days,
    expired,
    message_of,
    section_done,
    show_confirm,
)
from handlers.rules.texts import PROMPT_LIMIT, STYLE_PROMPTS, stale_button
from services.container import Services
from services.rules import NAME_LIMIT, RuleDraft
from services.schedule import Schedule, ScheduleError, parse_hhmm, validate_schedule
from storage.models import User
from storage.rule_config import (
    ALL_DAYS,
    SCHEDULE_KINDS,
    CronSchedule,
    DailySchedule,
    IntervalSchedule,
    ScheduleKind,
    ScheduleSpec,
    WeeklySchedule,
)

_TIME_SPLIT = re.compile(r"[,;\s]+")
MAX_TIMES = 24
MAX_INTERVAL_HOURS = 168


def with_draft(wizard: WizardData, **changes: object) -> WizardData:
    return wizard.model_copy(update={"draft": wizard.draft.model_copy(update=changes)})


async def _wizard(event: Message | CallbackQuery, state: FSMContext) -> WizardData | None:
    wizard = await load_wizard(state)
    if wizard is None:
        await expired(event, state)
    return wizard


def _ctx(message: Message, state: FSMContext, services: Services, user: User) -> StepContext:
    return StepContext(message, state, services, user)


# ---------- name ----------


async def on_rule_name(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(message, state)) is None:
        return
    name = (message.text or "").strip()
    if not name or len(name) > NAME_LIMIT or name.startswith("/"):
        await message.answer(
            _("The name must be 1 to {limit} characters.").format(limit=NAME_LIMIT),
            reply_markup=nav_only(),
        )
        return
    await save_wizard(state, with_draft(wizard, name=name))
    await section_done(_ctx(message, state, services, db_user), Step.SCHEDULE_TYPE)


# ---------- schedule ----------


def schedule_of_kind(previous: ScheduleSpec | None, kind: ScheduleKind) -> ScheduleSpec:
    """The schedule after choosing `kind`, keeping what still applies of the previous one."""
    if previous is not None and previous.kind == kind and kind in ("interval", "cron"):
        return previous  # its values (a start date of an older rule too) stay as they are
    window = {"approval_window_minutes": previous.approval_window_minutes} if previous else {}
    if kind == "interval":
        return IntervalSchedule(**window)
    if kind == "cron":
        return CronSchedule(**window)
    timed = previous if isinstance(previous, DailySchedule | WeeklySchedule) else None
    times = timed.times if timed else ()
    if kind == "daily":
        days = (timed.days_of_week if timed else ()) or ALL_DAYS
        return DailySchedule(times=times, days_of_week=days, **window)
    days = timed.days_of_week if isinstance(timed, WeeklySchedule) else ()
    return WeeklySchedule(times=times, days_of_week=days, **window)


async def on_schedule_type(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    kind = next((k for k in SCHEDULE_KINDS if k == callback_data.value), None)
    if kind is None:
        await query.answer(stale_button(), show_alert=True)
        return
    if (wizard := await _wizard(query, state)) is None:
        return
    await save_wizard(
        state, with_draft(wizard, schedule=schedule_of_kind(wizard.draft.schedule, kind))
    )
    await query.answer()
    if (message := message_of(query)) is None:
        return
    following = {"interval": Step.HOURS, "cron": Step.CRON}.get(kind, Step.TIMES)
    await ASK[following](_ctx(message, state, services, db_user))


def parse_times(text: str) -> tuple[str, ...]:
    times: set[tuple[int, int]] = set()
    for part in _TIME_SPLIT.split(text.strip()):
        if part:
            times.add(parse_hhmm(part.replace(".", ":")))
    if not times or len(times) > MAX_TIMES:
        raise ScheduleError("no times")
    return tuple(f"{h:02d}:{m:02d}" for h, m in sorted(times))


async def on_rule_times(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(message, state)) is None:
        return
    schedule = wizard.draft.schedule
    if not isinstance(schedule, DailySchedule | WeeklySchedule):
        await expired(message, state)
        return
    try:
        times = parse_times(message.text or "")
    except ScheduleError:
        await message.answer(
            _("I could not read that. Send times as HH:MM, for example 09:00, 18:30."),
            reply_markup=nav_only(),
        )
        return
    await save_wizard(
        state, with_draft(wizard, schedule=schedule.model_copy(update={"times": times}))
    )
    await ASK[Step.DAYS](_ctx(message, state, services, db_user))


async def on_rule_day_toggle(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if not callback_data.value.isdigit() or int(callback_data.value) not in ALL_DAYS:
        await query.answer()
        return
    if (wizard := await _wizard(query, state)) is None:
        return
    schedule = wizard.draft.schedule
    if not isinstance(schedule, DailySchedule | WeeklySchedule):
        await expired(query, state)
        return
    chosen = chosen_days(wizard.draft) ^ {int(callback_data.value)}
    days = tuple(sorted(chosen))
    await save_wizard(
        state, with_draft(wizard, schedule=schedule.model_copy(update={"days_of_week": days}))
    )
    await query.answer()
    if (message := message_of(query)) is not None:
        try:
            await message.edit_reply_markup(reply_markup=days_keyboard(chosen))
        except TelegramBadRequest:
            await ASK[Step.DAYS](_ctx(message, state, services, db_user))


async def on_rule_days_done(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(query, state)) is None:
        return
    if not chosen_days(wizard.draft):
        await query.answer(_("Choose at least one day."), show_alert=True)
        return
    await query.answer()
    if (message := message_of(query)) is not None:
        await section_done(_ctx(message, state, services, db_user), Step.CONTENT_TYPE)


async def _set_hours(ctx: StepContext, value: str) -> None:
    if (wizard := await _wizard(ctx.message, ctx.state)) is None:
        return
    value = value.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_INTERVAL_HOURS:
        await ctx.message.answer(
            _("Send a whole number of hours from 1 to 168."), reply_markup=hours_keyboard()
        )
        return
    previous = wizard.draft.schedule
    schedule = schedule_of_kind(previous, "interval").model_copy(
        update={"hours": float(value), "minutes": 0.0}
    )
    await save_wizard(ctx.state, with_draft(wizard, schedule=schedule))
    await section_done(ctx, Step.CONTENT_TYPE)


async def on_rule_hours_button(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    await query.answer()
    if (message := message_of(query)) is not None:
        await _set_hours(_ctx(message, state, services, db_user), callback_data.value)


async def on_rule_hours_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    await _set_hours(_ctx(message, state, services, db_user), message.text or "")


async def on_rule_cron(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(message, state)) is None:
        return
    expression = " ".join((message.text or "").split())
    schedule = schedule_of_kind(wizard.draft.schedule, "cron").model_copy(
        update={"expression": expression}
    )
    try:
        validate_schedule(Schedule.of(schedule, wizard.draft.timezone), services.clock.now())
    except ScheduleError as exc:
        await message.answer(
            _("That cron expression does not work: {error}").format(error=escape(str(exc))),
            reply_markup=nav_only(),
        )
        return
    await save_wizard(state, with_draft(wizard, schedule=schedule))
    await section_done(_ctx(message, state, services, db_user), Step.CONTENT_TYPE)


# ---------- content ----------


async def on_rule_content_type(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    use_ai = callback_data.value == "ai"
    if use_ai and not services.generator.available:
        await query.answer(
            _("AI writing is not configured on this bot (OPENAI_API_KEY)."), show_alert=True
        )
        return
    if (wizard := await _wizard(query, state)) is None:
        return
    content = wizard.draft.content.model_copy(update={"kind": "ai" if use_ai else "text"})
    await save_wizard(state, with_draft(wizard, content=content))
    await query.answer()
    if (message := message_of(query)) is not None:
        await ASK[Step.PROMPT if use_ai else Step.TEXT](_ctx(message, state, services, db_user))


async def on_rule_prompt(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(message, state)) is None:
        return
    topic = (message.text or "").strip()
    if not topic or len(topic) > PROMPT_LIMIT or topic.startswith("/"):
        await message.answer(
            _("Send the topic as text, up to {limit} characters.").format(limit=PROMPT_LIMIT),
            reply_markup=nav_only(),
        )
        return
    content = wizard.draft.content.model_copy(
        update={"kind": "ai", "description": topic, "text": None}
    )
    await save_wizard(state, with_draft(wizard, content=content))
    await ASK[Step.STYLE](_ctx(message, state, services, db_user))


async def _set_style(ctx: StepContext, style: str | None, key: str | None) -> None:
    if (wizard := await _wizard(ctx.message, ctx.state)) is None:
        return
    content = wizard.draft.content.model_copy(update={"style": style, "style_key": key})
    await save_wizard(ctx.state, with_draft(wizard, content=content))
    await section_done(ctx, Step.TARGETS)


async def on_rule_style_button(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    await query.answer()
    if (message := message_of(query)) is None:
        return
    key = callback_data.value
    ctx = _ctx(message, state, services, db_user)
    if key in STYLE_PROMPTS:
        await _set_style(ctx, STYLE_PROMPTS[key], key)
    else:
        await _set_style(ctx, None, None)


async def on_rule_style_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    ctx = _ctx(message, state, services, db_user)
    style = (message.text or "").strip()
    if not style or style.startswith("/"):
        await ASK[Step.STYLE](ctx)
        return
    await _set_style(ctx, style[:300], None)


async def on_rule_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(message, state)) is None:
        return
    text = message.html_text
    if not fit_for_platform("telegram", text).ok:
        await message.answer(
            _("The text must be 1 to {limit} characters.").format(limit=TELEGRAM_TEXT_LIMIT),
            reply_markup=nav_only(),
        )
        return
    content = wizard.draft.content.model_copy(
        update={"kind": "text", "text": text, "description": "", "style": None, "style_key": None}
    )
    await save_wizard(state, with_draft(wizard, content=content))
    await section_done(_ctx(message, state, services, db_user), Step.TARGETS)


# ---------- targets and publishing ----------


async def on_rule_target_toggle(
    query: CallbackQuery,
    callback_data: RuleTargetCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    target = await services.targets.get(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    if (wizard := await _wizard(query, state)) is None:
        return
    chosen = set(wizard.draft.target_ids) ^ {target.id}
    await save_wizard(state, with_draft(wizard, target_ids=tuple(sorted(chosen))))
    await query.answer()
    if (message := message_of(query)) is not None:
        targets = await services.targets.list(db_user.id)
        try:
            await message.edit_reply_markup(reply_markup=rule_targets_keyboard(targets, chosen))
        except TelegramBadRequest:
            await ASK[Step.TARGETS](_ctx(message, state, services, db_user))


async def on_rule_targets_done(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await _wizard(query, state)) is None:
        return
    owned = await services.targets.get_many(db_user.id, wizard.draft.target_ids)
    if not owned:
        await query.answer(_("Choose at least one of your channels."), show_alert=True)
        return
    await save_wizard(state, with_draft(wizard, target_ids=tuple(t.id for t in owned)))
    await query.answer()
    if (message := message_of(query)) is not None:
        await section_done(_ctx(message, state, services, db_user), Step.MODE)


async def on_rule_mode(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if (wizard := await _wizard(query, state)) is None:
        return
    approval = callback_data.value == "approval"
    await save_wizard(state, with_draft(wizard, approval_required=approval))
    await query.answer()
    if (message := message_of(query)) is not None:
        await ASK[Step.POLICY if approval else Step.CONFIRM](
            _ctx(message, state, services, db_user)
        )


async def on_rule_policy(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if (wizard := await _wizard(query, state)) is None:
        return
    policy = "publish" if callback_data.value == "publish" else "skip"
    await save_wizard(state, with_draft(wizard, approval_policy=policy))
    await query.answer()
    if (message := message_of(query)) is not None:
        await show_confirm(_ctx(message, state, services, db_user))


def new_wizard(user: User) -> WizardData:
    return WizardData(draft=RuleDraft(timezone=user.timezone))
