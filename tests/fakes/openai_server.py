"""A fake OpenAI-compatible server: a real aiohttp app on 127.0.0.1.

It answers POST /v1/chat/completions the way OpenAI, Ollama or vLLM do, records every request,
and can be told to misbehave: hang past the client's timeout, answer 500 / 401 / 400, send a
body that is not JSON, or send no choices. openai 3.x talks through httpx2, which respx does
not intercept, so the client is pointed at this server with `base_url`."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Reply = Callable[[dict[str, Any]], str]


@dataclass
class Misbehaviour:
    kind: str  # "timeout", "status", "malformed", "empty", "blank"
    status: int = 500
    delay: float = 5.0


@dataclass
class FakeOpenAI:
    model: str = "fake-model"
    requests: list[dict[str, Any]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    default_reply: Reply | None = None
    prompt_tokens: int = 40
    completion_tokens: int = 60
    # Seconds every answer takes, like a real model: long enough for other writes to commit
    # while the bot waits for it.
    latency: float = 0.0
    _faults: list[Misbehaviour] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------- switches ----------

    def reply_with(self, *texts: str) -> None:
        """The next answers, in order; after them `default_reply` (or an echo) answers."""
        self.replies.extend(texts)

    def fail_next(
        self, kind: str, *, status: int = 500, times: int = 1, delay: float = 5.0
    ) -> None:
        self._faults.extend(Misbehaviour(kind, status, delay) for _ in range(times))

    # ---------- what a test reads ----------

    def user_prompts(self) -> list[str]:
        return [
            str(m["content"])
            for r in self.requests
            for m in r.get("messages", [])
            if m.get("role") == "user"
        ]

    def system_prompts(self) -> list[str]:
        return [
            str(m["content"])
            for r in self.requests
            for m in r.get("messages", [])
            if m.get("role") == "system"
        ]

    # ---------- HTTP ----------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({**body, "_auth": request.headers.get("Authorization")})
        if self.latency:
            await asyncio.sleep(self.latency)
        if self._faults:
            fault = self._faults.pop(0)
            if fault.kind == "timeout":
                await asyncio.sleep(fault.delay)
                return web.json_response({"error": {"message": "too late"}}, status=504)
            if fault.kind == "status":
                return web.json_response(
                    {"error": {"message": f"fake error {fault.status}", "type": "fake"}},
                    status=fault.status,
                )
            if fault.kind == "malformed":
                return web.Response(
                    text='{"id": "x", "choices": [ {"message": ', content_type="application/json"
                )
            if fault.kind == "empty":
                return web.json_response(self._completion(None, choices=False))
            if fault.kind == "blank":
                return web.json_response(self._completion("   "))
        if self.replies:
            text = self.replies.pop(0)
        elif self.default_reply is not None:
            text = self.default_reply(body)
        else:
            text = echo_reply(body, len(self.requests))
        return web.json_response(self._completion(text))

    def _completion(self, text: str | None, *, choices: bool = True) -> dict[str, Any]:
        number = next(self._ids)
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": 1_780_000_000,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ]
            if choices
            else [],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }


ANIMALS = ("otters", "herons", "lynxes", "ravens", "bison", "gecko", "orcas", "moles", "wolves")
THINGS = ("compilers", "bridges", "satellites", "gardens", "violins", "glaciers", "markets")


def echo_reply(body: dict[str, Any], number: int) -> str:
    """A different, plausible post for every request, so that no two look alike."""
    animal = ANIMALS[number % len(ANIMALS)]
    thing = THINGS[(number * 3) % len(THINGS)]
    words = len(json.dumps(body.get("messages", [])))
    return (
        f"<b>Note {number}</b>: {animal} and {thing} share a story; "
        f"request {number} carried {words} bytes of instructions."
    )
