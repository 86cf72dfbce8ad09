"""The new-post dialog. Other features use only what is exported here."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from handlers.compose.albums import AlbumCollector
from handlers.compose.draft import ComposeDraft, load_draft, save_draft
from handlers.compose.media import media_ref
from handlers.compose.preview import send_preview
from handlers.compose.router import build_router
from handlers.compose.states import NewPost
from handlers.compose.steps import show_target_picker
from handlers.compose.texts import post_error_text, unreadable_time_text
from services.container import Services
from services.posts import Draft, PostCopy
from storage.models import User

__all__ = [
    "AlbumCollector",
    "build_router",
    "is_choosing_targets",
    "media_ref",
    "open_draft",
    "open_post_copy",
    "post_error_text",
    "resume_new_post",
    "unreadable_time_text",
]


async def is_choosing_targets(state: FSMContext) -> bool:
    """Whether the user is at the new post's target picker (linking from there returns)."""
    return await state.get_state() == NewPost.targets.state


async def resume_new_post(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    *,
    linked_target_id: int | None = None,
) -> None:
    """Show the unfinished new post's target picker again (after linking a channel or an
    account from it): the draft is not lost behind the main menu. `linked_target_id`, the
    user's target just linked, is chosen already."""
    draft = await load_draft(state)
    if linked_target_id is not None and linked_target_id not in draft.chosen:
        draft.chosen = sorted({*draft.chosen, linked_target_id})
        await save_draft(state, draft)
    await show_target_picker(message, state, services, user, draft)


async def open_post_copy(
    message: Message, state: FSMContext, services: Services, user: User, copy: PostCopy
) -> None:
    """Start a new post from an existing one's content, options and target (Duplicate)."""
    await state.clear()
    draft = ComposeDraft(
        title=copy.draft.title,
        text=copy.draft.text,
        media=list(copy.draft.media),
        options=copy.draft.options,
        chosen=[copy.target_id],
        source=copy.source,
        prompt=copy.prompt,
    )
    await send_preview(message, state, services, user, draft)


async def open_draft(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    content: Draft,
    *,
    chosen: list[int] | None = None,
    source: str = "manual",
) -> None:
    """Start a new post from given content (a post forwarded to the bot): its preview, then
    the usual flow. `chosen`: targets picked already (the user's own, checked by the caller)."""
    await state.clear()
    draft = ComposeDraft(
        title=content.title,
        text=content.text,
        media=list(content.media),
        options=content.options,
        chosen=sorted(set(chosen or [])),
        source=source,
    )
    await send_preview(message, state, services, user, draft)
