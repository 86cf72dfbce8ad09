"""The rule dialog (aiogram_dialog): creating a rule part by part, or editing one (started
with the rule's id, it opens on the summary). The draft lives in dialog_data as `WizardData`.

A new Dialog each call: a Dialog is a Router, and every app builds its own routers."""

from __future__ import annotations

from typing import Any

from aiogram_dialog import Dialog, DialogManager
from pydantic import ValidationError

from handlers.dialogs import keep_to_its_own
from handlers.rules.states import (
    RuleDialogStart,
    WizardData,
    save_wizard,
    services_of,
    user_of,
)
from handlers.rules.steps import (
    content_type_window,
    cron_window,
    days_window,
    flags,
    hours_window,
    mode_window,
    name_window,
    policy_window,
    prompt_window,
    schedule_type_window,
    style_window,
    targets_window,
    text_window,
    times_window,
)
from handlers.rules.summary import budget_window, limits_window, quiet_window, summary_window
from handlers.rules.wizard import on_linked
from services.rules import RuleDraft, RuleError, bounded_draft


async def on_start(start_data: Any, manager: DialogManager) -> None:
    """A fresh draft in the user's zone, or the rule to edit (loaded for this user)."""
    user = user_of(manager)
    try:
        start = RuleDialogStart.model_validate(start_data or {})
    except ValidationError:
        start = RuleDialogStart()
    rules = services_of(manager).rules
    # A new rule starts with the operator's default daily cap (the limits window changes it).
    wizard = WizardData(draft=rules.new_draft(user.id, timezone=user.timezone))
    if start.rule_id is not None:
        try:
            rule = await rules.get(user.id, start.rule_id)
        except RuleError:
            pass  # gone meanwhile: the dialog creates a new rule instead
        else:
            # An older rule without a cap shows the one its next save will give it.
            draft = bounded_draft(RuleDraft.from_rule(rule), rules.bounds_for(user.id))
            wizard = WizardData(draft=draft, rule_id=rule.id, from_summary=True)
    save_wizard(manager, wizard)


def build_rule_dialog() -> Dialog:
    dialog = Dialog(
        name_window,
        schedule_type_window,
        times_window,
        days_window,
        hours_window,
        cron_window,
        content_type_window,
        prompt_window,
        style_window,
        text_window,
        targets_window,
        mode_window,
        policy_window,
        summary_window,
        limits_window,
        quiet_window,
        budget_window,
        on_start=on_start,
        on_process_result=on_linked,
        getter=flags,
    )
    return keep_to_its_own(dialog)
