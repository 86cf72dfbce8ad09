"""The auto-delete option at the confirmation (issue 12): each tap moves to the next delay
that every chosen target's platform can honour (Telegram deletes only within 48 hours of
sending, so longer delays are not offered for a channel), then back to off."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from handlers.compose.draft import load_draft, save_draft
from handlers.compose.steps import show_confirm
from services.container import Services
from services.post_life import auto_delete_choices
from storage.models import User


def next_delay(current: int | None, choices: tuple[int, ...]) -> int | None:
    cycle: list[int | None] = [None, *choices]
    if current not in cycle:
        return None
    return cycle[(cycle.index(current) + 1) % len(cycle)]


async def on_option_autodelete(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    platforms = await services.targets.platforms(db_user.id, draft.chosen)
    delay = next_delay(draft.options.auto_delete_after, auto_delete_choices(platforms))
    draft.with_options(auto_delete_after=delay)
    await save_draft(state, draft)
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, services, db_user, draft, edit=True)
