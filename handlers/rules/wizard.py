"""The rule dialog's answers, part by part: what a typed answer must look like (the
`TextInput` type factories: a ValueError keeps the step and says why), and what each answer
or button does to the draft (`WizardData` in dialog_data) and where the dialog goes next.

A part (name, schedule, content, targets, publishing) ends with `part_done`: the next part
while the rule is being built, the summary once it has been shown (editing one part)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from html import escape
from operator import itemgetter
from typing import Any

from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import ManagedTextInput, MessageInput
from aiogram_dialog.widgets.kbd import Button, Multiselect
from aiogram_dialog.widgets.text import Text as TextWidget

from content.fitting import TELEGRAM_TEXT_LIMIT, fit_for_platform
from handlers.render import message_html
from handlers.rules.states import (
    RuleDialog,
    change_draft,
    draft_of,
    save_draft,
    save_wizard,
    services_of,
    user_of,
    wizard_of,
)
from handlers.rules.texts import (
    PROMPT_LIMIT,
    STYLE_PROMPTS,
    fixed_text_repeats_text,
    too_frequent_text,
)
from services.rules import NAME_LIMIT, RuleDraft, RuleError
from services.schedule import (
    Schedule,
    ScheduleError,
    build_trigger,
    parse_hhmm,
    validate_schedule,
)
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
STYLE_LIMIT = 300


# ---------- where the dialog goes after a part ----------


async def show_summary(manager: DialogManager) -> None:
    """The summary; from now on a finished part (and Back) returns to it."""
    save_wizard(manager, wizard_of(manager).model_copy(update={"from_summary": True}))
    await manager.switch_to(RuleDialog.summary)


async def part_done(manager: DialogManager, following: State) -> None:
    if wizard_of(manager).from_summary:
        await show_summary(manager)
    else:
        await manager.switch_to(following)


# ---------- validators (TextInput type factories: ValueError = try again) ----------


def rule_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > NAME_LIMIT or name.startswith("/"):
        raise ValueError("name")
    return name


def parse_times(text: str) -> tuple[str, ...]:
    times: set[tuple[int, int]] = set()
    for part in _TIME_SPLIT.split(text.strip()):
        if part:
            times.add(parse_hhmm(part.replace(".", ":")))
    if not times or len(times) > MAX_TIMES:
        raise ScheduleError("no times")
    return tuple(f"{h:02d}:{m:02d}" for h, m in sorted(times))


def interval_hours(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_INTERVAL_HOURS:
        raise ValueError("hours")
    return int(value)


def cron_expression(text: str) -> str:
    """Five fields APScheduler reads (the zone and "does it ever fire" are checked with the
    draft's zone once the expression reads)."""
    expression = " ".join(text.split())
    build_trigger(Schedule.of(CronSchedule(expression=expression), "UTC"))
    return expression


def topic(text: str) -> str:
    value = text.strip()
    if not value or len(value) > PROMPT_LIMIT or value.startswith("/"):
        raise ValueError("topic")
    return value


def own_style(text: str) -> str:
    value = text.strip()
    if not value or value.startswith("/"):
        raise ValueError("style")
    return value[:STYLE_LIMIT]


def answer_error(say: Callable[[], str]) -> Callable[..., Any]:
    """An `on_error` for a TextInput: say what is wrong; the step stays and is shown again."""

    async def on_error(
        message: Message, _widget: ManagedTextInput[Any], _manager: DialogManager, _e: ValueError
    ) -> None:
        await message.answer(say())

    return on_error


def name_error() -> str:
    return _("The name must be 1 to {limit} characters.").format(limit=NAME_LIMIT)


def times_error() -> str:
    return _("I could not read that. Send times as HH:MM, for example 09:00, 18:30.")


def hours_error() -> str:
    return _("Send a whole number of hours from 1 to 168.")


def topic_error() -> str:
    return _("Send the topic as text, up to {limit} characters.").format(limit=PROMPT_LIMIT)


def style_error() -> str:
    return _("Which style? Tap one, send your own description, or skip.")


async def on_cron_error(
    message: Message, _widget: ManagedTextInput[str], _manager: DialogManager, error: ValueError
) -> None:
    await message.answer(
        _("That cron expression does not work: {error}").format(error=escape(str(error)))
    )


async def on_unexpected_message(
    message: Message, _widget: MessageInput, _manager: DialogManager
) -> None:
    await message.answer(
        _("Use the buttons above, or send the text I asked for. /cancel leaves the dialog.")
    )


# ---------- name ----------


async def on_name(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, name: str
) -> None:
    change_draft(manager, name=name)
    await part_done(manager, RuleDialog.schedule_type)


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


_AFTER_KIND: dict[ScheduleKind, State] = {
    "daily": RuleDialog.times,
    "weekly": RuleDialog.times,
    "interval": RuleDialog.hours,
    "cron": RuleDialog.cron,
}


async def on_schedule_kind(
    _callback: CallbackQuery, _widget: Any, manager: DialogManager, value: str
) -> None:
    kind = next((k for k in SCHEDULE_KINDS if k == value), None)
    if kind is None:
        return
    change_draft(manager, schedule=schedule_of_kind(draft_of(manager).schedule, kind))
    await manager.switch_to(_AFTER_KIND[kind])


async def on_times(
    message: Message,
    _widget: ManagedTextInput[tuple[str, ...]],
    manager: DialogManager,
    times: tuple[str, ...],
) -> None:
    schedule = draft_of(manager).schedule
    if not isinstance(schedule, DailySchedule | WeeklySchedule):
        schedule = schedule_of_kind(schedule, "daily")
    schedule = schedule.model_copy(update={"times": times})
    # Times too close together (09:00, 09:05) run more often than the minimum interval.
    if not await schedule_allowed(message, manager, schedule):
        return
    change_draft(manager, schedule=schedule)
    await manager.switch_to(RuleDialog.days)


def chosen_days(draft: RuleDraft) -> tuple[int, ...]:
    schedule = draft.schedule
    if isinstance(schedule, DailySchedule | WeeklySchedule):
        return tuple(schedule.days_of_week)
    return ()


def with_days(draft: RuleDraft, days: tuple[int, ...]) -> RuleDraft:
    schedule = draft.schedule
    if not isinstance(schedule, DailySchedule | WeeklySchedule):
        return draft
    chosen = tuple(sorted(d for d in set(days) if d in ALL_DAYS))
    return draft.model_copy(
        update={"schedule": schedule.model_copy(update={"days_of_week": chosen})}
    )


async def on_days_done(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if not chosen_days(draft_of(manager)):
        await callback.answer(_("Choose at least one day."), show_alert=True)
        return
    await part_done(manager, RuleDialog.content_type)


def interval_schedule(manager: DialogManager, hours: int) -> ScheduleSpec:
    return schedule_of_kind(draft_of(manager).schedule, "interval").model_copy(
        update={"hours": float(hours), "minutes": 0.0}
    )


async def set_interval(manager: DialogManager, schedule: ScheduleSpec) -> None:
    change_draft(manager, schedule=schedule)
    await part_done(manager, RuleDialog.content_type)


async def on_hours_button(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, hours: int
) -> None:
    if not 1 <= hours <= MAX_INTERVAL_HOURS:
        return
    schedule = interval_schedule(manager, hours)
    draft = draft_of(manager).model_copy(update={"schedule": schedule})
    try:
        services_of(manager).rules.check_schedule(user_of(manager).id, draft)
    except RuleError as exc:
        if exc.code == "too_frequent":
            await callback.answer(too_frequent_text(exc.detail), show_alert=True)
            return
    await set_interval(manager, schedule)


async def on_hours_typed(
    message: Message, _widget: ManagedTextInput[int], manager: DialogManager, hours: int
) -> None:
    schedule = interval_schedule(manager, hours)
    if await schedule_allowed(message, manager, schedule):
        await set_interval(manager, schedule)


async def on_cron(
    message: Message, widget: ManagedTextInput[str], manager: DialogManager, expression: str
) -> None:
    draft = draft_of(manager)
    schedule = schedule_of_kind(draft.schedule, "cron").model_copy(
        update={"expression": expression}
    )
    try:
        validate_schedule(Schedule.of(schedule, draft.timezone), services_of(manager).clock.now())
    except ScheduleError as exc:
        await on_cron_error(message, widget, manager, exc)
        return
    if not await schedule_allowed(message, manager, schedule):
        return
    change_draft(manager, schedule=schedule)
    await part_done(manager, RuleDialog.content_type)


async def schedule_allowed(
    message: Message, manager: DialogManager, schedule: ScheduleSpec
) -> bool:
    """The operator's minimum interval (RULE_MIN_INTERVAL_MINUTES): a schedule that runs
    more often is refused with the reason, and the step stays."""
    draft = draft_of(manager).model_copy(update={"schedule": schedule})
    try:
        services_of(manager).rules.check_schedule(user_of(manager).id, draft)
    except RuleError as exc:
        # Only the interval is this check's business: an unfinished schedule (a weekly one
        # before its days) is checked when it is complete.
        if exc.code != "too_frequent":
            return True
        await message.answer(too_frequent_text(exc.detail))
        return False
    return True


# ---------- content ----------


async def on_content_ai(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if not services_of(manager).generator.available:
        await callback.answer(
            _("AI writing is not configured on this bot (OPENAI_API_KEY)."), show_alert=True
        )
        return
    content = draft_of(manager).content.model_copy(update={"kind": "ai"})
    change_draft(manager, content=content)
    await manager.switch_to(RuleDialog.prompt)


async def on_content_text(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    change_draft(manager, content=draft_of(manager).content.model_copy(update={"kind": "text"}))
    await manager.switch_to(RuleDialog.text)


async def on_topic(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, value: str
) -> None:
    content = draft_of(manager).content.model_copy(
        update={"kind": "ai", "description": value, "text": None}
    )
    change_draft(manager, content=content)
    await manager.switch_to(RuleDialog.style)


async def set_style(manager: DialogManager, style: str | None, key: str | None) -> None:
    content = draft_of(manager).content.model_copy(update={"style": style, "style_key": key})
    change_draft(manager, content=content)
    await part_done(manager, RuleDialog.targets)


async def on_style_button(
    _callback: CallbackQuery, _widget: Any, manager: DialogManager, key: str
) -> None:
    if key in STYLE_PROMPTS:
        await set_style(manager, STYLE_PROMPTS[key], key)


async def on_style_skip(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await set_style(manager, None, None)


async def on_style_typed(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, style: str
) -> None:
    await set_style(manager, style, None)


async def on_fixed_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """The fixed text keeps its formatting (HTML), so it is read here rather than by a
    TextInput (which sees the plain text only)."""
    text = message_html(message) if message.text else ""
    if not text or not fit_for_platform("telegram", text).ok:
        await message.answer(
            _("The text must be 1 to {limit} characters.").format(limit=TELEGRAM_TEXT_LIMIT)
        )
        return
    content = draft_of(manager).content.model_copy(
        update={"kind": "text", "text": text, "description": "", "style": None, "style_key": None}
    )
    try:
        services_of(manager).rules.check_fixed_text(
            user_of(manager).id, draft_of(manager).model_copy(update={"content": content})
        )
    except RuleError as exc:
        await message.answer(fixed_text_repeats_text(exc.detail))
        return
    change_draft(manager, content=content)
    await part_done(manager, RuleDialog.targets)


# ---------- targets and publishing ----------


class DraftMultiselect(Multiselect[int]):
    """A Multiselect whose checked items are a field of the rule draft (the days, the
    targets) rather than the widget's own data: the draft is the one truth, so an edited
    rule opens with its days and targets checked."""

    def __init__(
        self,
        checked_text: TextWidget,
        unchecked_text: TextWidget,
        id: str,
        items: str,
        *,
        read: Callable[[RuleDraft], Iterable[int]],
        write: Callable[[RuleDraft, tuple[int, ...]], RuleDraft],
    ) -> None:
        super().__init__(
            checked_text,
            unchecked_text,
            id=id,
            item_id_getter=itemgetter(0),
            items=items,
            type_factory=int,
        )
        self._read = read
        self._write = write

    def get_widget_data(self, manager: DialogManager, default: Any) -> Any:
        return [str(item) for item in self._read(draft_of(manager))]

    def set_widget_data(self, manager: DialogManager, value: Any) -> Any:
        chosen = tuple(int(item) for item in value if str(item).isdigit())
        save_draft(manager, self._write(draft_of(manager), chosen))


def with_targets(draft: RuleDraft, target_ids: tuple[int, ...]) -> RuleDraft:
    ids = tuple(sorted({i for i in target_ids if 0 <= i <= 2_147_483_647}))
    return draft.model_copy(update={"target_ids": ids})


async def on_linked(_start_data: Any, result: Any, manager: DialogManager) -> None:
    """Back from a linking dialog: the target it linked (if any, and if it is this user's)
    is chosen for the rule."""
    if not isinstance(result, int) or isinstance(result, bool):
        return
    target = await services_of(manager).targets.get(user_of(manager).id, result)
    if target is not None:
        draft = draft_of(manager)
        save_draft(manager, with_targets(draft, (*draft.target_ids, target.id)))


async def on_targets_done(
    callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    services, user = services_of(manager), user_of(manager)
    owned = await services.targets.get_many(user.id, draft_of(manager).target_ids)
    if not owned:
        await callback.answer(_("Choose at least one of your channels."), show_alert=True)
        return
    change_draft(manager, target_ids=tuple(t.id for t in owned))
    await part_done(manager, RuleDialog.mode)


async def on_mode_direct(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    change_draft(manager, approval_required=False)
    await show_summary(manager)


async def on_mode_approval(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    change_draft(manager, approval_required=True)
    await manager.switch_to(RuleDialog.policy)


async def on_policy_skip(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    change_draft(manager, approval_policy="skip")
    await show_summary(manager)


async def on_policy_publish(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    change_draft(manager, approval_policy="publish")
    await show_summary(manager)
