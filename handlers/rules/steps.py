"""The rule dialog's step table: each step's question (`ASK`), where Back leads from each
state (`BACK`), and the summary the dialog returns to when one part was edited.

Name → schedule (type → times → days | hours | cron) → content (type → topic → style |
text) → targets → publishing (mode → policy) → summary (→ limits)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from html import escape

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.rules.keyboards import (
    confirm_rule_keyboard,
    content_type_keyboard,
    days_keyboard,
    hours_keyboard,
    limits_keyboard,
    mode_keyboard,
    nav_only,
    policy_keyboard,
    rule_targets_keyboard,
    schedule_type_keyboard,
    style_keyboard,
)
from handlers.rules.states import RuleWizard, WizardData, load_wizard, save_wizard
from handlers.rules.texts import dialog_expired, rule_summary
from services.container import Services
from services.rules import RuleDraft, RuleError
from storage.models import User
from storage.rule_config import CronSchedule, IntervalSchedule


class Step(StrEnum):
    NAME = "name"
    SCHEDULE_TYPE = "schedule_type"
    TIMES = "times"
    DAYS = "days"
    HOURS = "hours"
    CRON = "cron"
    CONTENT_TYPE = "content_type"
    PROMPT = "prompt"
    STYLE = "style"
    TEXT = "text"
    TARGETS = "targets"
    MODE = "mode"
    POLICY = "policy"
    CONFIRM = "confirm"
    LIMITS = "limits"


@dataclass(frozen=True)
class StepContext:
    """Everything a step's question needs: where to ask, the dialog state, and for whom."""

    message: Message
    state: FSMContext
    services: Services
    user: User

    async def wizard(self) -> WizardData:
        return await load_wizard(self.state) or WizardData()


def message_of(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


async def expired(event: Message | CallbackQuery, state: FSMContext) -> None:
    """The dialog's data is not this dialog's (a restart mid-dialog, or forged): start over."""
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer(dialog_expired(), show_alert=True)
    else:
        await event.answer(dialog_expired())


async def ask_name(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.name)
    draft = (await ctx.wizard()).draft
    hint = ""
    if draft.name:
        hint = "\n" + _("Now: <b>{name}</b>").format(name=escape(draft.name))
    await ctx.message.answer(
        _("Step 1 of 5. What shall we call the rule? For example: Daily tech post.") + hint,
        reply_markup=nav_only(),
    )


async def ask_schedule_type(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.schedule_type)
    await ctx.message.answer(
        _("Step 2 of 5. When shall the rule post?"), reply_markup=schedule_type_keyboard()
    )


async def ask_times(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.times)
    await ctx.message.answer(
        _(
            "At what time? Send one or more times in your time zone, for example "
            "<code>12:05</code> or <code>09:00, 18:30</code>."
        ),
        reply_markup=nav_only(),
    )


def chosen_days(draft: RuleDraft) -> set[int]:
    schedule = draft.schedule
    if schedule is None or isinstance(schedule, IntervalSchedule | CronSchedule):
        return set()
    return set(schedule.days_of_week)


async def ask_days(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.days)
    chosen = chosen_days((await ctx.wizard()).draft)
    await ctx.message.answer(
        _("On which days? Tap to toggle, then Done."), reply_markup=days_keyboard(chosen)
    )


async def ask_hours(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.hours)
    await ctx.message.answer(
        _("Every how many hours? Tap a number or send one (1 to 168)."),
        reply_markup=hours_keyboard(),
    )


async def ask_cron(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.cron)
    await ctx.message.answer(
        _(
            "Send a cron expression with five fields: minute hour day month weekday, in your "
            "time zone. For example <code>5 12 * * mon-fri</code>."
        ),
        reply_markup=nav_only(),
    )


async def ask_content_type(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.content_type)
    available = ctx.services.generator.available
    text = _("Step 3 of 5. What shall the rule post?")
    if not available:
        text += "\n" + _(
            "AI writing is not configured on this bot (OPENAI_API_KEY), so a rule can post a "
            "fixed text."
        )
    await ctx.message.answer(text, reply_markup=content_type_keyboard(available))


async def ask_prompt(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.prompt)
    await ctx.message.answer(
        _(
            "What shall the AI write about? Send the topic or an instruction, for example: "
            "<i>Создай пост о технологиях</i> or <i>One practical Python tip with an example</i>."
        ),
        reply_markup=nav_only(),
    )


async def ask_style(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.style)
    await ctx.message.answer(
        _("Which style? Tap one, send your own description, or skip."),
        reply_markup=style_keyboard(),
    )


async def ask_text(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.text)
    await ctx.message.answer(
        _("Send the text the rule will post (formatting is kept)."), reply_markup=nav_only()
    )


async def ask_targets(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.targets)
    targets = await ctx.services.targets.list(ctx.user.id)
    chosen = set((await ctx.wizard()).draft.target_ids)
    if not targets:
        await ctx.message.answer(
            _("You have no linked channels yet. Link one with /channels, then create the rule."),
            reply_markup=rule_targets_keyboard([], set()),
        )
        return
    await ctx.message.answer(
        _("Step 4 of 5. Where shall it publish? Tap to choose, then Done."),
        reply_markup=rule_targets_keyboard(targets, chosen),
    )


async def ask_mode(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.mode)
    await ctx.message.answer(
        _("Step 5 of 5. Publish each post directly, or send it to you for approval first?"),
        reply_markup=mode_keyboard(),
    )


async def ask_policy(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.policy)
    await ctx.message.answer(
        _(
            "A draft waits for your answer until its publish time (an hour after the rule "
            "runs). If you have not answered by then:"
        ),
        reply_markup=policy_keyboard(),
    )


async def show_confirm(ctx: StepContext) -> None:
    """The summary with the next five runs; every part can be edited from here."""
    await ctx.state.set_state(RuleWizard.confirm)
    wizard = (await ctx.wizard()).model_copy(update={"single": False})
    await save_wizard(ctx.state, wizard)
    draft = wizard.draft
    targets = await ctx.services.targets.get_many(ctx.user.id, draft.target_ids)
    try:
        runs = ctx.services.rules.next_runs(draft)
    except RuleError:
        runs = []
    title = _("Edit the rule:") if wizard.rule_id else _("Check the new rule:")
    await ctx.message.answer(
        title + "\n\n" + rule_summary(draft, targets, runs), reply_markup=confirm_rule_keyboard()
    )


async def show_limits(ctx: StepContext) -> None:
    await ctx.state.set_state(RuleWizard.limits)
    await ctx.message.answer(
        _(
            "Limits keep a rule polite: at most so many posts a day, no posts during quiet "
            "hours (they wait until the quiet hours end), and a monthly cap on AI tokens. "
            "Tap to change."
        ),
        reply_markup=limits_keyboard((await ctx.wizard()).draft),
    )


ASK: dict[Step, Callable[[StepContext], Awaitable[None]]] = {
    Step.NAME: ask_name,
    Step.SCHEDULE_TYPE: ask_schedule_type,
    Step.TIMES: ask_times,
    Step.DAYS: ask_days,
    Step.HOURS: ask_hours,
    Step.CRON: ask_cron,
    Step.CONTENT_TYPE: ask_content_type,
    Step.PROMPT: ask_prompt,
    Step.STYLE: ask_style,
    Step.TEXT: ask_text,
    Step.TARGETS: ask_targets,
    Step.MODE: ask_mode,
    Step.POLICY: ask_policy,
    Step.CONFIRM: show_confirm,
    Step.LIMITS: show_limits,
}


def last_schedule_step(draft: RuleDraft) -> Step:
    """Back from the content part lands on the last question of the schedule part."""
    schedule = draft.schedule
    if schedule is None:
        return Step.SCHEDULE_TYPE
    if isinstance(schedule, IntervalSchedule):
        return Step.HOURS
    if isinstance(schedule, CronSchedule):
        return Step.CRON
    return Step.DAYS


def last_content_step(draft: RuleDraft) -> Step:
    return Step.STYLE if draft.content.kind == "ai" else Step.TEXT


def _fixed(step: Step) -> Callable[[RuleDraft], Step]:
    return lambda _draft: step


# Where Back leads from each state (the name step's Back leaves the dialog: see router).
BACK: dict[State, Callable[[RuleDraft], Step]] = {
    RuleWizard.schedule_type: _fixed(Step.NAME),
    RuleWizard.times: _fixed(Step.SCHEDULE_TYPE),
    RuleWizard.hours: _fixed(Step.SCHEDULE_TYPE),
    RuleWizard.cron: _fixed(Step.SCHEDULE_TYPE),
    RuleWizard.days: _fixed(Step.TIMES),
    RuleWizard.content_type: last_schedule_step,
    RuleWizard.prompt: _fixed(Step.CONTENT_TYPE),
    RuleWizard.text: _fixed(Step.CONTENT_TYPE),
    RuleWizard.style: _fixed(Step.PROMPT),
    RuleWizard.targets: last_content_step,
    RuleWizard.mode: _fixed(Step.TARGETS),
    RuleWizard.policy: _fixed(Step.MODE),
    RuleWizard.confirm: _fixed(Step.MODE),
    RuleWizard.limits: _fixed(Step.CONFIRM),
    RuleWizard.quiet: _fixed(Step.LIMITS),
    RuleWizard.budget: _fixed(Step.LIMITS),
}


async def section_done(ctx: StepContext, following: Step) -> None:
    """After a part of the dialog: the next part, or the summary when editing one part."""
    if (await ctx.wizard()).single:
        await show_confirm(ctx)
    else:
        await ASK[following](ctx)
