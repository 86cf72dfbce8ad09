"""A fake Telegram Bot API server: a real aiohttp app on 127.0.0.1.

It keeps a small world (users, channels, their administrators), answers the methods the bot
uses, records every call, and lets a test type messages and press buttons as a user would.
Requests arrive form-encoded or multipart, as aiogram sends them.

Beside each stored message it records what a reader gets (`reader_text`, `reader_entities`):
the HTML parsed as Telegram parses it (tests/fakes/telegram_html.py). A message keeps its
"text"/"caption" as the bot sent them, so tests can match the markup.

Strict by default (FAKE_TG_STRICT=0 turns it off), it refuses what Telegram refuses, with its wording: HTML it
cannot parse, texts and captions past 4096/1024 characters once parsed, empty texts, albums of
0 or more than 10, callback_data outside 1-64 bytes, edits that change nothing, edits of
messages that do not exist, unknown methods (404). It then answers with the message as Telegram
returns it (the parsed text and its entities)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.telegram_html import FormattedText, TelegramTextError, reader_view

BOT_ID = 7000000001
BOT_USERNAME = "curator_test_bot"
TEXT_LIMIT = 4096  # Unicode characters of the parsed text
CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10
CALLBACK_DATA_LIMIT = 64  # bytes
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# Real Bot API methods the bot may call that need no world of their own here: they answer True.
TRIVIAL_METHODS = frozenset(
    {
        "setMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "setWebhook",
        "deleteMessage",
        "deleteMessages",
        "pinChatMessage",
        "unpinChatMessage",
        "unpinAllChatMessages",
        "sendChatAction",
        "close",
        "logOut",
    }
)


def strict_from_environment() -> bool:
    """Strict unless FAKE_TG_STRICT=0: every test runs against what Telegram really accepts
    (the lenient mode is kept only to debug a test against the raw calls)."""
    return os.environ.get("FAKE_TG_STRICT", "1").strip().lower() not in ("0", "false", "no")


def reader_text(message: dict[str, Any]) -> str:
    """The text (or caption) a reader sees of a stored message: markup parsed, as in Telegram."""
    reader = message.get("_reader") or {}
    return str(reader.get("text", message.get("text") or message.get("caption") or ""))


def reader_entities(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The formatting (Bot API MessageEntity objects, UTF-16 offsets) of `reader_text`."""
    reader = message.get("_reader") or {}
    return list(reader.get("entities", []))


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, bytes] = field(default_factory=dict)


def reset_connection(request: web.Request) -> None:
    """End the request's connection with a TCP RST, as a peer (or a middlebox) that drops it
    mid-way: the client reads "Connection reset by peer" after its request went out."""
    transport = request.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class Fault:
    """What the next matching call gets instead of success."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0  # sleep first: past the client's timeout this is "sent, no answer"
    drop: bool = False  # close the connection without answering
    reset: bool = False  # reset the connection (TCP RST: "Connection reset by peer")
    deliver: bool = False  # the message is published even though the answer fails
    chat_id: str | None = None


@dataclass
class Channel:
    id: int
    title: str
    username: str | None
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    type: str = "channel"


class FakeTelegram:
    def __init__(self, token: str, *, strict: bool | None = None) -> None:
        self.token = token
        # Refuse what Telegram refuses (see the module's docstring). Off by default for now.
        self.strict = strict_from_environment() if strict is None else strict
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.channels: dict[int, Channel] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._new_update = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.flood_limit_per_minute: int | None = None
        self._channel_sends: dict[int, list[float]] = {}
        self.too_many_requests = 0
        # Telegram's bot-wide limit (about 30 messages per second), off unless set.
        self.global_limit_per_second: int | None = None
        self._global_sends: list[float] = []
        # Seconds every send method waits after storing the message and before answering.
        self.latency = 0.0
        # The time the flood limits are counted in; a test may hand in its manual clock.
        self.clock: Callable[[], float] = time.monotonic
        # (clock time, chat id) of every message accepted into a channel.
        self.channel_log: list[tuple[float, int]] = []

    # ---------- lifecycle ----------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------- the world ----------

    def add_user(
        self, user_id: int, first_name: str = "Anna", language: str = "en", username: str = ""
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        if username:
            user["username"] = username
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        chat_id: int,
        title: str,
        username: str | None = None,
        *,
        owner: int | None = None,
        admins: tuple[int, ...] = (),
        bot_status: str = "administrator",
        bot_can_post: bool = True,
    ) -> Channel:
        channel = Channel(chat_id, title, username)
        if owner is not None:
            channel.members[owner] = {"status": "creator"}
        for admin in admins:
            channel.members[admin] = {"status": "administrator"}
        channel.members[BOT_ID] = {"status": bot_status, "can_post_messages": bot_can_post}
        self.channels[chat_id] = channel
        return channel

    def set_member(
        self, chat_id: int, user_id: int, status: str, *, can_post_messages: bool = True
    ) -> None:
        """A person's membership changes in a channel (promoted, demoted, removed: "left" or
        "kicked"); getChatMember answers with it from then on, as Telegram does."""
        channel = self.channels[chat_id]
        channel.members[user_id] = {"status": status, "can_post_messages": can_post_messages}

    def fail_next(self, method: str, *faults: Fault) -> None:
        self.faults.setdefault(method, []).extend(faults)

    # ---------- what a user does ----------

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self.updates.append(update)
        self._new_update.set()
        return update

    def user_message(self, user_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        user = self.users[user_id]
        message: dict[str, Any] = {
            "message_id": self._next_message_id(user_id),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(command)}
                ]
        message.update(extra)
        return self._push({"message": message})["message"]  # type: ignore[no-any-return]

    def user_photo(self, user_id: int, caption: str | None = None) -> dict[str, Any]:
        photo = [
            {
                "file_id": f"photo-{user_id}-{len(self.updates)}",
                "file_unique_id": "u1",
                "width": 800,
                "height": 600,
            }
        ]
        extra: dict[str, Any] = {"photo": photo}
        if caption is not None:
            extra["caption"] = caption
        return self.user_message(user_id, None, **extra)

    def forward_from_channel(self, user_id: int, chat_id: int) -> dict[str, Any]:
        channel = self.channels[chat_id]
        origin = {
            "type": "channel",
            "date": int(time.time()),
            "message_id": 1,
            "chat": self._chat_json(channel),
        }
        return self.user_message(user_id, "forwarded post", forward_origin=origin)

    def press(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        user = self.users[user_id]
        query = {
            "id": str(next(self._update_ids) * 1000),
            "from": user,
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return self._push({"callback_query": query})

    # ---------- what a test reads ----------

    def calls_to(self, method: str, **match: Any) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and all(str(c.params.get(k)) == str(v) for k, v in match.items())
        ]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return self.messages.get(chat_id, [])

    def last_bot_message(self, chat_id: int) -> dict[str, Any]:
        return self.sent_to(chat_id)[-1]

    def reader_texts(self, chat_id: int) -> list[str]:
        """What a reader of `chat_id` sees of each message sent there (edits included)."""
        return [reader_text(message) for message in self.sent_to(chat_id)]

    def find_button(self, message: dict[str, Any], text_part: str) -> str:
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if text_part in button.get("text", ""):
                    return str(button["callback_data"])
        raise AssertionError(f"no button with {text_part!r} in {markup}")

    def last_message_with_button(self, chat_id: int, text_part: str) -> dict[str, Any]:
        for message in reversed(self.sent_to(chat_id)):
            with contextlib.suppress(AssertionError):
                self.find_button(message, text_part)
                return message
        raise AssertionError(f"no message to {chat_id} with button {text_part!r}")

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    async def wait_for_text(self, chat_id: int, text_part: str, timeout: float = 10.0) -> dict:
        def find() -> dict[str, Any] | None:
            for message in reversed(self.sent_to(chat_id)):
                sent = message.get("text") or message.get("caption") or ""
                if text_part in sent or text_part in reader_text(message):
                    return message
            return None

        return await self.wait_for(find, timeout, f"{text_part!r} sent to {chat_id}")  # type: ignore[no-any-return]

    # ---------- HTTP ----------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = await part.read()
                if part.filename:
                    files[part.name] = bytes(data)
                else:
                    params[part.name] = data.decode()
        elif request.can_read_body:
            form = await request.post()
            params = {k: v for k, v in form.items() if isinstance(v, str)}
        params.update({k: v for k, v in request.query.items() if k not in params})
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params, files = await self._params(request)
        name = method[0].lower() + method[1:]
        if name != "getUpdates":
            self.calls.append(Call(name, params, time.monotonic(), files))
        fault = self._take_fault(name, params)
        if fault is not None:
            if fault.deliver:
                with contextlib.suppress(Exception):
                    await getattr(self, f"m_{name}")(params, files)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                self._changed.set()
                return web.Response()
            if fault.reset:
                reset_connection(request)
                self._changed.set()
                return web.Response()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            self._changed.set()
            return web.json_response(body, status=fault.status)
        handler = getattr(self, f"m_{name}", None)
        if handler is None and self.strict and name not in TRIVIAL_METHODS:
            self._changed.set()
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        if handler is None:
            result: Any = True
        else:
            try:
                result = await handler(params, files)
            except ApiError as exc:
                self._changed.set()
                error: dict[str, Any] = {
                    "ok": False,
                    "error_code": exc.code,
                    "description": exc.description,
                }
                if exc.retry_after is not None:
                    error["parameters"] = {"retry_after": exc.retry_after}
                return web.json_response(error, status=exc.code)
            if self.latency and name.startswith("send"):
                await asyncio.sleep(self.latency)
        self._changed.set()
        return web.json_response({"ok": True, "result": result})

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        for index, fault in enumerate(queue):
            if fault.chat_id is None or str(params.get("chat_id")) == fault.chat_id:
                return queue.pop(index)
        return None

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(
            body=b"\x89PNG\r\n\x1a\nfake-image-" + request.match_info["path"].encode()
        )

    # ---------- methods ----------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Curator",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def m_getMe(self, params: dict, files: dict) -> Any:
        return self._bot_user()

    async def m_getUpdates(self, params: dict, files: dict) -> Any:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), remaining)
        return list(self.updates)

    async def m_deleteWebhook(self, params: dict, files: dict) -> Any:
        return True

    def _chat_json(self, channel: Channel) -> dict[str, Any]:
        data: dict[str, Any] = {"id": channel.id, "type": channel.type, "title": channel.title}
        if channel.username:
            data["username"] = channel.username
        return data

    def _resolve_chat(self, chat_id: Any) -> int:
        value = str(chat_id)
        if value.startswith("@"):
            for channel in self.channels.values():
                if channel.username and channel.username.lower() == value[1:].lower():
                    return channel.id
            raise ApiError(400, "Bad Request: chat not found")
        return int(value)

    async def m_getChat(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        if chat_id in self.channels:
            data = self._chat_json(self.channels[chat_id])
            data["accent_color_id"] = 0
            data["max_reaction_count"] = 11
            data["accepted_gift_types"] = {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            }
            return data
        if chat_id in self.users:
            user = self.users[chat_id]
            return {
                "id": chat_id,
                "type": "private",
                "first_name": user["first_name"],
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        raise ApiError(400, "Bad Request: chat not found")

    async def m_getChatMember(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        user_id = int(params["user_id"])
        channel = self.channels.get(chat_id)
        if channel is None:
            raise ApiError(400, "Bad Request: chat not found")
        user = (
            self._bot_user()
            if user_id == BOT_ID
            else self.users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "X"})
        )
        member = channel.members.get(user_id, {"status": "left"})
        status = member["status"]
        data: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": True,
                    "can_edit_stories": True,
                    "can_delete_stories": True,
                    "can_post_messages": bool(member.get("can_post_messages", True)),
                    "can_edit_messages": True,
                    "can_send_welcome_messages": False,
                }
            )
        elif status == "kicked":
            data["until_date"] = 0
        return data

    def _store(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        self.messages.setdefault(chat_id, []).append(message)
        return message

    def _check_can_send(self, chat_id: int) -> None:
        channel = self.channels.get(chat_id)
        if channel is not None:
            member = channel.members.get(BOT_ID, {"status": "left"})
            if member["status"] == "kicked" or member["status"] == "left":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            if member["status"] == "administrator" and not member.get("can_post_messages", True):
                raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
            now = self.clock()
            if self.global_limit_per_second is not None:
                recent = [t for t in self._global_sends if t > now - 1.0]
                if len(recent) >= self.global_limit_per_second:
                    self.too_many_requests += 1
                    raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
                recent.append(now)
                self._global_sends = recent
            if self.flood_limit_per_minute is not None:
                sends = [t for t in self._channel_sends.get(chat_id, []) if t > now - 60]
                if len(sends) >= self.flood_limit_per_minute:
                    self.too_many_requests += 1
                    raise ApiError(429, "Too Many Requests: retry after 5", retry_after=5)
                sends.append(now)
                self._channel_sends[chat_id] = sends
            self.channel_log.append((now, chat_id))
        elif chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")

    def _message(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        if chat_id in self.channels:
            chat = self._chat_json(self.channels[chat_id])
        else:
            chat = {
                "id": chat_id,
                "type": "private",
                "first_name": self.users.get(chat_id, {}).get("first_name", "U"),
            }
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
        }
        if chat_id not in self.channels:
            message["from"] = self._bot_user()
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if params.get("disable_notification") is not None:
            message["_silent"] = str(params["disable_notification"]).lower() == "true"
        message["_parse_mode"] = params.get("parse_mode")
        return message

    # ---------- what a reader gets ----------

    def _read(
        self, params: dict[str, Any], text_key: str, entities_key: str, *, caption: bool
    ) -> tuple[FormattedText, str | None]:
        """The text and entities a reader gets, and Telegram's refusal when lenient."""
        raw = params.get(text_key)
        if raw is None:
            return FormattedText(""), None
        entities = params.get(entities_key)
        parse_mode = params.get("parse_mode") or None
        try:
            view = reader_view(
                str(raw),
                str(parse_mode) if parse_mode else None,
                entities if isinstance(entities, list) else None,
                allow_empty=caption,
            )
        except TelegramTextError as exc:
            if self.strict:
                raise ApiError(400, exc.description) from None
            return FormattedText(str(raw)), exc.description
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        if len(view.text) > limit:  # code points, as Telegram counts
            too_long = "message caption is too long" if caption else "message is too long"
            if self.strict:
                raise ApiError(400, f"Bad Request: {too_long}")
            return view, f"Bad Request: {too_long}"
        return view, None

    def _entities_json(self, view: FormattedText) -> list[dict[str, Any]]:
        entities = view.entities_json()
        for entity in entities:
            if entity["type"] == "text_mention":
                user_id = entity["user"]["id"]
                entity["user"] = self.users.get(
                    user_id, {"id": user_id, "is_bot": False, "first_name": "User"}
                )
        return entities

    def _record_reader(
        self, message: dict[str, Any], view: FormattedText, refusal: str | None
    ) -> None:
        message["_reader"] = {"text": view.text, "entities": self._entities_json(view)}
        if refusal:
            message["_reader"]["refused"] = refusal

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message as the bot gets it back: strict answers as Telegram does, with the
        parsed text and its entities; lenient answers with what was sent, as before."""
        if not self.strict:
            return message
        answer = {k: v for k, v in message.items() if k != "_reader"}
        key = "text" if "text" in message else "caption" if "caption" in message else None
        if key is not None:
            shown = reader_text(message)
            entities = reader_entities(message)
            entities_key = "entities" if key == "text" else "caption_entities"
            answer.pop(key, None)
            if shown:
                answer[key] = shown
            if entities:
                answer[entities_key] = entities
        return answer

    def _check_keyboard(self, markup: Any) -> None:
        if not self.strict or not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data") if isinstance(button, dict) else None
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _current(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in reversed(self.messages.get(chat_id, [])):
            if message["message_id"] == message_id:
                return message
        return None

    @staticmethod
    def _keyboard(markup: Any) -> Any:
        # No keyboard and an empty one are the same to a reader.
        if not markup or markup == {"inline_keyboard": []}:
            return None
        return markup

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        chat_id = int(params.get("chat_id", 0))
        current = self._current(chat_id, int(params.get("message_id", 0)))
        if current is None and self.strict:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, current

    def _check_modified(
        self,
        current: dict[str, Any] | None,
        view: FormattedText | None,
        markup: Any,
    ) -> None:
        if not self.strict or current is None:
            return
        same_text = view is None or (
            view.text == reader_text(current)
            and self._entities_json(view) == reader_entities(current)
        )
        if same_text and self._keyboard(markup) == self._keyboard(current.get("reply_markup")):
            raise ApiError(400, NOT_MODIFIED)

    # ---------- sending ----------

    async def m_sendMessage(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        text = str(params.get("text", ""))
        if self.strict:
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            view, refusal = self._read(params, "text", "entities", caption=False)
            self._check_keyboard(params.get("reply_markup"))
        self._check_can_send(chat_id)
        if not self.strict:
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > 4096 * 2:
                raise ApiError(400, "Bad Request: message is too long")
            view, refusal = self._read(params, "text", "entities", caption=False)
        message = self._message(chat_id, params)
        message["text"] = text
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    async def m_sendPhoto(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        view, refusal = self._read(params, "caption", "caption_entities", caption=True)
        self._check_keyboard(params.get("reply_markup"))
        self._check_can_send(chat_id)
        message = self._message(chat_id, params)
        photo = params.get("photo") or "uploaded"
        message["photo"] = [
            {"file_id": str(photo), "file_unique_id": "p", "width": 1, "height": 1}
        ]
        if params.get("caption"):
            message["caption"] = params["caption"]
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    async def m_sendMediaGroup(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        items = params.get("media") or []
        if self.strict:
            if not items:
                raise ApiError(400, "Bad Request: there are no messages to send")
            if len(items) > ALBUM_LIMIT:
                raise ApiError(400, "Bad Request: too many messages to send as an album")
        # Every caption is read before anything is sent: one bad caption sends nothing.
        views = [self._read(item, "caption", "caption_entities", caption=True) for item in items]
        self._check_can_send(chat_id)
        group_id = "g1"
        if self.strict:
            # Telegram sends a lone item as an ordinary message, outside any album.
            group_id = "" if len(items) == 1 else str(next(self._update_ids) * 7919)
        result = []
        for item, (view, refusal) in zip(items, views, strict=True):
            message = self._message(chat_id, {})
            message["photo"] = [
                {"file_id": str(item.get("media")), "file_unique_id": "p", "width": 1, "height": 1}
            ]
            if item.get("caption"):
                message["caption"] = item["caption"]
            if group_id:
                message["media_group_id"] = group_id
            message["_parse_mode"] = item.get("parse_mode")
            self._record_reader(message, view, refusal)
            result.append(self._answer(self._store(chat_id, message)))
        return result

    # ---------- editing ----------

    async def m_editMessageText(self, params: dict, files: dict) -> Any:
        chat_id, current = self._message_to_edit(params)
        if self.strict and current is not None and "text" not in current:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if self.strict and not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        view, refusal = self._read(params, "text", "entities", caption=False)
        self._check_keyboard(params.get("reply_markup"))
        self._check_modified(current, view, params.get("reply_markup"))
        message = self._message(chat_id, params)
        message["message_id"] = int(params.get("message_id", 0))
        message["text"] = params.get("text", "")
        message["edit_date"] = int(time.time())
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    async def m_editMessageCaption(self, params: dict, files: dict) -> Any:
        chat_id, current = self._message_to_edit(params)
        if self.strict and current is not None and "photo" not in current:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        view, refusal = self._read(params, "caption", "caption_entities", caption=True)
        self._check_keyboard(params.get("reply_markup"))
        self._check_modified(current, view, params.get("reply_markup"))
        message = self._message(chat_id, params)
        message["message_id"] = int(params.get("message_id", 0))
        if current is not None and "photo" in current:
            message["photo"] = current["photo"]
        if params.get("caption"):
            message["caption"] = params["caption"]
        message["edit_date"] = int(time.time())
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    async def m_editMessageReplyMarkup(self, params: dict, files: dict) -> Any:
        _, current = self._message_to_edit(params)
        self._check_keyboard(params.get("reply_markup"))
        self._check_modified(current, None, params.get("reply_markup"))
        if current is None:
            return True
        current["reply_markup"] = params.get("reply_markup")
        return self._answer(current)

    async def m_answerCallbackQuery(self, params: dict, files: dict) -> Any:
        return True

    async def m_getFile(self, params: dict, files: dict) -> Any:
        file_id = str(params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": "f",
            "file_size": 100,
            "file_path": f"photos/{file_id}.jpg",
        }


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
