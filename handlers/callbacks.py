"""Every button's callback data. Ids inside them are only hints: handlers load the object
for the user who pressed the button, so a forged or stale button finds nothing."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    action: str  # new, scheduled, rules, targets, settings, help, home


class DraftCb(CallbackData, prefix="draft"):
    action: str  # publish_now, schedule, edit, delete, fix_truncate, confirm, back


class TargetPickCb(CallbackData, prefix="tpick"):
    target_id: int  # 0 = done


class TimeCb(CallbackData, prefix="time"):
    preset: str  # now, 1h, 3h, evening, tomorrow_morning, tomorrow_evening


class PostCb(CallbackData, prefix="post"):
    action: str  # view, cancel, retry, published, publish_now, reschedule, duplicate
    post_id: int


class PostListCb(CallbackData, prefix="posts"):
    status: str  # all, scheduled, published, failed
    page: int


class TargetCb(CallbackData, prefix="target"):
    action: str  # link, view, unlink, unlink_yes, list
    target_id: int = 0


class RuleCb(CallbackData, prefix="rule"):
    action: str
    rule_id: int = 0


class SettingsCb(CallbackData, prefix="set"):
    action: str  # lang, tz
    value: str = ""


class NavCb(CallbackData, prefix="nav"):
    action: str  # back, cancel


class AccountCb(CallbackData, prefix="acct"):
    action: str
    platform: str = ""
    target_id: int = 0
