"""Writing the post with the AI generator. The model is awaited with no database unit open:
the platforms are read first (one short unit), the draft is saved after."""

from __future__ import annotations

import html
import logging

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from content.fitting import plain_text
from content.generator import Brief, GenerationError
from handlers.compose.draft import ComposeDraft, load_draft
from handlers.compose.preview import send_preview
from handlers.compose.states import NewPost
from handlers.compose.steps import ask_for_content
from handlers.failures import ai_quota_text, failure_text
from handlers.keyboards import back_cancel
from services.container import Services
from services.posts import TITLE_LIMIT
from services.quota import AiQuotaExceeded
from storage.models import User

log = logging.getLogger("handlers")


async def on_ai_pressed(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    if not services.generator.available:
        await query.answer(
            _("AI writing is not configured on this bot. Write the post yourself."),
            show_alert=True,
        )
        return
    await state.set_state(NewPost.ai_prompt)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("What should the post be about? Describe the topic, tone and length."),
            reply_markup=back_cancel(),
        )


async def generate_into_state(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    draft: ComposeDraft,
    prompt: str,
    avoid: tuple[str, ...] = (),
) -> bool:
    """Write the post from `prompt` and show its preview; on failure the draft stays."""
    platforms = await services.targets.platforms(user.id, draft.chosen)
    platform = platforms[0]
    try:
        # Counted (and committed) before the model is called: see services/quota.py.
        await services.ai_quota.spend(user.id)
    except AiQuotaExceeded as exc:
        await message.answer(ai_quota_text(exc), reply_markup=back_cancel())
        return False
    await message.answer(_("✨ Writing…"))
    try:
        generated = await services.generator.generate(
            Brief(
                title=draft.title,
                description=prompt,
                platform=platform,
                language=user.language,
                avoid=avoid,
            )
        )
    except GenerationError as exc:
        # The details stay in the log; the user reads what to do, in their language.
        log.warning("AI generation for user %s failed (%s): %s", user.id, exc.code, exc.reason)
        await message.answer(
            _("The AI could not write it. {reason}").format(
                reason=html.escape(failure_text(exc.code))
            ),
            reply_markup=back_cancel(),
        )
        return False
    # The state may have moved on while the model wrote (another press): start from what
    # is stored now, not from what was read before the wait.
    draft = await load_draft(state)
    # The draft keeps Telegram HTML. A Telegram text is sanitized HTML already (escaping it
    # again showed readers literal tags); the other platforms' texts are plain.
    draft.text = (
        generated.text if platform == "telegram" else html.escape(generated.text, quote=False)
    )
    draft.title = draft.title or (generated.title or "")[:TITLE_LIMIT] or None
    draft.source, draft.prompt = "ai", prompt
    await send_preview(message, state, services, user, draft)
    return True


async def on_ai_prompt(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    prompt = (message.text or "").strip()
    draft = await load_draft(state)
    if not services.generator.available:
        await ask_for_content(message, state, services, draft)
        return
    await generate_into_state(message, state, services, db_user, draft, prompt)


async def on_ai_prompt_not_text(message: Message) -> None:
    await message.answer(_("Describe the post in words."), reply_markup=back_cancel())


async def on_regenerate(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    if not draft.prompt or not services.generator.available:
        await query.answer(_("There is nothing to regenerate."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        previous = plain_text(None, draft.text)
        await generate_into_state(
            query.message, state, services, db_user, draft, draft.prompt, avoid=(previous,)
        )
