"""The rules dialog's states and the typed data it keeps in the FSM storage."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.rules.callbacks import DbId
from services.rules import RuleDraft


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


class WizardData(BaseModel):
    """The rule being created or edited, as the dialog state stores it."""

    # Data of another dialog (or of an older version of this one) is refused, not misread.
    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: RuleDraft = RuleDraft()
    rule_id: DbId | None = None  # set when an existing rule is edited
    single: bool = False  # one part is edited from the summary: back to it afterwards


class ApprovalEditData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content_id: DbId


async def load_wizard(state: FSMContext) -> WizardData | None:
    """The dialog's data; None when it is missing or not of this version of the dialog
    (a restart with an older dialog in progress, or a forged state)."""
    try:
        return WizardData.model_validate(await state.get_data())
    except ValidationError:
        return None


async def save_wizard(state: FSMContext, wizard: WizardData) -> None:
    await state.set_data(wizard.model_dump(mode="json"))


async def load_approval_edit(state: FSMContext) -> ApprovalEditData | None:
    try:
        return ApprovalEditData.model_validate(await state.get_data())
    except ValidationError:
        return None
