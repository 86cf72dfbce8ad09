"""Rules dialog robustness: random text and random (also forged or stale) buttons in random
dialog states never end in an unhandled exception (issue 3, acceptance 2, for this dialog).

A seeded random walk through the real dispatcher: reproducible, and each step is a real
update answered through the fake Bot API."""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path
from typing import get_args

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update

from bot.factory import create_app
from handlers.callbacks import MenuCb, NavCb
from handlers.rules.callbacks import ApprovalAction, RuleAction, WizardAction
from handlers.rules.states import ApprovalEdit, RuleWizard
from services.clock import ManualClock
from storage.db import upgrade_database
from tests.ai.helpers import at, create_rule, seed_user_and_channel
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram import FakeTelegram

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
WIZ_ACTIONS = [*get_args(WizardAction), "tpick", "bogus"]
WIZ_VALUES = [
    "",
    "daily",
    "weekly",
    "interval",
    "cron",
    "1",
    "7",
    "8",
    "0",
    "24",
    "ai",
    "text",
    "witty",
    "name",
    "schedule",
    "content",
    "targets",
    "mode",
    "approval",
    "direct",
    "skip",
    "publish",
    "99999",
    "-1",
    "x" * 40,
]
RULE_ACTIONS = [*get_args(RuleAction), "bogus"]
APPROVAL_ACTIONS = [*get_args(ApprovalAction), "x"]
STATES = [None, *[s.state for s in (*RuleWizard.__all_states__, *ApprovalEdit.__all_states__)]]
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
    """The dialog's typed data (WizardData), valid or not in its values; now and then data
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
    data: dict[str, object] = {"draft": draft, "single": rng.random() < 0.3}
    if rng.random() < 0.2:
        data["rule_id"] = random_id(rng)
    return data


def random_callback(rng: random.Random) -> tuple[str, bool]:
    """Callback data, and whether it is forged out of the bounded range."""
    forged = rng.choice(FORGED_IDS)
    choices: list[tuple[str, bool]] = [
        (f"rw:{rng.choice(WIZ_ACTIONS)}:{rng.choice(WIZ_VALUES)}", False),
        (f"rwt:{random_id(rng)}", False),
        (f"rwt:{forged}", True),
        (f"rl:{rng.choice(RULE_ACTIONS)}:{random_id(rng)}", False),
        (f"rl:{rng.choice(get_args(RuleAction))}:{forged}", True),
        (f"ap:{rng.choice(APPROVAL_ACTIONS)}:{random_id(rng)}", False),
        (f"ap:{rng.choice(get_args(ApprovalAction))}:{forged}", True),
        (NavCb(action=rng.choice(["back", "cancel"])).pack(), False),
        (MenuCb(action="rules").pack(), False),
        ("rw:garbage:::", False),
        ("rl:view:99999999999999999999", True),
    ]
    return rng.choice(choices)


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
    try:
        for step in range(250):
            user = USER_ID if rng.random() < 0.85 else OTHER_USER_ID
            key = StorageKey(bot_id=app.bot.id, chat_id=user, user_id=user)
            state = rng.choice(STATES)
            await storage.set_state(key, state)
            await storage.set_data(key, random_data(rng, target_id) if state else {})
            sender = fake_tg.users[user]
            if rng.random() < 0.4:
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
                data, is_forged = random_callback(rng)
                if is_forged:
                    forged_presses.append(str(step))
                message = dict(
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
    assert len(answers) >= 10  # the walk reached many different steps of the dialog
    # The other user never saw the owner's rule.
    assert not any(
        "Тестовое правило" in (m.get("text") or "") for m in fake_tg.sent_to(OTHER_USER_ID)
    )
