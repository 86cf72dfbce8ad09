"""The rules feature's router: the list and one rule (plain handlers), the rule dialog
(aiogram_dialog, started from the list), and the approval of drafts. A new Router (and a
new Dialog) each call, so that every app (a restart in tests, a webhook beside polling) has
its own."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from handlers.callbacks import MenuCb
from handlers.rules import approvals, listing
from handlers.rules.callbacks import ApprovalCb, RulesCb
from handlers.rules.dialog import build_rule_dialog
from handlers.rules.states import ApprovalEdit


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

    # Creating or editing a rule: the dialog.
    router.include_router(build_rule_dialog())

    # Drafts awaiting approval.
    callback(approvals.on_approve, ApprovalCb.filter(F.action == "approve"))
    callback(approvals.on_skip, ApprovalCb.filter(F.action == "skip"))
    callback(approvals.on_approval_edit, ApprovalCb.filter(F.action == "edit"))
    message(approvals.on_approval_new_text, ApprovalEdit.text, F.text)
    message(approvals.on_approval_new_text_unsupported, ApprovalEdit.text)
    callback(approvals.on_approval_regenerate, ApprovalCb.filter(F.action == "regen"))
    return router
