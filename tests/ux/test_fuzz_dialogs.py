"""Property: whatever a person types or presses, in whatever dialog state, the bot answers
and never fails. Random text, random callback data, and well-formed callback data of every
factory with random ids are sent in random FSM states with plausible data; the global error
handler logging a failure counts as a failure."""

from __future__ import annotations

import importlib
import logging
import string
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram_dialog.utils import CB_SEP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import callbacks
from handlers.accounts import LinkChannel
from handlers.compose.states import NewPost
from handlers.posts.states import Reschedule
from handlers.rules.callbacks import RulesCb
from handlers.rules.states import ApprovalEdit, RuleDialog
from handlers.settings.states import Settings as SettingsStates
from services.clock import ManualClock
from services.rules import RuleDraft
from storage.models import PostStatus
from storage.rule_config import ContentConfig, IntervalSchedule
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.conftest import sqlite_copy
from tests.ux.harness import Chat, Harness, ScriptedGenerator, running_bot
from tests.ux.test_lists_settings_admin import make_posts
from workers.auto_posting import AutoPostingWorker

STATES = [None] + [
    s.state
    for group in (NewPost, LinkChannel, Reschedule, SettingsStates, RuleDialog, ApprovalEdit)
    for s in group.__states__
]
WORD = st.text(alphabet=string.ascii_lowercase + "_", min_size=0, max_size=12)
SMALL_ID = st.one_of(st.integers(0, 8), st.integers(0, 2_147_483_647))
KNOWN_ACTIONS = [
    "new", "scheduled", "rules", "targets", "settings", "help", "home", "publish_now",
    "schedule", "edit", "delete", "fix_truncate", "fix_thread", "add_photo", "title", "ai",
    "regenerate", "confirm", "view", "cancel", "retry", "published", "reschedule",
    "duplicate", "link", "unlink", "unlink_yes", "list", "lang", "tz", "tz_set", "back",
    "silent", "pin", "buttons", "buttons_clear", "stats", "workers", "failed", "users",
]  # fmt: skip
ACTION = st.one_of(st.sampled_from(KNOWN_ACTIONS), WORD)


def factory_strategy(factory: type[CallbackData]) -> st.SearchStrategy[str]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in factory.model_fields.items():
        if get_origin(info.annotation) is Literal:
            # Only these values pack; anything else is forged by hand below.
            fields[name] = st.sampled_from(get_args(info.annotation))
        elif name == "action":
            fields[name] = ACTION
        elif info.annotation is int:
            upper = min(
                [getattr(m, "le", 2_147_483_647) for m in info.metadata] or [2_147_483_647]
            )
            fields[name] = st.one_of(st.integers(0, 8), st.integers(0, upper))
        elif name == "value":
            fields[name] = st.one_of(
                st.sampled_from(["en", "ru", "de", "Europe/Berlin", "Nowhere/City", ""]), WORD
            )
        else:
            fields[name] = st.one_of(
                st.sampled_from(
                    ["all", "scheduled", "published", "failed", "now", "1h", "evening", "x"]
                ),
                WORD,
            )
    return st.builds(factory, **fields).map(lambda cb: cb.pack())


# The shared kit's factories and every feature's.
CALLBACK_MODULES = [callbacks] + [
    importlib.import_module(f"handlers.{feature}.callbacks")
    for feature in ("accounts", "admin", "compose", "posts", "rules", "targets")
]
FACTORIES = sorted(
    {
        value
        for module in CALLBACK_MODULES
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, CallbackData)
        and value is not CallbackData
    },
    key=lambda factory: factory.__name__,
)
CALLBACK = st.one_of(
    *[factory_strategy(f) for f in FACTORIES],
    st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64),
    # Forged by hand: ids no database holds, negative pages, missing parts.
    st.sampled_from(
        [
            "post:view:99999999999999999999",
            "posts:all:-1",
            "posts:nosuch:0",
            "tpick:-5",
            "tpick:99999999999",
            "rl:view:99999999999999999999",
            "rl:pause:-1",
            "rwt:2147483648",
            "ap:approve:99999999999999999999",
            "rw:stype:" + "x" * 20,
            "rw:nosuch:",
            "time:yesterday",
            "draft:nosuch",
            "opt:nosuch",
            "target:view",
            "post:",
        ]
    ),
)
TEXT = st.one_of(
    st.text(min_size=1, max_size=300).filter(lambda s: s.strip() != ""),
    st.sampled_from(
        [
            "/start", "/menu", "/new", "/scheduled", "/channels", "/settings", "/help",
            "/cancel", "/link", "/rules", "/stats", "/workers", "/failed", "/users",
            "завтра в 18:00", "in 2 hours", "@technews", "@nosuchchannel", "Москва", "+3",
            "Buy - https://example.com", "-1001234567890", "yesterday 10:00",
        ]
    ),
)  # fmt: skip
# aiogram_dialog windows' buttons: the n-th button of the newest keyboard, or forged data
# under the intent id of the newest dialog button (widget ids and item values of any kind).
DIALOG_PRESS = st.one_of(
    st.tuples(st.just("tap"), st.integers(0, 30)),
    st.tuples(
        st.just("forge"),
        st.one_of(
            st.sampled_from(
                [
                    *["lang:de", "lang:", "zone:Mars/Base", "zone:", "tz", "menu", "__back__"],
                    *["x:y", "days:9", "days:0", "targets:99999999999", "targets:-1"],
                    *["kind:bogus", "hours:0", "hours:999", "style:x", "save", "try"],
                ]
            ),
            WORD,
        ),
    ),
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), TEXT),
        st.tuples(st.just("press"), CALLBACK),
        st.tuples(st.just("photo"), st.none()),
        DIALOG_PRESS,
    ),
    min_size=1,
    max_size=5,
)


@st.composite
def dialog_data(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["text"] = draw(st.text(max_size=120))
    if draw(st.booleans()):
        data["title"] = draw(st.text(min_size=1, max_size=40))
    if draw(st.booleans()):
        data["media"] = [
            {"kind": "photo", "file_id": f"p{i}"} for i in range(draw(st.integers(0, 3)))
        ]
    if draw(st.booleans()):
        data["chosen"] = draw(st.lists(st.integers(1, 6), max_size=3))
    if draw(st.booleans()):
        data["mode"] = draw(st.sampled_from(["schedule", "publish_now"]))
    if draw(st.booleans()):
        hours = draw(st.integers(-48, 48))
        data["when"] = "2026-12-01T09:00:00+00:00" if hours == 0 else None
        if hours:
            from datetime import UTC, datetime

            moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(hours=hours)
            data["when"] = moment.isoformat()
    if draw(st.booleans()):
        data["options"] = {
            "silent": draw(st.booleans()),
            "pin": draw(st.booleans()),
            "x_thread": draw(st.booleans()),
        }
    if draw(st.booleans()):
        data["prompt"] = draw(st.text(min_size=1, max_size=40))
    if draw(st.booleans()):
        data["post_id"] = draw(SMALL_ID)
    return data


RULE_SCHEDULES = [
    None,
    {"kind": "daily", "times": ["12:05"], "days_of_week": [1, 2, 3, 4, 5, 6, 7]},
    {"kind": "weekly", "times": [], "days_of_week": []},
    {"kind": "weekly", "times": ["99:99"], "days_of_week": [9]},
    {"kind": "interval", "hours": 6},
    {"kind": "interval", "hours": 0},
    {"kind": "cron", "expression": "5 12 * * mon-fri"},
    {"kind": "cron", "expression": "bad"},
]


@st.composite
def rule_dialog_data(draw: st.DrawFn) -> dict[str, Any]:
    """The rule dialog's draft (handlers.rules.states.WizardData, kept in the dialog's
    dialog_data) or the approval edit's FSM data (ApprovalEditData), with plausible and
    implausible values."""
    if draw(st.integers(0, 4)) == 0:
        return {"content_id": draw(SMALL_ID)}
    draft = {
        "name": draw(st.one_of(st.just(""), st.text(max_size=140))),
        "schedule": draw(st.sampled_from(RULE_SCHEDULES)),
        "content": {
            "kind": draw(st.sampled_from(["ai", "text"])),
            "description": draw(st.text(max_size=60)),
            "text": draw(st.one_of(st.none(), st.text(min_size=1, max_size=60))),
        },
        "target_ids": draw(st.lists(st.integers(0, 8), max_size=3)),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Moscow", "Nowhere/City"])),
        "approval_required": draw(st.booleans()),
        "approval_policy": draw(st.sampled_from(["skip", "publish"])),
        "daily_cap": draw(st.sampled_from([None, 1, 3])),
        "quiet_hours": draw(st.sampled_from([{}, {"start": "22:00", "end": "08:00"}])),
        "monthly_token_budget": draw(st.sampled_from([None, 1, 30000])),
    }
    data: dict[str, Any] = {"draft": draft, "from_summary": draw(st.booleans())}
    if draw(st.booleans()):
        data["rule_id"] = draw(SMALL_ID)
    return data


class Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def failures() -> Any:
    handler = Failures()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    state=st.sampled_from(STATES),
    data=st.one_of(dialog_data(), rule_dialog_data()),
    actions=ACTIONS,
)
async def test_random_input_in_random_states_never_fails(
    migrated_sqlite: Path,
    fake_tg: FakeTelegram,
    clock: ManualClock,
    failures: Failures,
    state: str | None,
    data: dict[str, Any],
    actions: list[tuple[str, Any]],
) -> None:
    # Each example starts from its own fresh database (a copy of the migrated template), so
    # that a failure replays from its example alone.
    failures.records.clear()
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(
            database_url=sqlite_copy(migrated_sqlite, Path(folder)),
            telegram_api_base=fake_tg.base_url,
        )
        async with running_bot(settings, fake_tg, clock, generator=ScriptedGenerator()) as harness:
            await seed(harness, clock)
            await run_example(harness, failures, state, data, actions)


async def seed(harness: Harness, clock: ManualClock) -> None:
    """The owner's channel and posts, another user's posts, and a rule of the owner with a
    draft awaiting approval (so the rules' and approvals' buttons find something)."""
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    await make_posts(harness, USER_ID, [PostStatus.SCHEDULED, PostStatus.FAILED])
    await make_posts(harness, OTHER_USER_ID, [PostStatus.SCHEDULED, PostStatus.UNKNOWN])
    services = harness.app.services
    targets = await services.targets.list(USER_ID)
    await services.rules.create(
        USER_ID,
        RuleDraft(
            name="Fuzz rule",
            schedule=IntervalSchedule(hours=1),
            content=ContentConfig(text="Rule text {date} {time}"),  # varies (issue 11)
            target_ids=tuple(t.id for t in targets[:1]),
            approval_required=True,
        ),
    )
    worker = AutoPostingWorker(harness.app.db, clock=ManualClockAhead(clock, hours=1))
    assert (await worker.run_once()).succeeded == 1  # its draft awaits approval


class ManualClockAhead:
    """The fixture's clock seen some hours later (the rule is due), without moving it."""

    def __init__(self, clock: ManualClock, hours: float) -> None:
        self.clock = clock
        self.ahead = timedelta(hours=hours)

    def now(self) -> datetime:
        return self.clock.now() + self.ahead


async def open_link_channel(chat: Chat) -> None:
    await chat.send("/link")


async def open_settings(chat: Chat) -> None:
    await chat.send("/settings")


async def open_settings_timezone(chat: Chat) -> None:
    await open_settings(chat)
    await chat.tap("Time zone")


# aiogram_dialog windows keep their place in their own stack, not in the FSM state: the
# example opens them as a person does.
DIALOG_WINDOWS: dict[str, Callable[[Chat], Awaitable[None]]] = {
    str(LinkChannel.waiting.state): open_link_channel,
    str(SettingsStates.main.state): open_settings,
    str(SettingsStates.timezone.state): open_settings_timezone,
}


async def open_rule_window(chat: Chat, state: str | None, data: dict[str, Any]) -> None:
    """The rule dialog, opened from the list as a person does, then moved to `state` with
    `data` as its draft (valid or not, as an older version of the dialog might leave it)."""
    await chat.press_data(RulesCb(action="new").pack())
    harness = chat.harness
    storage = harness.app.dispatcher.storage
    stack = await storage.get_data(harness._key(USER_ID, "aiogd:stack:"))
    key = harness._key(USER_ID, f"aiogd:context:{stack['intents'][-1]}")
    context = await storage.get_data(key)
    context.update(state=state, dialog_data={"wizard": data})
    await storage.set_data(key, context)


RULE_WINDOWS = {s.state for s in RuleDialog.__all_states__}


def dialog_buttons(chat: Chat) -> list[str]:
    """Callback data of the newest keyboard's buttons."""
    for message in reversed(chat.sent()):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        found = [str(b["callback_data"]) for row in rows for b in row if "callback_data" in b]
        if found:
            return found
    return []


async def press_dialog(chat: Chat, kind: str, value: Any) -> None:
    buttons = dialog_buttons(chat)
    if kind == "tap":
        await chat.press_data(buttons[value % len(buttons)] if buttons else "nothing")
        return
    intent = next((b.split(CB_SEP)[0] for b in buttons if CB_SEP in b), "nointent")
    await chat.press_data(f"{intent}{CB_SEP}{value}"[:64])


async def run_example(
    harness: Harness,
    failures: Failures,
    state: str | None,
    data: dict[str, Any],
    actions: list[tuple[str, Any]],
) -> None:
    chat = harness.chat(USER_ID)
    if state in RULE_WINDOWS:
        await open_rule_window(chat, state, data)
    elif state in DIALOG_WINDOWS:
        await harness.set_state(USER_ID, None, data)
        await DIALOG_WINDOWS[state](chat)
    else:
        await harness.set_state(USER_ID, state, data)
    for kind, value in actions:
        before = len(harness.fake.calls)
        if kind == "text":
            await chat.send(value)
        elif kind == "photo":
            await chat.send_photo()
        elif kind in ("tap", "forge"):
            await press_dialog(chat, kind, value)
        else:
            await chat.press_data(value)
        answered = harness.fake.calls[before:]
        # Never silence: every input gets a message, an edit or a button answer.
        assert answered, (state, kind, value)
        if kind in ("press", "tap", "forge"):
            assert any(c.method == "answerCallbackQuery" for c in answered), (state, value)
    problems = [r.getMessage() for r in failures.records]
    assert not problems, (state, data, actions, problems)
