"""Drafts a rule prepared for approval: the message with the exact draft, and Approve /
Edit / Regenerate / Skip. Every draft is loaded for the user who pressed the button."""

from __future__ import annotations

import contextlib
import logging
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from content.fitting import plain_text, sanitize_telegram_html
from content.generator import GenerationError
from handlers.failures import ai_quota_text, failure_text
from handlers.render import message_html, target_label
from handlers.rules.callbacks import ApprovalCb
from handlers.rules.keyboards import approval_keyboard, cancel_only
from handlers.rules.listing import message_of
from handlers.rules.states import ApprovalEdit, ApprovalEditData, load_approval_edit
from handlers.rules.texts import draft_html, local_moment, rule_error_text
from services.container import Services
from services.rules import AiQuotaExceeded, ApprovalDraft, RuleError
from storage.models import User

log = logging.getLogger("handlers")


async def send_approval_draft(
    bot: Bot, chat_id: int, draft: ApprovalDraft, timezone: str, *, flagged: bool = False
) -> None:
    """The header (rule, targets, time, what happens with no answer), then the exact draft
    with Approve / Edit / Regenerate / Skip. Call it inside the recipient's locale."""
    content = draft.content
    when = draft.publish_at
    policy = draft.rule.approval_policy if draft.rule else "skip"
    header = _("🕓 Rule <b>{name}</b> prepared a post for {targets}.").format(
        name=escape(draft.rule.name if draft.rule else "—"),
        targets=", ".join(target_label(t) for _p, t in draft.posts) or "—",
    )
    if when is not None:
        if policy == "publish":
            header += "\n" + _(
                "It will be published at {when}. If you do not answer by then, it is published "
                "as it is."
            ).format(when=local_moment(when, timezone))
        else:
            header += "\n" + _(
                "Approve it to publish at {when}. If you do not answer by then, it is skipped."
            ).format(when=local_moment(when, timezone))
    if flagged:
        header += "\n" + _("⚠️ Check it: it looks like a recent post.")
    keyboard = approval_keyboard(content.id)
    await bot.send_message(chat_id, header)
    if draft.platform == "telegram":
        body = draft_html(draft.platform, content.title, content.text)
    else:
        # The text is Telegram HTML; X and Instagram get it as plain text.
        body = escape(plain_text(content.title, content.text)) or "—"
    try:
        await bot.send_message(chat_id, body, reply_markup=keyboard)
    except TelegramBadRequest:
        # Markup Telegram would not take must not hide the draft: show it as plain text.
        await bot.send_message(chat_id, escape(content.text), reply_markup=keyboard)


async def _approval_target(
    query: CallbackQuery, callback_data: ApprovalCb, services: Services, user: User
) -> ApprovalDraft | None:
    draft = await services.approvals.load(user.id, callback_data.content_id)
    if draft is None or not draft.posts:
        await query.answer(_("This draft is not yours or no longer exists."), show_alert=True)
        return None
    if not draft.waiting:
        await query.answer(_("This draft was already decided."), show_alert=True)
        await _drop_buttons(query)
        return None
    return draft


async def _drop_buttons(query: CallbackQuery) -> None:
    if (message := message_of(query)) is not None:
        with contextlib.suppress(TelegramAPIError):
            await message.edit_reply_markup(reply_markup=None)


async def on_approve(
    query: CallbackQuery, callback_data: ApprovalCb, services: Services, db_user: User
) -> None:
    if await _approval_target(query, callback_data, services, db_user) is None:
        return
    approved = await services.approvals.approve(db_user.id, callback_data.content_id)
    if approved is None:
        await query.answer(_("This draft was already decided."), show_alert=True)
        return
    await query.answer(_("Approved"))
    await _drop_buttons(query)
    if (message := message_of(query)) is not None:
        await message.answer(
            _("✅ Approved. It will be published at {when}.").format(
                when=local_moment(approved.publish_at, db_user.timezone)
            )
        )


async def on_skip(
    query: CallbackQuery, callback_data: ApprovalCb, services: Services, db_user: User
) -> None:
    if await _approval_target(query, callback_data, services, db_user) is None:
        return
    if not await services.approvals.skip(db_user.id, callback_data.content_id):
        await query.answer(_("This draft was already decided."), show_alert=True)
        return
    await query.answer(_("Skipped"))
    await _drop_buttons(query)
    if (message := message_of(query)) is not None:
        await message.answer(_("⏭ Skipped. This post will not be published."))


async def on_approval_edit(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if await _approval_target(query, callback_data, services, db_user) is None:
        return
    await state.set_state(ApprovalEdit.text)
    await state.set_data(
        ApprovalEditData(content_id=callback_data.content_id).model_dump(mode="json")
    )
    await query.answer()
    if (message := message_of(query)) is not None:
        await message.answer(
            _("Send the new text of the post. It stays a draft until you approve it."),
            reply_markup=cancel_only(),
        )


async def on_approval_new_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    editing = await load_approval_edit(state)
    if editing is None:
        await state.clear()
        await message.answer(rule_error_text(RuleError("not_waiting")))
        return
    text = sanitize_telegram_html(message_html(message))
    try:
        draft = await services.approvals.replace_text(db_user.id, editing.content_id, text)
    except RuleError as exc:
        await message.answer(rule_error_text(exc), reply_markup=cancel_only())
        if exc.code != "does_not_fit":
            await state.clear()
        return
    await state.clear()
    assert message.bot is not None
    await send_approval_draft(message.bot, message.chat.id, draft, db_user.timezone)


async def on_approval_new_text_unsupported(message: Message) -> None:
    await message.answer(_("Send the new text of the post."), reply_markup=cancel_only())


async def on_approval_regenerate(
    query: CallbackQuery, callback_data: ApprovalCb, services: Services, db_user: User
) -> None:
    found = await _approval_target(query, callback_data, services, db_user)
    if found is None:
        return
    if not services.generator.available or not found.regenerable:
        await query.answer(_("Only AI-written posts can be regenerated."), show_alert=True)
        return
    await query.answer(_("Generating a new version…"))
    message = message_of(query)
    try:
        draft = await services.approvals.regenerate(
            db_user.id, callback_data.content_id, services.generator
        )
    except GenerationError as exc:
        log.warning(
            "AI regeneration for user %s failed (%s): %s", db_user.id, exc.code, exc.reason
        )
        if message is not None:
            await message.answer(
                _("The AI could not write a new version. {reason}").format(
                    reason=escape(failure_text(exc.code))
                )
            )
        return
    except RuleError as exc:
        if message is not None:
            await message.answer(rule_error_text(exc))
        return
    except AiQuotaExceeded as exc:
        if message is not None:
            await message.answer(ai_quota_text(exc))
        return
    await _drop_buttons(query)
    if message is not None and message.bot is not None:
        await send_approval_draft(message.bot, message.chat.id, draft, db_user.timezone)
