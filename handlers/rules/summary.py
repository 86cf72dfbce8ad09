"""The rule dialog's summary and what is reached from it: Save, Try it now, edit one part
(SwitchTo the part's first window), and the limits (guardrails) with their two questions."""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from handlers.dialogs import translated
from handlers.failures import ai_quota_text
from handlers.rules.listing import send_dry_run, show_rule
from handlers.rules.states import (
    RuleDialog,
    change_draft,
    draft_of,
    services_of,
    user_of,
    wizard_of,
)
from handlers.rules.steps import back_to, cancel, unexpected
from handlers.rules.texts import describe_quiet, rule_error_text, rule_summary
from handlers.rules.wizard import answer_error
from services.rules import AiQuotaExceeded, RuleBounds, RuleError
from services.schedule import ScheduleError, parse_hhmm
from storage.rule_config import QuietHours

QUIET_RE = re.compile(r"^\s*(\d{1,2}[:.]\d{2})\s*[-–—]\s*(\d{1,2}[:.]\d{2})\s*$")
OFF_WORDS = {"off", "no", "none", "0", "-", "нет", "выкл", "без"}
MAX_MONTHLY_TOKENS = 100_000_000
DAILY_CAPS = (None, 1, 2, 3, 5, 10)


def cap_choices(bounds: RuleBounds | None) -> tuple[int | None, ...]:
    """What "Posts per day" cycles through: for a bounded user 1 up to the operator's
    maximum (the default among them) and never "no limit"; for an exempt admin the usual
    steps and "no limit"."""
    if bounds is None or not bounds.max_daily_cap:
        return DAILY_CAPS
    steps = {c for c in DAILY_CAPS if c is not None} | {20, 48}
    steps |= {bounds.default_daily_cap, bounds.max_daily_cap}
    return tuple(sorted(c for c in steps if 1 <= c <= bounds.max_daily_cap))


# ---------- the summary ----------


async def summary_data(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    draft = draft_of(dialog_manager)
    services = services_of(dialog_manager)
    targets = await services.targets.get_many(user_of(dialog_manager).id, draft.target_ids)
    try:
        runs = services.rules.next_runs(draft)
    except RuleError:
        runs = []
    return {"summary": rule_summary(draft, targets, runs), "new": not _editing(dialog_manager)}


def _editing(manager: DialogManager) -> bool:
    return wizard_of(manager).rule_id is not None


async def on_save(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    wizard, services, user = wizard_of(manager), services_of(manager), user_of(manager)
    try:
        if wizard.rule_id is not None:
            rule = await services.rules.update(user.id, wizard.rule_id, wizard.draft)
        else:
            rule = await services.rules.create(user.id, wizard.draft)
    except RuleError as exc:
        await callback.answer(rule_error_text(exc), show_alert=True)
        return
    await callback.answer(_("Saved"))
    await manager.done()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("✅ The rule is saved."))
        await show_rule(callback.message, rule, user)


async def on_try_it(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """A sample of the draft (nothing is saved or published), then the summary again below."""
    wizard, services = wizard_of(manager), services_of(manager)
    await callback.answer(_("Generating a sample…"))
    if not isinstance(callback.message, Message):
        return
    manager.show_mode = ShowMode.SEND
    try:
        result = await services.rules.dry_run(
            user_of(manager).id, wizard.draft, services.generator, rule_id=wizard.rule_id
        )
    except RuleError as exc:
        await callback.message.answer(rule_error_text(exc))
        return
    except AiQuotaExceeded as exc:
        await callback.message.answer(ai_quota_text(exc))
        return
    await send_dry_run(callback.message, result, wizard.draft.timezone)


def edit_part(label: str, widget_id: str, state: Any) -> SwitchTo:
    return SwitchTo(translated(label), id=widget_id, state=state)


summary_window = Window(
    translated("Check the new rule:", when="new"),
    translated("Edit the rule:", when="editing"),
    Format("\n{summary}"),
    Row(
        Button(translated("✅ Save the rule"), id="save", on_click=on_save),
        Button(translated("🧪 Try it now"), id="try", on_click=on_try_it),
    ),
    Row(
        edit_part("✏️ Name", "edit_name", RuleDialog.name),
        edit_part("✏️ Schedule", "edit_schedule", RuleDialog.schedule_type),
        edit_part("✏️ Content", "edit_content", RuleDialog.content_type),
    ),
    Row(
        edit_part("✏️ Targets", "edit_targets", RuleDialog.targets),
        edit_part("✏️ Publishing", "edit_mode", RuleDialog.mode),
        edit_part("🛡 Limits", "limits", RuleDialog.limits),
    ),
    unexpected(),
    Row(back_to(RuleDialog.mode, when=None), cancel()),
    state=RuleDialog.summary,
    getter=summary_data,
)


# ---------- limits (guardrails) ----------


async def limits_data(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    draft = draft_of(dialog_manager)
    return {
        "cap": draft.daily_cap or _("no limit"),
        "hours": describe_quiet(draft.quiet_hours),
        "budget": draft.monthly_token_budget or _("no limit"),
    }


async def on_cap(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    choices = cap_choices(services_of(manager).rules.bounds_for(user_of(manager).id))
    current = draft_of(manager).daily_cap
    index = choices.index(current) if current in choices else -1
    change_draft(manager, daily_cap=choices[(index + 1) % len(choices)])


def parse_quiet(text: str) -> QuietHours:
    """ "22:00-08:00" in the user's zone, or "off" for none."""
    if text.strip().lower() in OFF_WORDS:
        return QuietHours()
    match = QUIET_RE.match(text)
    if match is None:
        raise ScheduleError("format")
    start, end = (parse_hhmm(part.replace(".", ":")) for part in match.groups())
    if start == end:
        raise ScheduleError("empty")
    return QuietHours(start=f"{start[0]:02d}:{start[1]:02d}", end=f"{end[0]:02d}:{end[1]:02d}")


def parse_budget(text: str) -> int | None:
    """A whole number of AI tokens a month, or "off" for no limit."""
    value = text.strip().lower().replace(" ", "").replace("_", "")
    if value in OFF_WORDS:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_MONTHLY_TOKENS:
        raise ValueError("budget")
    return int(value)


async def on_quiet(
    _message: Message, _widget: ManagedTextInput[QuietHours], manager: DialogManager,
    quiet: QuietHours,
) -> None:  # fmt: skip
    change_draft(manager, quiet_hours=quiet)
    await manager.switch_to(RuleDialog.limits)


async def on_budget(
    _message: Message, _widget: ManagedTextInput[int | None], manager: DialogManager,
    budget: int | None,
) -> None:  # fmt: skip
    change_draft(manager, monthly_token_budget=budget)
    await manager.switch_to(RuleDialog.limits)


def quiet_error() -> str:
    return _("I could not read that. Send it as 22:00-08:00, or off.")


def budget_error() -> str:
    return _("Send a whole number of tokens, for example 30000, or off.")


limits_window = Window(
    translated(
        "Limits keep a rule polite: at most so many posts a day, no posts during quiet "
        "hours (they wait until the quiet hours end), and a monthly cap on AI tokens. "
        "Tap to change."
    ),
    Column(
        Button(translated("Posts per day: {cap}"), id="cap", on_click=on_cap),
        SwitchTo(translated("Quiet hours: {hours}"), id="quiet", state=RuleDialog.quiet),
        SwitchTo(
            translated("AI tokens per month: {budget}"), id="budget", state=RuleDialog.budget
        ),
        SwitchTo(translated("Done ➡️"), id="limits_done", state=RuleDialog.summary),
    ),
    unexpected(),
    Row(back_to(RuleDialog.summary, when=None), cancel()),
    state=RuleDialog.limits,
    getter=limits_data,
)

quiet_window = Window(
    translated(
        "Send quiet hours in your time zone as <code>22:00-08:00</code>, or "
        "<code>off</code> for none."
    ),
    TextInput(
        id="quiet_typed",
        type_factory=parse_quiet,
        on_success=on_quiet,
        on_error=answer_error(quiet_error),
    ),
    unexpected(),
    Row(back_to(RuleDialog.limits, when=None), cancel()),
    state=RuleDialog.quiet,
)

budget_window = Window(
    translated(
        "How many AI tokens may this rule use per month? A post takes about 500–1500. "
        "Send a number, or <code>off</code> for no limit."
    ),
    TextInput(
        id="budget_typed",
        type_factory=parse_budget,
        on_success=on_budget,
        on_error=answer_error(budget_error),
    ),
    unexpected(),
    Row(back_to(RuleDialog.limits, when=None), cancel()),
    state=RuleDialog.budget,
)
