"""Webhook replicas as operators run them (issue 14, acceptance 3): two `python -m bot --mode
webhook` processes on one PostgreSQL database behind one webhook URL (same secret, same
path); the test is the load balancer and hands each update to the process it chooses."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.webhook import webhook_path
from storage.db import create_session_factory
from storage.models import ScheduledPost
from tests.conftest import CHANNEL_ID, TEST_TOKEN, USER_ID, database
from tests.fakes.telegram import FakeTelegram

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "replicas-test-secret_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{webhook_path(SECRET)}"


def start_replica(database_url: str, fake: FakeTelegram, workdir: Path, name: str) -> Replica:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_DATABASE"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TEST_TOKEN,
            "DATABASE_URL": database_url,
            "TELEGRAM_API_BASE": fake.base_url,
            "WEBHOOK_URL": "https://bot.example.org",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "HEALTH_PORT": "0",
            "HEALTH_HOST": "127.0.0.1",
            "LOG_FILE": "",
            "LOG_LEVEL": "WARNING",
            "THROTTLE_RATE": "0",
            "DATA_DIR": str(workdir / name),
        }
    )
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--mode", "webhook"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Replica(process, port, log)


async def wait_listening(replica: Replica, within: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if replica.process.poll() is not None:
            raise AssertionError(f"replica exited:\n{replica.log.read_text(errors='replace')}")
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", replica.port)
            writer.close()
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"replica not listening:\n{replica.log.read_text()}")
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def two_replicas(
    fake: FakeTelegram, tmp_path: Path
) -> AsyncIterator[tuple[list[Replica], Any, aiohttp.ClientSession]]:
    async with database("postgres", tmp_path) as (url, engine):
        replicas = [start_replica(url, fake, tmp_path, f"replica{i}") for i in range(2)]
        try:
            for replica in replicas:
                await wait_listening(replica)
            async with aiohttp.ClientSession() as client:
                yield replicas, create_session_factory(engine), client
        finally:
            for replica in replicas:
                if replica.process.poll() is None:
                    replica.process.terminate()
            for replica in replicas:
                try:
                    replica.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    replica.process.kill()
                    replica.process.wait()


async def deliver(client: aiohttp.ClientSession, replica: Replica, update: dict) -> None:
    """What Telegram does: POST the update to the webhook URL with the secret header."""
    async with client.post(
        replica.url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    ) as response:
        assert response.status == 200, await response.text()


async def reply_after(fake: FakeTelegram, before: int, text: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in fake.sent_to(USER_ID)[before:]:
            if text in (message.get("text") or message.get("caption") or ""):
                return message
        return None

    found = await fake.wait_for(find, timeout=60, what=repr(text))
    # A reply may leave before its update is finished (aiogram_dialog saves the dialog's
    # context after rendering): a person does not answer within milliseconds either.
    await asyncio.sleep(0.5)
    return found  # type: ignore[no-any-return]


class Person:
    """The user, typing and tapping; every update goes to the replica named."""

    def __init__(self, fake: FakeTelegram, client: aiohttp.ClientSession) -> None:
        self.fake, self.client = fake, client

    async def say(self, replica: Replica, text: str, expect: str) -> dict[str, Any]:
        before = len(self.fake.sent_to(USER_ID))
        message = self.fake.user_message(USER_ID, text)
        await deliver(self.client, replica, {"update_id": self._id(), "message": message})
        return await reply_after(self.fake, before, expect)

    async def tap(self, replica: Replica, label: str, expect: str | None = None) -> None:
        """`expect`: a new message's text; None: the press is answered (an edit, say)."""
        before = len(self.fake.sent_to(USER_ID))
        shown = self.fake.last_message_with_button(USER_ID, label)
        update = self.fake.press(USER_ID, shown, self.fake.find_button(shown, label))
        await deliver(self.client, replica, update)
        if expect is not None:
            await reply_after(self.fake, before, expect)
            return
        query_id = update["callback_query"]["id"]
        await self.fake.wait_for(
            lambda: self.fake.calls_to("answerCallbackQuery", callback_query_id=query_id),
            timeout=60,
            what=f"an answer to {label!r}",
        )
        await asyncio.sleep(0.5)

    def _id(self) -> int:
        return int(self.fake.updates[-1]["update_id"]) if self.fake.updates else 1


async def test_two_webhook_processes_confirm_once_and_assemble_a_split_album(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    async with two_replicas(fake_tg, tmp_path) as ((first, second), sessions, client):
        person = Person(fake_tg, client)
        await person.say(first, "/link", "")
        before = len(fake_tg.sent_to(USER_ID))
        forwarded = fake_tg.forward_from_channel(USER_ID, CHANNEL_ID)
        await deliver(client, first, {"update_id": 2, "message": forwarded})
        await reply_after(fake_tg, before, "is linked")

        # The dialog, then Confirm pressed twice: one press to each process, at once.
        await person.say(first, "/new", "Send the post")
        await person.say(first, "Hello from two webhook processes", "how the post will look")
        await person.tap(first, "Schedule", "Where shall I publish it?")
        await person.tap(first, "Tech news")
        await person.tap(first, "Done", "When")
        await person.tap(first, "In 1 hour", "Publish to")
        shown = fake_tg.last_message_with_button(USER_ID, "Confirm")
        data = fake_tg.find_button(shown, "Confirm")
        presses = [fake_tg.press(USER_ID, shown, data) for _ in range(2)]
        await asyncio.gather(
            deliver(client, first, presses[0]), deliver(client, second, presses[1])
        )

        def alerts() -> list[str]:
            return sorted(
                str(c.params.get("text"))
                for c in fake_tg.calls_to("answerCallbackQuery")
                if str(c.params.get("callback_query_id"))
                in {p["callback_query"]["id"] for p in presses}
            )

        await fake_tg.wait_for(lambda: len(alerts()) == 2, timeout=60, what="both answers")
        assert alerts() == ["Already saved.", "Saved"]
        async with sessions() as session:
            posts = await session.scalar(select(func.count()).select_from(ScheduledPost))
        assert posts == 1

        # An album whose photos reach different processes becomes one preview.
        await person.say(second, "/new", "Send the post")
        parts = [
            fake_tg.user_message(
                USER_ID,
                None,
                photo=[
                    {
                        "file_id": f"split-{i}",
                        "file_unique_id": f"s{i}",
                        "width": 800,
                        "height": 600,
                    }
                ],
                media_group_id="split-album",
                **({"caption": "One album, two processes"} if i == 0 else {}),
            )
            for i in range(3)
        ]
        await asyncio.gather(
            *(
                deliver(client, (first, second)[i % 2], {"update_id": 100 + i, "message": m})
                for i, m in enumerate(parts)
            )
        )
        groups = await fake_tg.wait_for(
            lambda: fake_tg.calls_to("sendMediaGroup", chat_id=USER_ID), 60, "the preview"
        )
        await asyncio.sleep(2)  # a second preview would have come by now
        groups = fake_tg.calls_to("sendMediaGroup", chat_id=USER_ID)
        assert len(groups) == 1
        assert [m["media"] for m in groups[0].params["media"]] == [f"split-{i}" for i in range(3)]
