"""A guard for the first rule of DESIGN.md's "Transactions": no database connection (and so
no transaction) is held while a platform or the model is awaited.

It watches every pool's checkouts and check-ins per asyncio task, and wraps the three kinds
of network call the application makes: a Bot API call (`Bot.__call__`), a publisher's
`publish`, and the AI generator's `generate`. A network call started by a task that holds a
pooled connection at that moment is recorded as a violation; the autouse fixture in
conftest.py fails the test that caused it.
"""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool


@dataclass
class Violation:
    call: str
    held: int
    stack: str

    def __str__(self) -> str:
        return f"{self.call} awaited while holding {self.held} connection(s):\n{self.stack}"


@dataclass
class TransactionGuard:
    held: Counter[asyncio.Task[Any]] = field(default_factory=Counter)
    owners: dict[int, asyncio.Task[Any]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    checked_calls: int = 0

    def on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        task = _current_task()
        if task is not None:
            self.held[task] += 1
            self.owners[id(record)] = task

    def on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        task = self.owners.pop(id(record), None)
        if task is not None:
            self.held[task] -= 1
            if self.held[task] <= 0:
                del self.held[task]

    def check(self, call: str) -> None:
        self.checked_calls += 1
        task = _current_task()
        held = self.held.get(task, 0) if task is not None else 0
        if held:
            stack = "".join(traceback.format_stack(limit=14)[:-2])
            self.violations.append(Violation(call, held, stack))

    def wrap(self, call: str, function: Callable[..., Awaitable[Any]]) -> Any:
        @functools.wraps(function)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            self.check(call)
            return await function(*args, **kwargs)

        guarded.__txguard__ = True  # type: ignore[attr-defined]
        return guarded


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


@contextmanager
def transaction_guard() -> Iterator[TransactionGuard]:
    from aiogram.client.bot import Bot

    from platforms.base import PublisherRegistry

    guard = TransactionGuard()
    event.listen(Pool, "checkout", guard.on_checkout)
    event.listen(Pool, "checkin", guard.on_checkin)
    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, replacement: Any) -> None:
        patches.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    bot_call = Bot.__call__

    async def guarded_bot_call(self: Bot, method: Any, request_timeout: int | None = None) -> Any:
        guard.check(f"Bot API {type(method).__name__}")
        return await bot_call(self, method, request_timeout)

    patch(Bot, "__call__", guarded_bot_call)

    registry_get = PublisherRegistry.get

    def guarded_get(self: PublisherRegistry, platform: str) -> Any:
        publisher = registry_get(self, platform)
        publish = getattr(publisher, "publish", None)
        if publish is not None and not getattr(publish, "__txguard__", False):
            publisher.publish = guard.wrap(  # type: ignore[union-attr,method-assign]
                f"{platform} publish", publish
            )
        return publisher

    patch(PublisherRegistry, "get", guarded_get)

    try:
        from content.ai import OpenAIGenerator
    except ImportError:  # pragma: no cover - openai is a dependency
        OpenAIGenerator = None  # type: ignore[assignment,misc]
    if OpenAIGenerator is not None:
        patch(
            OpenAIGenerator,
            "generate",
            guard.wrap("AI generate", OpenAIGenerator.__dict__["generate"]),
        )
    try:
        yield guard
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)
        event.remove(Pool, "checkout", guard.on_checkout)
        event.remove(Pool, "checkin", guard.on_checkin)
