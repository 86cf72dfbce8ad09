"""What the three linking dialogs share: their draft in the FSM state, and the way back to
the new post's target picker when linking started there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storage.models import Target, User

if TYPE_CHECKING:
    from services.container import Services

# The linking draft lives under this one key: the rest of the state data belongs to the
# unfinished post (if linking started from its target picker) and is left untouched.
DRAFT_KEY = "linking"


class LinkingDraft(BaseModel):
    """A linking dialog's data between two messages of the user."""

    model_config = ConfigDict(extra="ignore")

    # Linking started in the new post's target picker: go back there afterwards.
    return_to_picker: bool = False
    # X: the request token, encrypted with SecretBox (its secret is a secret too).
    x_request: str | None = Field(default=None, max_length=4096)
    # Instagram: the username given before the password step.
    instagram_username: str | None = Field(default=None, max_length=30)


async def load_draft(state: FSMContext) -> LinkingDraft:
    raw = (await state.get_data()).get(DRAFT_KEY)
    if not isinstance(raw, dict):
        return LinkingDraft()
    try:
        return LinkingDraft.model_validate(raw)
    except ValidationError:  # stored by an older version: start over rather than fail
        return LinkingDraft()


async def save_draft(state: FSMContext, draft: LinkingDraft) -> None:
    await state.update_data({DRAFT_KEY: draft.model_dump(mode="json")})


async def begin_linking(state: FSMContext, *, by_command: bool) -> None:
    """A fresh draft. A button pressed in the new post's target picker keeps the post and
    comes back to it afterwards; a command, or a button elsewhere, ends whatever dialog the
    user was in (an earlier, abandoned linking included)."""
    from handlers import compose  # at call time: compose's picker shows our link buttons

    return_to_picker = not by_command and await compose.is_choosing_targets(state)
    if not return_to_picker:
        await state.clear()
    await save_draft(state, LinkingDraft(return_to_picker=return_to_picker))


async def leave_linking(state: FSMContext) -> bool:
    """Ends the linking dialog. True when the user goes back to the target picker (the
    unfinished post stays in the state), False when the state was cleared."""
    if (await load_draft(state)).return_to_picker:
        data = await state.get_data()
        data.pop(DRAFT_KEY, None)
        await state.set_data(data)
        return True
    await state.clear()
    return False


async def finish_linking(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    target: Target,
    text: str,
) -> bool:
    """Tells the user what was linked; back to the target picker with the new target chosen
    when linking started there (True), else the state is cleared (False) and the caller
    shows what comes next."""
    await message.answer(text)
    if await leave_linking(state):
        await reopen_target_picker(message, state, services, user, also_choose=target.id)
        return True
    return False


async def reopen_target_picker(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    *,
    also_choose: int | None = None,
) -> None:
    """The unfinished post's target picker, shown again (the draft is not lost behind the
    main menu), with `also_choose`, the target just linked, chosen."""
    from handlers import compose  # at call time: compose's picker shows our link buttons

    await compose.resume_new_post(message, state, services, user, linked_target_id=also_choose)
