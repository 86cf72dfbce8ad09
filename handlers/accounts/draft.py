"""What the three linking dialogs share: their typed start data and draft, typed access to
our services, and what happens when a linking dialog closes (back to the new post's target
picker, the targets list or the main menu; nothing extra when another dialog started it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager
from aiogram_dialog.api.entities import DialogUpdateEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.accounts.texts import linked_text
from handlers.keyboards import main_menu
from handlers.render import target_name
from storage.models import Platform, User

if TYPE_CHECKING:
    from services.container import Services

# Why the dialog closed. None: it failed, and the reason was told already.
Ending = Literal["cancelled", "back", "refused"]


class LinkingStart(BaseModel):
    """A linking dialog's start data."""

    model_config = ConfigDict(extra="ignore")

    # Started from the new post's target picker: go back there afterwards.
    return_to_picker: bool = False
    # X: the entry handler asked X for the authorization already (the request token is
    # sealed with SecretBox: its secret is a secret too).
    x_request: str | None = Field(default=None, max_length=4096)
    x_url: str | None = Field(default=None, max_length=2048)
    # The channel picker's reply keyboard was shown: closing the dialog takes it away.
    picker: bool = False


class LinkingDraft(BaseModel):
    """A linking dialog's data between two messages of the user (its dialog_data)."""

    model_config = ConfigDict(extra="ignore")

    ending: Ending | None = None
    # What was wrong with the last answer; the window says it instead of its prompt.
    problem: str | None = Field(default=None, max_length=32)
    problem_title: str | None = Field(default=None, max_length=256)
    x_request: str | None = Field(default=None, max_length=4096)
    x_url: str | None = Field(default=None, max_length=2048)
    instagram_username: str | None = Field(default=None, max_length=30)
    # Instagram: logging in, or which code it asks for.
    instagram_phase: Literal["logging_in", "two_factor", "challenge"] = "logging_in"


def services_of(manager: DialogManager) -> Services:
    services: Services = manager.middleware_data["services"]
    return services


def user_of(manager: DialogManager) -> User:
    user: User = manager.middleware_data["db_user"]
    return user


def start_of(manager: DialogManager) -> LinkingStart:
    data = manager.start_data
    try:
        return LinkingStart.model_validate(data if isinstance(data, dict) else {})
    except ValidationError:
        return LinkingStart()


def load_draft(manager: DialogManager) -> LinkingDraft:
    try:
        return LinkingDraft.model_validate(manager.dialog_data)
    except ValidationError:  # stored by an older version: start over rather than fail
        return LinkingDraft()


def save_draft(manager: DialogManager, draft: LinkingDraft) -> None:
    manager.dialog_data.clear()
    manager.dialog_data.update(draft.model_dump(mode="json"))


def chat_message(manager: DialogManager) -> Message:
    """A message of this chat to answer: the user's, the pressed one, or (for an update
    from a background task) a stand-in that only carries the chat."""
    event = manager.event
    if isinstance(event, Message):
        return event
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
        return event.message
    bot: Bot = manager.middleware_data["bot"]
    if isinstance(event, DialogUpdateEvent):
        chat = event.chat
    else:
        chat = manager.middleware_data["event_chat"]
    return Message(message_id=0, date=datetime.now(UTC), chat=chat).as_(bot)


def fsm_context_of(manager: DialogManager, user: User) -> FSMContext:
    """The user's FSM context (the new post's draft lives there). An update brought by a
    background task (an Instagram login's answer) comes without one: it is built the way
    aiogram builds it for a private chat."""
    state: FSMContext | None = manager.middleware_data.get("state")
    if state is not None:
        return state
    bot: Bot = manager.middleware_data["bot"]
    key = StorageKey(bot_id=bot.id, chat_id=user.id, user_id=user.id)
    return FSMContext(storage=manager.middleware_data["fsm_storage"], key=key)


async def end_linking(
    manager: DialogManager, ending: Ending | None = None, result: int | None = None
) -> None:
    """Closes the dialog; `result` is the linked target's id (the parent dialog gets it)."""
    draft = load_draft(manager)
    draft.ending = ending
    save_draft(manager, draft)
    await manager.done(result)


async def on_linking_closed(result: Any, manager: DialogManager) -> None:
    """Every linking dialog's on_close: say what was linked, then go where the user came
    from. A parent dialog (linking started as a subdialog) shows itself again."""
    services, user = services_of(manager), user_of(manager)
    draft, start = load_draft(manager), start_of(manager)
    message = chat_message(manager)
    target = None
    if isinstance(result, int):
        target = await services.targets.get(user.id, result)
    # The first message sent takes the channel picker's reply keyboard away.
    remove = ReplyKeyboardRemove() if start.picker else None
    if target is not None:
        await message.answer(linked_text(target, target_name(target)), reply_markup=remove)
        remove = None
    if len(manager.current_stack().intents) > 1:
        return
    if draft.ending == "cancelled":
        if remove is not None:
            await message.answer(_("Linking cancelled."), reply_markup=remove)
            remove = None
            if not start.return_to_picker:
                await message.answer(_("Main menu:"), reply_markup=main_menu())
        else:
            await message.answer(
                _("Linking cancelled."),
                reply_markup=None if start.return_to_picker else main_menu(),
            )
    if remove is not None:
        await message.answer(_("Closed the channel picker."), reply_markup=remove)
    if start.return_to_picker:
        if draft.ending != "refused":
            from handlers import compose  # at call time: compose's picker shows our buttons

            await compose.resume_new_post(
                message,
                fsm_context_of(manager, user),
                services,
                user,
                linked_target_id=target.id if target is not None else None,
            )
        return
    if target is not None and target.platform != Platform.TELEGRAM:
        await message.answer(_("What next?"), reply_markup=main_menu())
    elif target is not None or draft.ending == "back":
        from handlers import targets  # at call time: the targets list shows our buttons

        await targets.show_targets(message, services, user)
