"""The rules feature's callback data. Every field is bounded: a forged or stale value does
not unpack (pydantic refuses it), so the press falls through to "no longer active". Ids are
hints only: handlers load the rule, target or draft for the user who pressed the button."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from handlers.callbacks import DbId

ShortValue = Annotated[str, Field(max_length=16)]

RuleAction = Literal[
    "list", "new", "view", "pause", "resume", "run", "dry", "edit", "delete", "delete_yes"
]
WizardAction = Literal[
    "stype",  # value: a schedule kind
    "day",  # value: 1..7
    "days_done",
    "hours",  # value: a number of hours
    "ctype",  # value: ai | text
    "style",  # value: a style key, or "" to skip
    "tdone",
    "mode",  # value: direct | approval
    "policy",  # value: skip | publish
    "save",
    "dry",
    "part",  # value: the part of the rule to edit
    "limits",
    "cap",
    "quiet",
    "budget",
    "limits_done",
]
ApprovalAction = Literal["approve", "edit", "regen", "skip"]


class RulesCb(CallbackData, prefix="rl"):
    action: RuleAction
    rule_id: DbId = 0


class RuleWizCb(CallbackData, prefix="rw"):
    action: WizardAction
    value: ShortValue = ""


class RuleTargetCb(CallbackData, prefix="rwt"):
    """A target toggled in the rule dialog's picker."""

    target_id: DbId


class ApprovalCb(CallbackData, prefix="ap"):
    action: ApprovalAction
    content_id: DbId
