"""The rule dialog's windows for its parts: name → schedule (kind → times → days | hours |
cron) → content (kind → topic → style | text) → targets → publishing (mode → policy).

Every window ends with Back and Cancel. While the rule is being built Back goes one step
up; once the summary was shown, Back (like a finished part) returns to the summary — except
from the days, which go back to the times of the same part."""

from __future__ import annotations

from html import escape
from operator import itemgetter
from typing import Any

from aiogram.enums import ContentType
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput, TextInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Cancel,
    Column,
    Group,
    Keyboard,
    Row,
    Select,
    Start,
    SwitchTo,
)
from aiogram_dialog.widgets.text import Format

from handlers.accounts import LinkChannel, LinkInstagram, LinkX
from handlers.dialogs import translated
from handlers.keyboards import main_menu
from handlers.render import target_button_text
from handlers.rules import wizard
from handlers.rules.listing import show_rules_list
from handlers.rules.states import RuleDialog, draft_of, services_of, user_of, wizard_of
from handlers.rules.texts import STYLE_KEYS, day_names, style_label
from storage.rule_config import CronSchedule, DailySchedule, IntervalSchedule, WeeklySchedule

INTERVAL_CHOICES = (1, 2, 3, 4, 6, 8, 12, 24)


# ---------- Back and Cancel ----------


async def flags(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    """What every window's Back needs to know (the dialog's common getter)."""
    state = wizard_of(dialog_manager)
    building = not state.from_summary
    schedule = state.draft.schedule
    ai = state.draft.content.kind == "ai"
    return {
        "building": building,
        "from_summary": state.from_summary,
        "editing": state.rule_id is not None,
        "back_to_kind": building and schedule is None,
        "back_to_days": building and isinstance(schedule, DailySchedule | WeeklySchedule),
        "back_to_hours": building and isinstance(schedule, IntervalSchedule),
        "back_to_cron": building and isinstance(schedule, CronSchedule),
        "back_to_style": building and ai,
        "back_to_text": building and not ai,
    }


async def on_cancelled(callback: CallbackQuery, _button: Any, _manager: DialogManager) -> None:
    await callback.answer(_("Cancelled"))
    if callback.message is not None:
        await callback.message.answer(_("Cancelled. Nothing was saved."), reply_markup=main_menu())


def cancel() -> Cancel:
    return Cancel(translated("✖️ Cancel"), id="cancel", on_click=on_cancelled)


def back_label() -> Format:
    return translated("⬅️ Back")


def back_to(state: State, when: str | None = "building", widget_id: str = "back") -> SwitchTo:
    return SwitchTo(back_label(), id=widget_id, state=state, when=when)


def nav(*back_while_building: Keyboard) -> Row:
    """Back (one step up while building, else to the summary) and Cancel."""
    return Row(
        *back_while_building,
        back_to(RuleDialog.summary, when="from_summary", widget_id="back_summary"),
        cancel(),
    )


def unexpected() -> MessageInput:
    """Text (or anything) where buttons are expected: say what the step wants."""
    return MessageInput(wizard.on_unexpected_message)


# ---------- name ----------


async def on_back_to_list(
    callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    await manager.done()
    if isinstance(callback.message, Message):
        await show_rules_list(callback.message, services_of(manager), user_of(manager))


async def name_data(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    name = draft_of(dialog_manager).name
    return {"name": escape(name), "has_name": bool(name)}


name_window = Window(
    translated("Step 1 of 5. What shall we call the rule? For example: Daily tech post."),
    translated("Now: <b>{name}</b>", when="has_name"),
    TextInput(
        id="name",
        type_factory=wizard.rule_name,
        on_success=wizard.on_name,
        on_error=wizard.answer_error(wizard.name_error),
    ),
    unexpected(),
    nav(Button(back_label(), id="back", on_click=on_back_to_list, when="building")),
    state=RuleDialog.name,
    getter=name_data,
)


# ---------- schedule ----------


async def kinds_data(**_kwargs: Any) -> dict[str, Any]:
    kinds = [
        ("daily", _("📅 Daily")),
        ("weekly", _("🗓 Weekly")),
        ("interval", _("🔁 Every N hours")),
        ("cron", _("⌨️ Cron")),
    ]
    return {"kinds": kinds}


schedule_type_window = Window(
    translated("Step 2 of 5. When shall the rule post?"),
    Group(
        Select(
            Format("{item[1]}"),
            id="kind",
            item_id_getter=itemgetter(0),
            items="kinds",
            on_click=wizard.on_schedule_kind,
        ),
        width=2,
    ),
    unexpected(),
    nav(Back(back_label(), id="back", when="building")),
    state=RuleDialog.schedule_type,
    getter=kinds_data,
)

times_window = Window(
    translated(
        "At what time? Send one or more times in your time zone, for example "
        "<code>12:05</code> or <code>09:00, 18:30</code>."
    ),
    TextInput(
        id="times",
        type_factory=wizard.parse_times,
        on_success=wizard.on_times,
        on_error=wizard.answer_error(wizard.times_error),
    ),
    unexpected(),
    nav(back_to(RuleDialog.schedule_type)),
    state=RuleDialog.times,
)


async def days_data(**_kwargs: Any) -> dict[str, Any]:
    return {"days": list(enumerate(day_names(), 1))}


days_window = Window(
    translated("On which days? Tap to toggle, then Done."),
    Group(
        wizard.DraftMultiselect(
            Format("✅ {item[1]}"),
            Format("▫️ {item[1]}"),
            id="days",
            items="days",
            read=wizard.chosen_days,
            write=wizard.with_days,
        ),
        width=4,
    ),
    Button(translated("Done ➡️"), id="days_done", on_click=wizard.on_days_done),
    unexpected(),
    Row(Back(back_label(), id="back"), cancel()),  # the times, of the same part
    state=RuleDialog.days,
    getter=days_data,
)

hours_window = Window(
    translated("Every how many hours? Tap a number or send one (1 to 168)."),
    Group(
        Select(
            Format("{item}"),
            id="hours",
            item_id_getter=str,
            items=INTERVAL_CHOICES,
            type_factory=int,
            on_click=wizard.on_hours_button,
        ),
        width=4,
    ),
    TextInput(
        id="hours_typed",
        type_factory=wizard.interval_hours,
        on_success=wizard.on_hours_typed,
        on_error=wizard.answer_error(wizard.hours_error),
    ),
    unexpected(),
    nav(back_to(RuleDialog.schedule_type)),
    state=RuleDialog.hours,
)

cron_window = Window(
    translated(
        "Send a cron expression with five fields: minute hour day month weekday, in your "
        "time zone. For example <code>5 12 * * mon-fri</code>."
    ),
    TextInput(
        id="cron",
        type_factory=wizard.cron_expression,
        on_success=wizard.on_cron,
        on_error=wizard.on_cron_error,
    ),
    unexpected(),
    nav(back_to(RuleDialog.schedule_type)),
    state=RuleDialog.cron,
)


# ---------- content ----------


async def content_data(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    available = services_of(dialog_manager).generator.available
    return {"ai_available": available, "no_ai": not available}


content_type_window = Window(
    translated("Step 3 of 5. What shall the rule post?"),
    translated(
        "AI writing is not configured on this bot (OPENAI_API_KEY), so a rule can post a "
        "fixed text.",
        when="no_ai",
    ),
    Row(
        Button(
            translated("🤖 AI writes it"),
            id="ai",
            on_click=wizard.on_content_ai,
            when="ai_available",
        ),
        Button(translated("📝 Fixed text"), id="text", on_click=wizard.on_content_text),
    ),
    unexpected(),
    nav(
        back_to(RuleDialog.schedule_type, when="back_to_kind", widget_id="back_kind"),
        back_to(RuleDialog.days, when="back_to_days", widget_id="back_days"),
        back_to(RuleDialog.hours, when="back_to_hours", widget_id="back_hours"),
        back_to(RuleDialog.cron, when="back_to_cron", widget_id="back_cron"),
    ),
    state=RuleDialog.content_type,
    getter=content_data,
)

prompt_window = Window(
    translated(
        "What shall the AI write about? Send the topic or an instruction, for example: "
        "<i>Создай пост о технологиях</i> or <i>One practical Python tip with an example</i>."
    ),
    TextInput(
        id="topic",
        type_factory=wizard.topic,
        on_success=wizard.on_topic,
        on_error=wizard.answer_error(wizard.topic_error),
    ),
    unexpected(),
    nav(back_to(RuleDialog.content_type)),
    state=RuleDialog.prompt,
)


async def styles_data(**_kwargs: Any) -> dict[str, Any]:
    return {"styles": [(key, style_label(key)) for key in STYLE_KEYS]}


style_window = Window(
    translated("Which style? Tap one, send your own description, or skip."),
    Group(
        Select(
            Format("{item[1]}"),
            id="style",
            item_id_getter=itemgetter(0),
            items="styles",
            on_click=wizard.on_style_button,
        ),
        width=3,
    ),
    Button(translated("Skip ➡️"), id="style_skip", on_click=wizard.on_style_skip),
    TextInput(
        id="style_typed",
        type_factory=wizard.own_style,
        on_success=wizard.on_style_typed,
        on_error=wizard.answer_error(wizard.style_error),
    ),
    unexpected(),
    nav(Back(back_label(), id="back", when="building")),  # the topic
    state=RuleDialog.style,
    getter=styles_data,
)

text_window = Window(
    translated("Send the text the rule will post (formatting is kept)."),
    translated(
        "Each post must differ from the last: <code>{{date}}</code> in the text becomes the "
        "date of the post, <code>{{time}}</code> its time (needed when the rule posts more "
        "than once a day)."
    ),
    MessageInput(wizard.on_fixed_text, content_types=[ContentType.TEXT]),
    unexpected(),
    nav(back_to(RuleDialog.content_type)),
    state=RuleDialog.text,
)


# ---------- targets and publishing ----------


async def targets_data(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    targets = await services_of(dialog_manager).targets.list(user_of(dialog_manager).id)
    labels = [(t.id, target_button_text(t)) for t in targets]
    return {"targets": labels, "has_targets": bool(labels), "no_targets": not labels}


targets_window = Window(
    translated(
        "Step 4 of 5. Where shall it publish? Tap to choose, then Done.", when="has_targets"
    ),
    translated(
        "You have no linked channels yet. Link one here: it is chosen for the rule at once.",
        when="no_targets",
    ),
    Column(
        wizard.DraftMultiselect(
            Format("✅ {item[1]}"),
            Format("▫️ {item[1]}"),
            id="targets",
            items="targets",
            read=lambda draft: draft.target_ids,
            write=wizard.with_targets,
        ),
    ),
    Button(translated("Done ➡️"), id="targets_done", on_click=wizard.on_targets_done),
    # Linking is the accounts feature's dialog, started on top of this one: it comes back
    # here with the new target chosen (Dialog.on_process_result: wizard.on_linked).
    Row(
        Start(translated("➕ Link a channel"), id="link_channel", state=LinkChannel.waiting),
        Start(translated("➕ Link X account"), id="link_x", state=LinkX.pin),
    ),
    Start(
        translated("➕ Link Instagram account"),
        id="link_instagram",
        state=LinkInstagram.username,
    ),
    unexpected(),
    nav(
        back_to(RuleDialog.style, when="back_to_style", widget_id="back_style"),
        back_to(RuleDialog.text, when="back_to_text", widget_id="back_text"),
    ),
    state=RuleDialog.targets,
    getter=targets_data,
)

mode_window = Window(
    translated("Step 5 of 5. Publish each post directly, or send it to you for approval first?"),
    Column(
        Button(translated("🚀 Publish directly"), id="direct", on_click=wizard.on_mode_direct),
        Button(
            translated("👀 Send me each draft to approve"),
            id="approval",
            on_click=wizard.on_mode_approval,
        ),
    ),
    unexpected(),
    nav(back_to(RuleDialog.targets)),
    state=RuleDialog.mode,
)

policy_window = Window(
    translated(
        "A draft waits for your answer until its publish time (an hour after the rule "
        "runs). If you have not answered by then:"
    ),
    Column(
        Button(translated("⏭ Skip the post"), id="skip", on_click=wizard.on_policy_skip),
        Button(
            translated("🚀 Publish it anyway"), id="publish", on_click=wizard.on_policy_publish
        ),
    ),
    unexpected(),
    Row(back_to(RuleDialog.mode, when=None), cancel()),  # the mode, of the same part
    state=RuleDialog.policy,
)
