"""The rules feature's router: which update reaches which handler. A new Router each call,
so that every app (a restart in tests, a webhook beside polling) has its own."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.callbacks import MenuCb, NavCb
from handlers.rules import approvals, listing, summary, wizard
from handlers.rules.callbacks import ApprovalCb, RulesCb, RuleTargetCb, RuleWizCb
from handlers.rules.states import ApprovalEdit, RuleWizard
from handlers.rules.steps import BACK


def _wizard(action: str) -> CallbackQueryFilter:
    return RuleWizCb.filter(F.action == action)


def build_router() -> Router:
    router = Router(name="rules")
    message, callback = router.message.register, router.callback_query.register

    # The list and one rule.
    message(listing.cmd_rules, Command("rules"))
    callback(listing.on_rules_list, MenuCb.filter(F.action == "rules"))
    callback(listing.on_rules_list, RulesCb.filter(F.action == "list"))
    callback(listing.on_rule_view, RulesCb.filter(F.action == "view"))
    callback(listing.on_rule_pause_resume, RulesCb.filter(F.action.in_({"pause", "resume"})))
    callback(listing.on_rule_run_now, RulesCb.filter(F.action == "run"))
    callback(listing.on_rule_delete, RulesCb.filter(F.action == "delete"))
    callback(listing.on_rule_delete_confirmed, RulesCb.filter(F.action == "delete_yes"))
    callback(listing.on_rule_dry_run, RulesCb.filter(F.action == "dry"))
    callback(listing.on_rule_new, RulesCb.filter(F.action == "new"))
    callback(listing.on_rule_edit, RulesCb.filter(F.action == "edit"))

    # The dialog, step by step.
    message(wizard.on_rule_name, RuleWizard.name, F.text)
    callback(wizard.on_schedule_type, RuleWizard.schedule_type, _wizard("stype"))
    message(wizard.on_rule_times, RuleWizard.times, F.text)
    callback(wizard.on_rule_day_toggle, RuleWizard.days, _wizard("day"))
    callback(wizard.on_rule_days_done, RuleWizard.days, _wizard("days_done"))
    callback(wizard.on_rule_hours_button, RuleWizard.hours, _wizard("hours"))
    message(wizard.on_rule_hours_text, RuleWizard.hours, F.text)
    message(wizard.on_rule_cron, RuleWizard.cron, F.text)
    callback(wizard.on_rule_content_type, RuleWizard.content_type, _wizard("ctype"))
    message(wizard.on_rule_prompt, RuleWizard.prompt, F.text)
    callback(wizard.on_rule_style_button, RuleWizard.style, _wizard("style"))
    message(wizard.on_rule_style_text, RuleWizard.style, F.text)
    message(wizard.on_rule_text, RuleWizard.text, F.text)
    callback(wizard.on_rule_target_toggle, RuleWizard.targets, RuleTargetCb.filter())
    callback(wizard.on_rule_targets_done, RuleWizard.targets, _wizard("tdone"))
    callback(wizard.on_rule_mode, RuleWizard.mode, _wizard("mode"))
    callback(wizard.on_rule_policy, RuleWizard.policy, _wizard("policy"))

    # The summary, its limits, and Back.
    callback(summary.on_rule_save, RuleWizard.confirm, _wizard("save"))
    callback(summary.on_rule_draft_dry_run, RuleWizard.confirm, _wizard("dry"))
    callback(summary.on_rule_edit_part, RuleWizard.confirm, _wizard("part"))
    callback(summary.on_rule_limits, RuleWizard.confirm, _wizard("limits"))
    callback(summary.on_rule_cap, RuleWizard.limits, _wizard("cap"))
    callback(summary.on_rule_quiet, RuleWizard.limits, _wizard("quiet"))
    message(summary.on_rule_quiet_text, RuleWizard.quiet, F.text)
    callback(summary.on_rule_budget, RuleWizard.limits, _wizard("budget"))
    message(summary.on_rule_budget_text, RuleWizard.budget, F.text)
    callback(summary.on_rule_limits_done, RuleWizard.limits, _wizard("limits_done"))
    callback(summary.on_rule_back_from_name, NavCb.filter(F.action == "back"), RuleWizard.name)
    callback(summary.on_rule_back, NavCb.filter(F.action == "back"), StateFilter(*BACK))
    message(summary.on_rule_unexpected_message, StateFilter(RuleWizard))

    # Drafts awaiting approval.
    callback(approvals.on_approve, ApprovalCb.filter(F.action == "approve"))
    callback(approvals.on_skip, ApprovalCb.filter(F.action == "skip"))
    callback(approvals.on_approval_edit, ApprovalCb.filter(F.action == "edit"))
    message(approvals.on_approval_new_text, ApprovalEdit.text, F.text)
    message(approvals.on_approval_new_text_unsupported, ApprovalEdit.text)
    callback(approvals.on_approval_regenerate, ApprovalCb.filter(F.action == "regen"))
    return router
