"""Rules dialog robustness: random text and random (also forged or stale) buttons in random
windows of the rule dialog never end in an unhandled exception (issue 3, acceptance 2, for
this dialog).

A seeded random walk through the real dispatcher: reproducible, and each step is a real
update answered through the fake Bot API. The walk opens the rule dialog (new or edit) from
the list, presses the dialog's real buttons (also those of older, stale messages), forges
dialog buttons (unknown widgets, item ids out of range, another dialog's intent), and now and
then replaces the dialog's stored draft by a random one (valid or not)."""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import Update

from bot.factory import create_app
from handlers.callbacks import MenuCb, NavCb
from handlers.rules.callbacks import ApprovalAction, RuleAction
from handlers.rules.states import ApprovalEdit, RuleDialog
from services.clock import ManualClock
from storage.db import upgrade_database
from tests.ai.helpers import at, create_rule, seed_user_and_channel
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram

INTENT_SEPARATOR = "\x1d"  # aiogram_dialog's callback data: intent id, separator, widget

TEXTS = [
    "12:05",
    "09:00, 18:30",
    "25:61",
    "0",
    "6",
    "168",
    "999",
    "-3",
    "abc",
    "",
    "5 12 * * mon-fri",
    "61 * * * *",
    "* * *",
    "Создай пост о технологиях",
    "/cancel",
    "/rules",
    "/start",
    "<b>bold</b> & <i>x",
    "🚀" * 50,
    "x" * 5000,
    "witty",
    "@channel",
]
# Forged items of the dialog's own widgets: ids out of range, unknown values.
FORGED_ITEMS = [
    "kind:bogus",
    "kind:" + "x" * 40,
    "days:8",
    "days:0",
    "days:-1",
    "hours:999",
    "hours:0",
    "hours:abc",
    "style:nonsense",
    "targets:99999",
    "targets:99999999999999999999",
    "targets:-1",
    "nosuchwidget",
    "",
]
RULE_ACTIONS = [*get_args(RuleAction), "bogus"]
APPROVAL_ACTIONS = [*get_args(ApprovalAction), "x"]
WINDOWS = [s.state for s in RuleDialog.__all_states__]
MAX_ID = 2_147_483_647
# Out of the bounded range: such data must not unpack, and the press is answered by the
# fallback ("no longer active"), never by the generic apology.
FORGED_IDS = [-1, MAX_ID + 1, 10**20, "notanumber", "1.5"]
STALE_BUTTON = ("This button is no longer active", "Эта кнопка больше не работает")


def random_id(rng: random.Random) -> int:
    """Ids that exist (small ones), and any other in the whole bounded range."""
    return rng.choice([rng.randint(0, 8), rng.randint(0, MAX_ID), MAX_ID])


def random_schedule(rng: random.Random) -> dict[str, object] | None:
    kind = rng.choice(["daily", "weekly", "interval", "cron", None])
    if kind in ("daily", "weekly"):
        return {
            "kind": kind,
            "times": rng.choice([["12:05"], [], ["99:99"]]),
            "days_of_week": rng.choice([[1, 2], [], [9], [1, 2, 3, 4, 5, 6, 7]]),
        }
    if kind == "interval":
        return {"kind": kind, "hours": rng.choice([1, 0, 6, 168])}
    if kind == "cron":
        return {"kind": kind, "expression": rng.choice(["5 12 * * *", "bad", ""])}
    return None


def random_data(rng: random.Random, target_id: int) -> dict[str, object]:
    """The dialog's typed draft (WizardData), valid or not in its values; now and then data
    of another shape (an older dialog, another feature's), which the dialog must refuse."""
    if rng.random() < 0.1:
        return rng.choice(
            [
                {"name": "Rule", "stype": "daily", "times": ["12:05"]},  # the old string keys
                {"draft": "garbage"},
                {"content_id": random_id(rng)},
                {"draft": {"approval_policy": "nonsense"}},
            ]
        )
    draft: dict[str, object] = {"timezone": rng.choice(["Europe/Moscow", "UTC"])}
    if rng.random() < 0.7:
        draft["name"] = rng.choice(["Rule", "", "x" * 200])
    if rng.random() < 0.7:
        draft["schedule"] = random_schedule(rng)
    if rng.random() < 0.7:
        draft["content"] = {
            "kind": rng.choice(["ai", "text"]),
            "description": rng.choice(["topic", ""]),
            "text": rng.choice(["hello", None]),
        }
    if rng.random() < 0.7:
        draft["target_ids"] = rng.choice([[target_id], [], [random_id(rng)]])
    draft["approval_required"] = rng.random() < 0.5
    data: dict[str, object] = {"draft": draft, "from_summary": rng.random() < 0.3}
    if rng.random() < 0.2:
        data["rule_id"] = random_id(rng)
    return data


def dialog_buttons(fake_tg: FakeTelegram, user: int) -> list[tuple[dict[str, Any], str]]:
    """The rule dialog's buttons the user has seen (current and stale messages alike)."""
    found = []
    for message in fake_tg.sent_to(user)[-12:]:
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = str(button.get("callback_data", ""))
                if INTENT_SEPARATOR in data:
                    found.append((message, data))
    return found


def random_callback(
    rng: random.Random, seen: list[tuple[dict[str, Any], str]]
) -> tuple[str, bool, dict[str, Any] | None]:
    """Callback data, whether it is forged out of the bounded range, and the message it is
    pressed on (None: a placeholder)."""
    forged = rng.choice(FORGED_IDS)
    choices: list[tuple[str, bool, dict[str, Any] | None]] = [
        (f"rl:{rng.choice(RULE_ACTIONS)}:{random_id(rng)}", False, None),
        (f"rl:{rng.choice(['new', 'edit'])}:{rng.randint(0, 3)}", False, None),
        (f"rl:{rng.choice(get_args(RuleAction))}:{forged}", True, None),
        (f"ap:{rng.choice(APPROVAL_ACTIONS)}:{random_id(rng)}", False, None),
        (f"ap:{rng.choice(get_args(ApprovalAction))}:{forged}", True, None),
        (NavCb(action=rng.choice(["back", "cancel"])).pack(), False, None),
        (MenuCb(action="rules").pack(), False, None),
        ("rw:garbage:::", False, None),
        ("rl:view:99999999999999999999", True, None),
    ]
    if seen:
        if rng.random() < 0.6:
            # Mostly a button of the window on screen, so the walk gets deep into the dialog.
            newest = [(m, d) for m, d in seen if m is seen[-1][0]]
            message, data = rng.choice(newest)
            return data, False, message
        message, data = rng.choice(seen)
        intent = data.split(INTENT_SEPARATOR)[0]
        choices += [(data, False, message)] * 4  # a real button, maybe of a stale window
        choices.append((f"{intent}{INTENT_SEPARATOR}{rng.choice(FORGED_ITEMS)}", False, message))
        choices.append((f"nointent{INTENT_SEPARATOR}{rng.choice(FORGED_ITEMS)}", False, message))
    return rng.choice(choices)


async def tamper_with_the_draft(
    storage: BaseStorage, key: StorageKey, rng: random.Random, target_id: int
) -> None:
    """Replace the open dialog's draft (and maybe its window) by random, possibly invalid,
    data, as a restart with an older version of the dialog might leave it."""
    stack = await storage.get_data(replace(key, destiny="aiogd:stack:"))
    intents = stack.get("intents") or []
    if not intents:
        return
    context_key = replace(key, destiny=f"aiogd:context:{intents[-1]}")
    context = await storage.get_data(context_key)
    if not context:
        return
    context["dialog_data"] = {"wizard": random_data(rng, target_id)}
    if rng.random() < 0.5:
        context["state"] = rng.choice(WINDOWS)
    await storage.set_data(context_key, context)


async def test_random_walk_through_the_rules_dialog_has_no_unhandled_errors(
    fake_tg: FakeTelegram, fake_ai: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    clock = ManualClock(at("Europe/Moscow", 2026, 12, 1, 10, 0))
    app = create_app(
        make_settings(
            database_url=url,
            telegram_api_base=fake_tg.base_url,
            disable_workers=True,
            openai_base_url=fake_ai.base_url,
            openai_timeout=2,
            openai_max_retries=0,
        ),
        clock=clock,
    )
    target_id = await seed_user_and_channel(app.session_factory, language="en")
    await create_rule(app.session_factory, clock, [target_id], approval_required=True)
    rng = random.Random(int(os.environ.get("RULES_FUZZ_SEED", "20261128")))
    storage = app.dispatcher.storage
    bot_message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": USER_ID, "type": "private", "first_name": "Anna"},
        "from": {"id": 7000000001, "is_bot": True, "first_name": "Curator"},
        "text": "menu",
    }
    forged_presses: list[str] = []
    windows: set[str] = set()
    try:
        for step in range(300):
            user = USER_ID if rng.random() < 0.85 else OTHER_USER_ID
            key = StorageKey(bot_id=app.bot.id, chat_id=user, user_id=user)
            if rng.random() < 0.08:
                await tamper_with_the_draft(storage, key, rng, target_id)
            if rng.random() < 0.05:
                # The draft's approval edit (a plain FSM step) in the middle of everything.
                await storage.set_state(key, ApprovalEdit.text.state)
                await storage.set_data(key, {"content_id": random_id(rng)})
            sender = fake_tg.users[user]
            if rng.random() < 0.35:
                text = rng.choice(TEXTS)
                raw = {
                    "update_id": 10_000 + step,
                    "message": {
                        "message_id": 100 + step,
                        "date": int(time.time()),
                        "chat": {"id": user, "type": "private", "first_name": "U"},
                        "from": sender,
                        "text": text or " ",
                        **(
                            {
                                "entities": [
                                    {
                                        "type": "bot_command",
                                        "offset": 0,
                                        "length": len(text.split()[0]),
                                    }
                                ]
                            }
                            if text.startswith("/")
                            else {}
                        ),
                    },
                }
            else:
                data, is_forged, pressed_on = random_callback(rng, dialog_buttons(fake_tg, user))
                if is_forged:
                    forged_presses.append(str(step))
                message = pressed_on or dict(
                    bot_message, chat={"id": user, "type": "private", "first_name": "U"}
                )
                raw = {
                    "update_id": 10_000 + step,
                    "callback_query": {
                        "id": str(step),
                        "from": sender,
                        "chat_instance": "ci",
                        "data": data,
                        "message": message,
                    },
                }
            if step % 50 == 0:
                # Now and then the rule has just run, so drafts exist to act on.
                from workers.auto_posting import AutoPostingWorker

                clock.advance(hours=6)
                await AutoPostingWorker(app.db, generator=app.generator, clock=clock).run_once()
            await app.dispatcher.feed_update(app.bot, Update.model_validate(raw))
            windows.update(await open_windows(storage, app.bot.id, USER_ID))
    finally:
        await app.bot.session.close()
        await app.engine.dispose()
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures == []
    # A forged id out of the bounded range is "no longer active", not the generic apology.
    answered = {
        str(call.params.get("callback_query_id")): str(call.params.get("text") or "")
        for call in fake_tg.calls_to("answerCallbackQuery")
    }
    assert forged_presses
    for press in forged_presses:
        answer = answered.get(press, "")
        assert any(text in answer for text in STALE_BUTTON), (press, answer)
    answers = {(m.get("text") or "")[:30] for m in fake_tg.sent_to(USER_ID)}
    assert len(answers) >= 10  # the walk reached many different answers
    assert len(windows) >= 6, windows  # and many windows of the rule dialog
    # The other user never saw the owner's rule.
    assert not any(
        "Тестовое правило" in (m.get("text") or "") for m in fake_tg.sent_to(OTHER_USER_ID)
    )


async def open_windows(storage: BaseStorage, bot_id: int, user: int) -> set[str]:
    """The window of the rule dialog the user is in now (empty set: none)."""
    key = StorageKey(bot_id=bot_id, chat_id=user, user_id=user, destiny="aiogd:stack:")
    intents = (await storage.get_data(key)).get("intents") or []
    if not intents:
        return set()
    context = await storage.get_data(replace(key, destiny=f"aiogd:context:{intents[-1]}"))
    state = context.get("state")
    return {str(state)} if state else set()
