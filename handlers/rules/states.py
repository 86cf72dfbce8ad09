"""The rules feature's states and the typed data its dialogs keep.

The rule dialog (aiogram_dialog) keeps its draft in `dialog_data` as a `WizardData` model;
`wizard_of` / `save_wizard` are the only places that (de)serialise it. The approval's
"send a new text" step stays a plain FSM state (`ApprovalEdit`)."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram_dialog import DialogManager
from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.rules.callbacks import DbId
from services.container import Services
from services.rules import RuleDraft
from storage.models import User


class RuleDialog(StatesGroup):
    """One window each; the order is the order of the dialog (Back goes one up)."""

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
    summary = State()
    limits = State()
    quiet = State()
    budget = State()


class ApprovalEdit(StatesGroup):
    text = State()


class WizardData(BaseModel):
    """The rule being created or edited, as the dialog keeps it in `dialog_data`."""

    # Data of another dialog (or of an older version of this one) is refused, not misread.
    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: RuleDraft = RuleDraft()
    rule_id: DbId | None = None  # set when an existing rule is edited
    # The summary was shown: from then on a finished part (and Back) returns to it.
    from_summary: bool = False


class RuleDialogStart(BaseModel):
    """What the rule dialog is started with: nothing for a new rule, the rule's id to edit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: DbId | None = None


class ApprovalEditData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content_id: DbId


# ---------- typed access to what a dialog's getters and handlers need ----------

_WIZARD_KEY = "wizard"


def services_of(manager: DialogManager) -> Services:
    services: Services = manager.middleware_data["services"]
    return services


def user_of(manager: DialogManager) -> User:
    user: User = manager.middleware_data["db_user"]
    return user


def wizard_of(manager: DialogManager) -> WizardData:
    """The draft of the open rule dialog (a fresh one if the stored data does not read)."""
    stored: Any = manager.dialog_data.get(_WIZARD_KEY)
    try:
        return WizardData.model_validate(stored)
    except ValidationError:
        return WizardData(draft=RuleDraft(timezone=user_of(manager).timezone))


def save_wizard(manager: DialogManager, wizard: WizardData) -> None:
    manager.dialog_data[_WIZARD_KEY] = wizard.model_dump(mode="json")


def draft_of(manager: DialogManager) -> RuleDraft:
    return wizard_of(manager).draft


def save_draft(manager: DialogManager, draft: RuleDraft) -> None:
    save_wizard(manager, wizard_of(manager).model_copy(update={"draft": draft}))


def change_draft(manager: DialogManager, **changes: object) -> RuleDraft:
    draft = draft_of(manager).model_copy(update=changes)
    save_draft(manager, draft)
    return draft


async def load_approval_edit(state: FSMContext) -> ApprovalEditData | None:
    try:
        return ApprovalEditData.model_validate(await state.get_data())
    except ValidationError:
        return None
