"""The rules feature's callback data (the rule dialog's buttons are aiogram_dialog's own).
Every field is bounded: a forged or stale value does not unpack (pydantic refuses it), so the
press falls through to "no longer active". Ids are hints only: handlers load the rule or
draft for the user who pressed the button."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import DbId

RuleAction = Literal[
    "list", "new", "view", "pause", "resume", "run", "dry", "edit", "delete", "delete_yes"
]
ApprovalAction = Literal["approve", "edit", "regen", "skip"]


class RulesCb(CallbackData, prefix="rl"):
    action: RuleAction
    rule_id: DbId = 0


class ApprovalCb(CallbackData, prefix="ap"):
    action: ApprovalAction
    content_id: DbId
