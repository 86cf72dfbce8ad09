"""Where the linking dialogs start: /link, /link_x, /link_instagram and the "➕ Link …"
buttons (the targets list, the new post's target picker). What cannot work on this bot is
said here, before any dialog opens; X's authorization link is asked for here too, so a
refusal leaves the screen the user came from as it was."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, StartMode

from handlers.accounts.callbacks import AccountCb
from handlers.accounts.draft import LinkingStart
from handlers.accounts.quick import channel_picker_keyboard, channel_picker_text
from handlers.accounts.states import LinkChannel, LinkInstagram, LinkX
from handlers.accounts.texts import no_secrets_text, x_not_configured_text, x_unreachable_text
from platforms.x import XLinkError

if TYPE_CHECKING:
    from services.container import Services

FIRST_STATE: dict[str, State] = {
    "telegram": LinkChannel.waiting,
    "x": LinkX.pin,
    "instagram": LinkInstagram.username,
}


async def open_linking(
    message: Message,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    platform: str,
    *,
    by_command: bool,
) -> None:
    if platform != "telegram" and not services.accounts.can_store_secrets:
        await message.answer(no_secrets_text())
        return
    if platform == "x" and not services.linkers.x.configured:
        await message.answer(x_not_configured_text())
        return
    from handlers import compose  # at call time: compose's picker shows our link buttons

    # A button pressed in the new post's target picker keeps the post and comes back to it
    # afterwards; a command, or a button elsewhere, ends whatever the user was in.
    start = LinkingStart(
        return_to_picker=not by_command and await compose.is_choosing_targets(state)
    )
    if platform == "x":
        try:
            authorization = await services.linkers.x.start()
        except XLinkError:
            await message.answer(x_unreachable_text())
            return
        start.x_request = services.accounts.seal(authorization.request_token)
        start.x_url = authorization.url
    if platform == "telegram":
        # Telegram's own chat picker, on a reply keyboard (a message of its own: a message
        # has either an inline or a reply keyboard); the dialog's close takes it away.
        await message.answer(channel_picker_text(), reply_markup=channel_picker_keyboard())
        start.picker = True
    if start.return_to_picker:
        # The post's draft stays in the FSM data for the picker to come back to; the state
        # is left so that the post's own handlers keep out of the linking dialog's way.
        await state.set_state(None)
    else:
        await state.clear()
    await dialog_manager.start(
        FIRST_STATE[platform], data=start.model_dump(mode="json"), mode=StartMode.RESET_STACK
    )


async def cmd_link(
    message: Message, state: FSMContext, dialog_manager: DialogManager, services: Services
) -> None:
    await open_linking(message, state, dialog_manager, services, "telegram", by_command=True)


async def cmd_link_x(
    message: Message, state: FSMContext, dialog_manager: DialogManager, services: Services
) -> None:
    await open_linking(message, state, dialog_manager, services, "x", by_command=True)


async def cmd_link_instagram(
    message: Message, state: FSMContext, dialog_manager: DialogManager, services: Services
) -> None:
    await open_linking(message, state, dialog_manager, services, "instagram", by_command=True)


async def on_link_pressed(
    query: CallbackQuery,
    callback_data: AccountCb,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await open_linking(
            query.message,
            state,
            dialog_manager,
            services,
            callback_data.platform,
            by_command=False,
        )
