"""Every button's callback data. Ids inside them are only hints: handlers load the object
for the user who pressed the button, so a forged or stale button finds nothing."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A database id. Bounded so that a forged number never reaches SQL as an overflow: such
# data does not unpack, and the press falls through to the "no longer active" answer.
DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]
Page = Annotated[int, Field(ge=0, le=100_000)]


class MenuCb(CallbackData, prefix="menu"):
    action: str  # new, scheduled, rules, targets, settings, help, home


class DraftCb(CallbackData, prefix="draft"):
    # publish_now, schedule, edit, delete, fix_truncate, fix_thread, add_photo, title, ai,
    # regenerate, skip_title, confirm, options
    action: str


class TargetPickCb(CallbackData, prefix="tpick"):
    target_id: DbId  # 0 = done


class TimeCb(CallbackData, prefix="time"):
    preset: str  # now, 1h, 3h, evening, tomorrow_morning, tomorrow_evening


class PostCb(CallbackData, prefix="post"):
    action: str  # view, cancel, retry, published, publish_now, reschedule, duplicate
    post_id: DbId


class PostListCb(CallbackData, prefix="posts"):
    status: str  # all, scheduled, published, failed
    page: Page


class TargetCb(CallbackData, prefix="target"):
    action: str  # link, view, unlink, unlink_yes, list
    target_id: DbId = 0


class RuleCb(CallbackData, prefix="rule"):
    action: str
    rule_id: DbId = 0


class SettingsCb(CallbackData, prefix="set"):
    action: str  # lang, tz
    value: str = ""


class NavCb(CallbackData, prefix="nav"):
    action: str  # back, cancel


class AccountCb(CallbackData, prefix="acct"):
    action: str
    platform: str = ""
    target_id: int = 0


class OptionCb(CallbackData, prefix="opt"):
    action: str  # silent, pin, buttons, buttons_clear, x_thread


class AdminCb(CallbackData, prefix="adm"):
    action: str  # stats, workers, failed, users
