"""The rules dialog's callback data, states, keyboards and texts (handlers/rules.py uses them).

Ids inside callback data are hints only: every handler loads the rule, target or draft for
the user who pressed the button."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.keyboards import nav_row
from handlers.render import platform_label, target_label
from storage.models import AutoPostingRule, Target


class RulesCb(CallbackData, prefix="rl"):
    action: str  # list, new, view, pause, resume, run, dry, edit, delete, delete_yes
    rule_id: int = 0


class RuleWizCb(CallbackData, prefix="rw"):
    action: str  # stype, day, days_done, hours, ctype, style, tpick, tdone, mode, policy,
    #              save, dry, part
    value: str = ""


class ApprovalCb(CallbackData, prefix="ap"):
    action: str  # approve, edit, regen, skip
    content_id: int


class RuleWizard(StatesGroup):
    name = State()
    schedule_type = State()
    times = State()
    days = State()
    hours = State()
    cron = State()
    content_type = State()
    prompt = State()
    style = State()
    text = State()
    targets = State()
    mode = State()
    policy = State()
    confirm = State()
    limits = State()
    quiet = State()
    budget = State()


class ApprovalEdit(StatesGroup):
    text = State()


INTERVAL_CHOICES = (1, 2, 3, 4, 6, 8, 12, 24)
STYLE_KEYS = ("neutral", "friendly", "expert", "witty", "short")
# What the model is told for each style button (English: it is an instruction, not UI).
STYLE_PROMPTS = {
    "neutral": "neutral and informative",
    "friendly": "friendly and warm, speaking to the reader directly",
    "expert": "expert and precise, with concrete facts",
    "witty": "witty and light, with a touch of humour",
    "short": "short and punchy: a few sentences",
}


def day_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def style_label(key: str) -> str:
    labels = {
        "neutral": _("Neutral"),
        "friendly": _("Friendly"),
        "expert": _("Expert"),
        "witty": _("Witty"),
        "short": _("Short and punchy"),
    }
    return labels.get(key, key)


# ---------- keyboards ----------


def rules_list_keyboard(rules: Sequence[AutoPostingRule]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for rule in rules:
        mark = "▶️ " if rule.is_active else "⏸ "
        kb.button(text=mark + rule.name, callback_data=RulesCb(action="view", rule_id=rule.id))
    kb.button(text=_("➕ New rule"), callback_data=RulesCb(action="new"))
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(1)
    return kb.as_markup()


def rule_view_keyboard(rule: AutoPostingRule) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if rule.is_active:
        kb.button(text=_("⏸ Pause"), callback_data=RulesCb(action="pause", rule_id=rule.id))
        kb.button(text=_("⚡ Run now"), callback_data=RulesCb(action="run", rule_id=rule.id))
    else:
        kb.button(text=_("▶️ Resume"), callback_data=RulesCb(action="resume", rule_id=rule.id))
    kb.button(text=_("🧪 Try it"), callback_data=RulesCb(action="dry", rule_id=rule.id))
    kb.button(text=_("✏️ Edit"), callback_data=RulesCb(action="edit", rule_id=rule.id))
    kb.button(text=_("🗑 Delete"), callback_data=RulesCb(action="delete", rule_id=rule.id))
    kb.button(text=_("⬅️ Rules"), callback_data=RulesCb(action="list"))
    kb.adjust(2)
    return kb.as_markup()


def delete_keyboard(rule_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete"), callback_data=RulesCb(action="delete_yes", rule_id=rule_id))
    kb.button(text=_("⬅️ No"), callback_data=RulesCb(action="view", rule_id=rule_id))
    kb.adjust(2)
    return kb.as_markup()


def with_nav(kb: InlineKeyboardBuilder, *sizes: int) -> InlineKeyboardMarkup:
    nav_row(kb)
    kb.adjust(*sizes, 2)
    return kb.as_markup()


def schedule_type_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📅 Daily"), callback_data=RuleWizCb(action="stype", value="daily"))
    kb.button(text=_("🗓 Weekly"), callback_data=RuleWizCb(action="stype", value="weekly"))
    kb.button(
        text=_("🔁 Every N hours"), callback_data=RuleWizCb(action="stype", value="interval")
    )
    kb.button(text=_("⌨️ Cron"), callback_data=RuleWizCb(action="stype", value="cron"))
    return with_nav(kb, 2, 2)


def days_keyboard(chosen: set[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for number, name in enumerate(day_names(), 1):
        mark = "✅ " if number in chosen else "▫️ "
        kb.button(text=mark + name, callback_data=RuleWizCb(action="day", value=str(number)))
    kb.button(text=_("Done ➡️"), callback_data=RuleWizCb(action="days_done"))
    return with_nav(kb, 4, 3, 1)


def hours_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for hours in INTERVAL_CHOICES:
        kb.button(text=str(hours), callback_data=RuleWizCb(action="hours", value=str(hours)))
    return with_nav(kb, 4, 4)


def content_type_keyboard(ai_available: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if ai_available:
        kb.button(text=_("🤖 AI writes it"), callback_data=RuleWizCb(action="ctype", value="ai"))
    kb.button(text=_("📝 Fixed text"), callback_data=RuleWizCb(action="ctype", value="text"))
    return with_nav(kb, 2 if ai_available else 1)


def style_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key in STYLE_KEYS:
        kb.button(text=style_label(key), callback_data=RuleWizCb(action="style", value=key))
    kb.button(text=_("Skip ➡️"), callback_data=RuleWizCb(action="style", value=""))
    return with_nav(kb, 3, 2, 1)


def rule_targets_keyboard(targets: Sequence[Target], chosen: set[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for target in targets:
        mark = "✅ " if target.id in chosen else "▫️ "
        kb.button(
            text=mark + target_label(target).replace("&amp;", "&"),
            callback_data=RuleWizCb(action="tpick", value=str(target.id)),
        )
    kb.button(text=_("Done ➡️"), callback_data=RuleWizCb(action="tdone"))
    return with_nav(kb, *([1] * len(targets)), 1)


def mode_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🚀 Publish directly"), callback_data=RuleWizCb(action="mode", value="direct")
    )
    kb.button(
        text=_("👀 Send me each draft to approve"),
        callback_data=RuleWizCb(action="mode", value="approval"),
    )
    return with_nav(kb, 1, 1)


def policy_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⏭ Skip the post"), callback_data=RuleWizCb(action="policy", value="skip"))
    kb.button(
        text=_("🚀 Publish it anyway"), callback_data=RuleWizCb(action="policy", value="publish")
    )
    return with_nav(kb, 1, 1)


def confirm_rule_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Save the rule"), callback_data=RuleWizCb(action="save"))
    kb.button(text=_("🧪 Try it now"), callback_data=RuleWizCb(action="dry"))
    kb.button(text=_("✏️ Name"), callback_data=RuleWizCb(action="part", value="name"))
    kb.button(text=_("✏️ Schedule"), callback_data=RuleWizCb(action="part", value="schedule"))
    kb.button(text=_("✏️ Content"), callback_data=RuleWizCb(action="part", value="content"))
    kb.button(text=_("✏️ Targets"), callback_data=RuleWizCb(action="part", value="targets"))
    kb.button(text=_("✏️ Publishing"), callback_data=RuleWizCb(action="part", value="mode"))
    kb.button(text=_("🛡 Limits"), callback_data=RuleWizCb(action="limits"))
    return with_nav(kb, 2, 3, 3)


DAILY_CAPS = (None, 1, 2, 3, 5, 10)


def limits_keyboard(data: Mapping[str, Any]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    cap = data.get("daily_cap")
    kb.button(
        text=_("Posts per day: {cap}").format(cap=cap or _("no limit")),
        callback_data=RuleWizCb(action="cap"),
    )
    kb.button(
        text=_("Quiet hours: {hours}").format(hours=describe_quiet(data.get("quiet_hours"))),
        callback_data=RuleWizCb(action="quiet"),
    )
    budget = data.get("monthly_token_budget")
    kb.button(
        text=_("AI tokens per month: {budget}").format(budget=budget or _("no limit")),
        callback_data=RuleWizCb(action="budget"),
    )
    kb.button(text=_("Done ➡️"), callback_data=RuleWizCb(action="limits_done"))
    return with_nav(kb, 1, 1, 1, 1)


def describe_quiet(quiet: Any) -> str:
    if isinstance(quiet, Mapping) and quiet.get("start") and quiet.get("end"):
        return f"{quiet['start']}–{quiet['end']}"
    return _("none")


def describe_limits(data: Mapping[str, Any]) -> str:
    return _(
        "Limits: {cap} posts a day · quiet hours {quiet} · {budget} AI tokens a month"
    ).format(
        cap=data.get("daily_cap") or "∞",
        quiet=describe_quiet(data.get("quiet_hours")),
        budget=data.get("monthly_token_budget") or "∞",
    )


def approval_keyboard(content_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Approve"), callback_data=ApprovalCb(action="approve", content_id=content_id)
    )
    kb.button(text=_("✏️ Edit"), callback_data=ApprovalCb(action="edit", content_id=content_id))
    kb.button(
        text=_("🔁 Regenerate"), callback_data=ApprovalCb(action="regen", content_id=content_id)
    )
    kb.button(text=_("⏭ Skip"), callback_data=ApprovalCb(action="skip", content_id=content_id))
    kb.adjust(2, 2)
    return kb.as_markup()


# ---------- texts ----------


def local_moment(value: datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{day_names()[local.weekday()]} {local.strftime('%Y-%m-%d %H:%M')}"


def describe_schedule(schedule_type: str, config: Mapping[str, Any]) -> str:
    times = ", ".join(str(t) for t in config.get("times") or [])
    if schedule_type in ("daily", "weekly"):
        days = sorted(int(d) for d in config.get("days_of_week") or [])
        if not days or len(days) == 7:
            return _("every day at {times}").format(times=times)
        names = day_names()
        return _("{days} at {times}").format(
            days=", ".join(names[d - 1] for d in days), times=times
        )
    if schedule_type == "interval":
        hours = config.get("hours", 0)
        return _("every {hours} h").format(hours=_number(hours))
    if schedule_type == "cron":
        return _("cron <code>{expression}</code>").format(
            expression=escape(str(config.get("expression", "")))
        )
    return schedule_type


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def describe_content(config: Mapping[str, Any]) -> str:
    if config.get("text"):
        return _("fixed text: <i>{text}</i>").format(text=escape(_cut(str(config["text"]))))
    line = _("AI writes about: <i>{topic}</i>").format(
        topic=escape(_cut(str(config.get("description") or "")))
    )
    if config.get("style"):
        line += "\n" + _("Style: {style}").format(style=escape(_style_text(config)))
    return line


def _style_text(config: Mapping[str, Any]) -> str:
    key = str(config.get("style_key") or "")
    return style_label(key) if key in STYLE_PROMPTS else str(config.get("style"))


def _cut(text: str, length: int = 120) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def describe_mode(approval: bool, policy: str) -> str:
    if not approval:
        return _("published directly")
    if policy == "publish":
        return _("each draft is sent to you first; with no answer in time it is published")
    return _("each draft is sent to you first; with no answer in time it is skipped")


def describe_targets(targets: Sequence[Target]) -> str:
    return ", ".join(target_label(t) for t in targets) or "—"


def rule_summary(
    data: Mapping[str, Any], targets: Sequence[Target], runs: Sequence[datetime], timezone: str
) -> str:
    lines = [
        f"<b>{escape(str(data.get('name', '')))}</b>",
        _("Schedule: {schedule} ({zone})").format(
            schedule=describe_schedule(str(data.get("stype")), schedule_config(data)),
            zone=timezone,
        ),
        _("Content: {content}").format(content=describe_content(content_config(data))),
        _("Targets: {targets}").format(targets=describe_targets(targets)),
        _("Publishing: {mode}").format(
            mode=describe_mode(bool(data.get("approval")), str(data.get("policy", "skip")))
        ),
        describe_limits(data),
        "",
        _("Next runs ({zone}):").format(zone=timezone),
    ]
    lines.extend(f"• {local_moment(run, timezone)}" for run in runs)
    if not runs:
        lines.append(_("this schedule never fires"))
    return "\n".join(lines)


def rule_details(rule: AutoPostingRule, timezone: str) -> str:
    status = _("▶️ active") if rule.is_active else _("⏸ paused")
    never = _("never")
    lines = [
        f"<b>{escape(rule.name)}</b> · {status}",
        _("Schedule: {schedule} ({zone})").format(
            schedule=describe_schedule(rule.schedule_type, rule.schedule_config or {}),
            zone=rule.timezone,
        ),
        _("Content: {content}").format(content=describe_content(rule.content_config or {})),
        _("Targets: {targets}").format(targets=describe_targets(rule.targets)),
        _("Publishing: {mode}").format(
            mode=describe_mode(rule.approval_required, rule.approval_policy)
        ),
        describe_limits(
            {
                "daily_cap": rule.daily_cap,
                "quiet_hours": rule.quiet_hours,
                "monthly_token_budget": rule.monthly_token_budget,
            }
        ),
        "",
        _("Runs: {runs} · successes: {ok} · failures: {failed}").format(
            runs=rule.executions_count, ok=rule.success_count, failed=rule.failure_count
        ),
        _("Last run: {when}").format(
            when=local_moment(rule.last_executed_at, timezone) if rule.last_executed_at else never
        ),
    ]
    if rule.last_error:
        lines.append(_("Last error: {error}").format(error=escape(_cut(rule.last_error, 300))))
    if rule.is_active and rule.next_execution_at:
        lines.append(
            _("Next run: {when}").format(when=local_moment(rule.next_execution_at, timezone))
        )
    return "\n".join(lines)


def schedule_config(data: Mapping[str, Any]) -> dict[str, Any]:
    kind = data.get("stype")
    if kind in ("daily", "weekly"):
        config: dict[str, Any] = {"times": list(data.get("times") or [])}
        days = sorted(int(d) for d in data.get("days") or [] if str(d).isdigit())
        config["days_of_week"] = days or [1, 2, 3, 4, 5, 6, 7]
        return config
    if kind == "interval":
        try:
            return {"hours": max(1, int(data.get("hours") or 1))}
        except (TypeError, ValueError):
            return {"hours": 1}
    if kind == "cron":
        return {"expression": str(data.get("cron") or "")}
    return {}


def content_config(data: Mapping[str, Any]) -> dict[str, Any]:
    base = dict(data.get("extra_content") or {})
    for key in ("text", "description", "style", "style_key"):
        base.pop(key, None)
    if data.get("ctype") == "text":
        base["text"] = str(data.get("text") or "")
        return base
    base["description"] = str(data.get("description") or "")
    if data.get("style"):
        base["style"] = str(data["style"])
        if data.get("style_key"):
            base["style_key"] = str(data["style_key"])
    return base


def platform_names(platforms: Sequence[str]) -> str:
    return ", ".join(platform_label(p) for p in platforms)
