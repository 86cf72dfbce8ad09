"""The new-post dialog's router: title → text, photos or an album, or AI → preview per
platform with fix-its → targets → time → Telegram options → confirm."""

from __future__ import annotations

from functools import partial

from aiogram import F, Router
from aiogram.filters import Command

from handlers.callbacks import MenuCb, NavCb
from handlers.compose import actions, ai, autodelete, back, confirm, content, queue, schedule
from handlers.compose.albums import AlbumCollector, UserLocks
from handlers.compose.callbacks import DraftCb, OptionCb, TargetPickCb, TimeCb
from handlers.compose.states import NewPost

TYPED = F.text & ~F.text.startswith("/")
NOT_COMMAND = ~F.text.startswith("/")
BACK = NavCb.filter(F.action == "back")
# What a post's media may be (a GIF's message has a document too: it is caught either way).
MEDIA = F.photo | F.video | F.animation | F.document


def build_router() -> Router:
    """A new router with its own album collector and confirm locks (one per app)."""
    router = Router(name="compose")
    albums = AlbumCollector()
    confirm_locks = UserLocks()
    message, callback = router.message.register, router.callback_query.register

    # Start, title, content.
    message(content.cmd_new, Command("new"))
    callback(content.on_menu_new, MenuCb.filter(F.action == "new"))
    callback(content.on_title_pressed, NewPost.content, DraftCb.filter(F.action == "title"))
    message(content.on_title_typed, NewPost.title, TYPED)
    message(content.on_title_not_text, NewPost.title, NOT_COMMAND)
    on_photos = partial(content.on_post_photos, albums=albums)
    for photo_state in (NewPost.content, NewPost.add_photo, NewPost.preview):
        # At the preview, a photo (video, GIF, file) joins the post.
        message(on_photos, photo_state, MEDIA)
    message(content.on_post_text, NewPost.content, TYPED)
    message(content.on_new_version_at_preview, NewPost.preview, TYPED)
    message(content.on_post_unsupported, NewPost.content, NOT_COMMAND)
    message(content.on_add_photo_not_photo, NewPost.add_photo, NOT_COMMAND)

    # AI.
    callback(ai.on_ai_pressed, NewPost.content, DraftCb.filter(F.action == "ai"))
    message(ai.on_ai_prompt, NewPost.ai_prompt, TYPED)
    message(ai.on_ai_prompt_not_text, NewPost.ai_prompt, NOT_COMMAND)
    callback(ai.on_regenerate, NewPost.preview, DraftCb.filter(F.action == "regenerate"))

    # The preview's actions.
    preview_actions = (
        ("fix_truncate", actions.on_draft_truncate),
        ("fix_thread", actions.on_draft_thread),
        ("add_photo", actions.on_draft_add_photo),
        ("edit", actions.on_draft_edit),
        ("delete", actions.on_draft_delete),
    )
    for action, handler in preview_actions:
        callback(handler, NewPost.preview, DraftCb.filter(F.action == action))
    callback(
        actions.on_draft_choose_targets,
        NewPost.preview,
        DraftCb.filter(F.action.in_({"schedule", "publish_now"})),
    )

    # 📥 Add to queue (issue 12): one tap with one target, one more for default slots.
    callback(
        partial(queue.on_add_to_queue, confirm_locks=confirm_locks),
        NewPost.preview,
        DraftCb.filter(F.action == "queue"),
    )
    callback(
        partial(queue.on_use_defaults, confirm_locks=confirm_locks),
        DraftCb.filter(F.action == "queue_defaults"),
    )
    callback(back.on_back_to_preview, BACK, queue.QueueOffer.defaults)

    # Targets and time.
    callback(schedule.on_target_toggle, NewPost.targets, TargetPickCb.filter(F.target_id > 0))
    callback(schedule.on_targets_done, NewPost.targets, TargetPickCb.filter(F.target_id == 0))
    callback(schedule.on_time_preset, NewPost.time, TimeCb.filter())
    message(schedule.on_time_typed, NewPost.time, TYPED)
    message(schedule.on_time_not_text, NewPost.time, NOT_COMMAND)

    # Options and confirm.
    callback(
        confirm.on_option_toggle,
        NewPost.confirm,
        OptionCb.filter(F.action.in_({"silent", "pin"})),
    )
    callback(confirm.on_option_buttons, NewPost.confirm, OptionCb.filter(F.action == "buttons"))
    callback(
        autodelete.on_option_autodelete,
        NewPost.confirm,
        OptionCb.filter(F.action == "autodelete"),
    )
    callback(
        confirm.on_option_buttons_clear,
        NewPost.buttons,
        OptionCb.filter(F.action == "buttons_clear"),
    )
    message(confirm.on_buttons_typed, NewPost.buttons, TYPED)
    message(confirm.on_buttons_not_text, NewPost.buttons, NOT_COMMAND)
    # Any state: a second press of Confirm must learn the post was saved, not "stale button".
    callback(
        partial(confirm.on_confirm, confirm_locks=confirm_locks),
        DraftCb.filter(F.action == "confirm"),
    )

    # Back.
    callback(back.on_back_from_content, BACK, NewPost.content)
    for state in (NewPost.title, NewPost.ai_prompt, NewPost.preview):
        callback(back.on_back_to_content, BACK, state)
    for state in (NewPost.targets, NewPost.add_photo):
        callback(back.on_back_to_preview, BACK, state)
    callback(back.on_back_to_targets, BACK, NewPost.time)
    callback(back.on_back_from_confirm, BACK, NewPost.confirm)
    callback(back.on_back_to_confirm, BACK, NewPost.buttons)
    return router
