"""The rules feature's keyboards. Every wizard keyboard ends with Back and Cancel."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.keyboards import cancel_only, nav_row
from handlers.render import target_label
from handlers.rules.callbacks import ApprovalCb, RulesCb, RuleTargetCb, RuleWizCb
from handlers.rules.texts import STYLE_KEYS, day_names, describe_quiet, style_label
from services.rules import RuleDraft
from storage.models import AutoPostingRule, Target

INTERVAL_CHOICES = (1, 2, 3, 4, 6, 8, 12, 24)
DAILY_CAPS = (None, 1, 2, 3, 5, 10)


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


def nav_only() -> InlineKeyboardMarkup:
    return with_nav(InlineKeyboardBuilder())


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
            callback_data=RuleTargetCb(target_id=target.id),
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


def limits_keyboard(draft: RuleDraft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Posts per day: {cap}").format(cap=draft.daily_cap or _("no limit")),
        callback_data=RuleWizCb(action="cap"),
    )
    kb.button(
        text=_("Quiet hours: {hours}").format(hours=describe_quiet(draft.quiet_hours)),
        callback_data=RuleWizCb(action="quiet"),
    )
    kb.button(
        text=_("AI tokens per month: {budget}").format(
            budget=draft.monthly_token_budget or _("no limit")
        ),
        callback_data=RuleWizCb(action="budget"),
    )
    kb.button(text=_("Done ➡️"), callback_data=RuleWizCb(action="limits_done"))
    return with_nav(kb, 1, 1, 1, 1)


def approval_keyboard(content_id: int) -> InlineKeyboardMarkup:
    """Approve / Edit / Regenerate / Skip under a draft a rule prepared."""
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


__all__ = [
    "DAILY_CAPS",
    "INTERVAL_CHOICES",
    "approval_keyboard",
    "cancel_only",
    "confirm_rule_keyboard",
    "content_type_keyboard",
    "days_keyboard",
    "delete_keyboard",
    "hours_keyboard",
    "limits_keyboard",
    "mode_keyboard",
    "nav_only",
    "policy_keyboard",
    "rule_targets_keyboard",
    "rule_view_keyboard",
    "rules_list_keyboard",
    "schedule_type_keyboard",
    "style_keyboard",
    "with_nav",
]
