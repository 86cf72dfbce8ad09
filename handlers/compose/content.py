"""Start, title and content: text, a photo or an album."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from content.media import album_problem
from handlers.compose.albums import AlbumCollector
from handlers.compose.draft import load_draft, save_draft
from handlers.compose.keyboards import content_keyboard
from handlers.compose.media import album_refusal_text, media_ref, ref_of_piece
from handlers.compose.preview import send_preview
from handlers.compose.states import NewPost
from handlers.compose.steps import ask_for_content, start_new_post
from handlers.compose.texts import ALBUM_LIMIT, title_prompt, title_refused
from handlers.keyboards import back_cancel
from handlers.render import message_html
from services.container import Services
from services.posts import TITLE_LIMIT
from storage.models import User


async def cmd_new(message: Message, state: FSMContext, services: Services) -> None:
    await start_new_post(message, state, services)


async def on_menu_new(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_new_post(query.message, state, services)


async def on_title_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.title)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(title_prompt(), reply_markup=back_cancel())


async def on_title_typed(message: Message, state: FSMContext, services: Services) -> None:
    title = " ".join((message.text or "").split())
    if not title or title.startswith("/") or len(title) > TITLE_LIMIT:
        await message.answer(title_refused(), reply_markup=back_cancel())
        return
    draft = await load_draft(state)
    draft.title = title
    await save_draft(state, draft)
    await ask_for_content(message, state, services, draft)


async def on_title_not_text(message: Message) -> None:
    await message.answer(_("Send the title as text."), reply_markup=back_cancel())


async def on_post_photos(
    message: Message,
    state: FSMContext,
    services: Services,
    db_user: User,
    *,
    albums: AlbumCollector,
) -> None:
    """A photo, video, GIF or file, or an album: the post's media (at the preview they join
    the post). Media Telegram would not send as one album are refused, saying why."""
    group = await albums.collect_pieces(
        message, services.limits.album_wait_seconds, services.albums
    )
    if group is None:
        return  # another message of the album handles it
    draft = await load_draft(state)
    adding = await state.get_state() in (NewPost.add_photo.state, NewPost.preview.state)
    single = None if message.media_group_id else media_ref(message)
    received = (
        [single]
        if single is not None
        else [ref_of_piece(m.file_id) for m in group if m.file_id is not None]
    )
    media = (list(draft.media) if adding else []) + received
    if len(media) > ALBUM_LIMIT:
        await message.answer(
            _("An album holds up to {n} photos. Send fewer.").format(n=ALBUM_LIMIT),
            reply_markup=back_cancel(),
        )
        return
    problem = album_problem([m.kind for m in media])
    if problem is not None:
        await message.answer(album_refusal_text(problem), reply_markup=back_cancel())
        return
    captions = [m.caption for m in group if m.caption]
    draft.text = captions[0] if captions else (draft.text if adding else "")
    draft.media = media
    await send_preview(message, state, services, db_user, draft)


async def on_post_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    draft.text, draft.media, draft.source, draft.prompt = message_html(message), [], "manual", None
    await send_preview(message, state, services, db_user, draft)


async def on_new_version_at_preview(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    """Text sent while looking at the preview is the next version of the post (photos stay:
    it becomes their caption)."""
    draft = await load_draft(state)
    draft.text, draft.source, draft.prompt = message_html(message), "manual", None
    await send_preview(message, state, services, db_user, draft)


async def on_post_unsupported(message: Message, state: FSMContext, services: Services) -> None:
    draft = await load_draft(state)
    await message.answer(
        _("Send text, a photo, video, GIF or file, or an album."),
        reply_markup=content_keyboard(
            has_title=bool(draft.title), ai_available=services.generator.available
        ),
    )


async def on_add_photo_not_photo(message: Message) -> None:
    await message.answer(_("Send a photo, or several as an album."), reply_markup=back_cancel())
