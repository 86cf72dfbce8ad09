"""The rules feature's plain keyboards: the list, one rule, Delete, and a draft awaiting
approval. (The rule dialog's buttons are its windows' widgets: handlers/rules/steps.py.)"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.keyboards import cancel_only
from handlers.rules.callbacks import ApprovalCb, RulesCb
from storage.models import AutoPostingRule


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
    "approval_keyboard",
    "cancel_only",
    "delete_keyboard",
    "rule_view_keyboard",
    "rules_list_keyboard",
]
