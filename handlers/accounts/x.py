"""Linking an X account: OAuth 1.0a with a PIN the user copies from X."""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.accounts.dialog import (
    begin_linking,
    finish_linking,
    leave_linking,
    load_draft,
    save_draft,
)
from handlers.accounts.keyboards import cancel_keyboard
from handlers.accounts.states import LinkX
from handlers.accounts.texts import no_secrets_text, x_unreachable_text
from handlers.keyboards import main_menu
from handlers.render import target_name
from platforms.credentials import SecretsUnavailableError
from platforms.x import XLinkError
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services

PIN_RE = re.compile(r"^\d{4,10}$")


async def cmd_link_x(message: Message, state: FSMContext, services: Services) -> None:
    await start_x_linking(message, state, services, by_command=True)


async def on_link_x_pressed(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_x_linking(query.message, state, services, by_command=False)


async def start_x_linking(
    message: Message, state: FSMContext, services: Services, *, by_command: bool
) -> None:
    if not services.accounts.can_store_secrets:
        await message.answer(no_secrets_text())
        return
    if not services.linkers.x.configured:
        await message.answer(
            _(
                "X is not configured on this bot. Its owner needs an X developer app and must "
                "set X_CONSUMER_KEY and X_CONSUMER_SECRET, then restart the bot."
            )
        )
        return
    try:
        authorization = await services.linkers.x.start()
    except XLinkError:
        await message.answer(x_unreachable_text())
        return
    await begin_linking(state, by_command=by_command)
    draft = await load_draft(state)
    # The request token's secret is a secret too: it waits for the PIN encrypted.
    draft.x_request = services.accounts.seal(authorization.request_token)
    await save_draft(state, draft)
    await state.set_state(LinkX.pin)
    await message.answer(
        _(
            "Linking an X account:\n"
            '1. Open <a href="{url}">this link</a> and press "Authorize app".\n'
            "2. X shows a PIN code. Send it to me here."
        ).format(url=escape(authorization.url, quote=True)),
        reply_markup=cancel_keyboard(),
        disable_web_page_preview=True,
    )


async def on_x_pin(message: Message, state: FSMContext, services: Services, db_user: User) -> None:
    pin = (message.text or "").strip().replace(" ", "")
    if not PIN_RE.match(pin):
        await message.answer(
            _("Send the PIN code X showed you: digits only, for example 1234567."),
            reply_markup=cancel_keyboard(),
        )
        return
    draft = await load_draft(state)
    try:
        request_token = services.accounts.unseal(draft.x_request or "")
    except SecretsUnavailableError:
        await leave_linking(state)
        await message.answer(_("This linking attempt expired. Start again with /link_x."))
        return
    try:
        # The network first, with no unit of work open; then one write unit stores it.
        account = await services.linkers.x.finish(request_token, pin)
    except XLinkError as exc:
        if exc.code == "rejected":
            await message.answer(
                _(
                    "X did not accept this PIN. Check it and send it again, or start over "
                    "with /link_x."
                ),
                reply_markup=cancel_keyboard(),
            )
        else:
            await message.answer(x_unreachable_text())
        return
    target = await services.accounts.save_x(db_user.id, account)
    text = _("✅ X account {title} is linked. I will publish there.").format(
        title=target_name(target)
    )
    if not await finish_linking(message, state, services, db_user, target, text):
        await message.answer(_("What next?"), reply_markup=main_menu())
