"""A fake Telegram Bot API server: a real aiohttp app on 127.0.0.1.

It keeps a small world (users, channels, their administrators), answers the methods the bot
uses, records every call, and lets a test type messages and press buttons as a user would.
Requests arrive form-encoded or multipart, as aiogram sends them.

Beside each stored message it records what a reader gets (`reader_text`, `reader_entities`):
the HTML parsed as Telegram parses it (tests/fakes/telegram_html.py). A message keeps its
"text"/"caption" as the bot sent them, so tests can match the markup.

Strict by default (FAKE_TG_STRICT=0 turns it off), it refuses what Telegram refuses, with its wording: HTML it
cannot parse, texts and captions past 4096/1024 characters once parsed, empty texts, albums of
0 or more than 10 (or mixing files with other media, or holding a GIF), a known file id sent
as another kind (sendPhoto/sendVideo/sendAnimation/sendDocument), callback_data outside 1-64 bytes, edits that change nothing, edits of
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
# Update types Telegram sends only when allowed_updates names them.
OPT_IN = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
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


# A message's media as the Bot API names them. A GIF's message carries a `document` too (as
# Telegram sends it): the animation is what a reader sees.
MEDIA_KINDS = ("photo", "video", "animation", "document", "audio")


def reader_media(message: dict[str, Any]) -> tuple[str, str] | None:
    """The kind and file id of what a reader sees above the caption, None for a text."""
    for kind in MEDIA_KINDS:
        medium = message.get(kind)
        if medium:
            file = medium[-1] if isinstance(medium, list) else medium
            return kind, str(file["file_id"])
    return None


def reader_post(message: dict[str, Any]) -> tuple[tuple[str, str] | None, str, list[Any]]:
    """Everything a reader gets of one message: its medium, its text or caption, and the
    formatting of it. Two messages that compare equal look the same to a reader."""
    return reader_media(message), reader_text(message), reader_entities(message)


def media_json(kind: str, file_id: str) -> dict[str, Any]:
    """A medium as Telegram delivers it in a Message (the fields the Bot API requires)."""
    unique = f"u-{file_id}"[:32]
    if kind == "photo":
        return {
            "photo": [{"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 720}]
        }
    if kind == "document":
        return {
            "document": {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_name": f"{file_id}.pdf",
                "mime_type": "application/pdf",
                "file_size": 2048,
            }
        }
    if kind == "audio":
        return {"audio": {"file_id": file_id, "file_unique_id": unique, "duration": 5}}
    medium = {
        "file_id": file_id,
        "file_unique_id": unique,
        "width": 640,
        "height": 360,
        "duration": 7,
        "mime_type": "video/mp4",
        "file_size": 4096,
    }
    if kind == "animation":
        # Telegram sends a GIF's message with its document too, for older clients.
        return {
            "animation": {**medium, "file_name": f"{file_id}.mp4"},
            "document": {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_name": f"{file_id}.mp4",
                "mime_type": "video/mp4",
            },
        }
    return {"video": medium}


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
        # The reply keyboard each private chat shows now (None: removed), as a client keeps it.
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        # getUpdates' allowed_updates (None: Telegram's default), and the users who never
        # started the bot (Telegram refuses to write to them first: 403).
        self.allowed_updates: set[str] | None = None
        self.not_started: set[int] = set()
        # setChatMenuButton's buttons by chat_id (None: the bot's default for every chat).
        self.menu_buttons: dict[Any, dict[str, Any]] = {}
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
        # (clock time, chat id) of every message accepted, to channels and to people, and of
        # every send refused with 429 (the flood limits above).
        self.send_log: list[tuple[float, int]] = []
        self.refused_log: list[tuple[float, int]] = []
        # Issue 12: the wall clock a message's `date` is read from (a test moves it to age a
        # message past deleteMessage's 48 hours), and what readers of a channel see of it.
        self.wall_clock: Callable[[], float] = time.time
        self.deleted: dict[int, set[int]] = {}
        self.pinned: dict[int, list[int]] = {}
        # The kind of every file id Telegram knows here (a user's video, the bot's upload):
        # sending one as another kind is refused, as Telegram does ("type of file mismatch").
        self.file_kinds: dict[str, str] = {}

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

    def user_media(
        self,
        user_id: int,
        kind: str,
        file_id: str,
        caption: str | None = None,
        *,
        caption_entities: list[dict[str, Any]] | None = None,
        media_group_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A video, GIF (`animation`), file (`document`) or photo a user sends, as Telegram
        delivers it; Telegram knows the file's kind from then on."""
        body: dict[str, Any] = {**self.known_media(kind, file_id), **extra}
        if caption is not None:
            body["caption"] = caption
        if caption_entities:
            body["caption_entities"] = caption_entities
        if media_group_id is not None:
            body["media_group_id"] = media_group_id
        return self.user_message(user_id, None, **body)

    def known_media(self, kind: str, file_id: str) -> dict[str, Any]:
        """`media_json`, the file's kind remembered (for forwards: `forward_from_channel(...,
        **fake.known_media("video", "V1"))`)."""
        self.file_kinds[file_id] = kind
        return media_json(kind, file_id)

    def forward_from_channel(
        self,
        user_id: int,
        chat_id: int,
        text: str | None = "forwarded post",
        *,
        entities: list[dict[str, Any]] | None = None,
        photo: str | None = None,
        media_group_id: str | None = None,
        post_id: int = 1,
        **extra: Any,
    ) -> dict[str, Any]:
        """A channel's post forwarded by a user, as Telegram delivers it: with a photo, the
        text is its `caption` and the formatting its `caption_entities` (UTF-16 offsets);
        an album forwarded is one such message per item, sharing `media_group_id`. `extra`
        adds other media as Telegram sends them (`video={...}`, `document={...}`)."""
        channel = self.channels[chat_id]
        origin = {
            "type": "channel",
            "date": int(time.time()),
            "message_id": post_id,
            "chat": self._chat_json(channel),
        }
        body: dict[str, Any] = {"forward_origin": origin, **extra}
        if media_group_id is not None:
            body["media_group_id"] = media_group_id
        if photo is not None:
            body["photo"] = [
                {"file_id": photo, "file_unique_id": f"u-{photo}", "width": 1280, "height": 720}
            ]
            if text is not None:
                body["caption"] = text
            if entities:
                body["caption_entities"] = entities
            return self.user_message(user_id, None, **body)
        if entities:
            body["entities"] = entities
        return self.user_message(user_id, text, **body)

    def share_chat(
        self, user_id: int, chat_id: int, request_id: int, *, with_username: bool = True
    ) -> dict[str, Any]:
        """The user picked a chat in a `KeyboardButtonRequestChat` picker: Telegram sends a
        service message with `chat_shared` (title and username when the button asked)."""
        channel = self.channels.get(chat_id)
        shared: dict[str, Any] = {"request_id": request_id, "chat_id": chat_id}
        if channel is not None:
            shared["title"] = channel.title
            if channel.username and with_username:
                shared["username"] = channel.username
        return self.user_message(user_id, None, chat_shared=shared)

    def _admin_rights(self, can_post: bool) -> dict[str, Any]:
        return {
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
            "can_post_messages": can_post,
            "can_edit_messages": True,
            "can_send_welcome_messages": False,
        }

    def bot_added_to_channel(
        self, chat_id: int, by_user_id: int, *, can_post: bool = True, was: str = "left"
    ) -> dict[str, Any]:
        """`by_user_id` adds the bot to the channel as an administrator: the world changes
        (getChatMember answers so from now on) and a `my_chat_member` update arrives, a
        ChatMemberUpdated with the old and new ChatMember of the bot."""
        channel = self.channels[chat_id]
        channel.members[BOT_ID] = {"status": "administrator", "can_post_messages": can_post}
        old: dict[str, Any] = {"status": was, "user": self._bot_user()}
        if was == "kicked":
            old["until_date"] = 0
        new = {"status": "administrator", "user": self._bot_user(), **self._admin_rights(can_post)}
        update = {
            "chat": self._chat_json(channel),
            "from": self.users[by_user_id],
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        return self._push({"my_chat_member": update})

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
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            # Remembered until the next call that names them; [] means the default.
            self.allowed_updates = set(allowed) or None
        deadline = time.monotonic() + timeout
        while not self._drop_unwanted_updates():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), remaining)
        return list(self.updates)

    def _drop_unwanted_updates(self) -> list[dict[str, Any]]:
        """Telegram never delivers the update types the bot did not ask for (by default:
        all but chat_member and reactions); they are gone, not kept for later."""
        allowed = self.allowed_updates

        def wanted(kind: str) -> bool:
            return kind in allowed if allowed is not None else kind not in OPT_IN

        self.updates = [u for u in self.updates if any(wanted(k) for k in u if k != "update_id")]
        return self.updates

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
            # Rights a test changed (set_member, set_rights) are reported as they are.
            data.update({k: bool(v) for k, v in member.items() if k.startswith("can_")})
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
            self._check_global(now, chat_id)
            if self.flood_limit_per_minute is not None:
                sends = [t for t in self._channel_sends.get(chat_id, []) if t > now - 60]
                if len(sends) >= self.flood_limit_per_minute:
                    self._refuse(now, chat_id, 5)
                sends.append(now)
                self._channel_sends[chat_id] = sends
            self._accept(now, chat_id)
            self.channel_log.append((now, chat_id))
        elif chat_id in self.not_started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        else:
            # Messages to people count toward the bot-wide limit too.
            now = self.clock()
            self._check_global(now, chat_id)
            self._accept(now, chat_id)

    def _check_global(self, now: float, chat_id: int) -> None:
        if self.global_limit_per_second is not None:
            recent = [t for t in self._global_sends if t > now - 1.0]
            if len(recent) >= self.global_limit_per_second:
                self._global_sends = recent
                self._refuse(now, chat_id, 1)
            recent.append(now)
            self._global_sends = recent

    def _refuse(self, now: float, chat_id: int, retry_after: int) -> None:
        """Telegram's flood control: 429 with the seconds to wait in `parameters`."""
        self.too_many_requests += 1
        self.refused_log.append((now, chat_id))
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
        )

    def _accept(self, now: float, chat_id: int) -> None:
        self.send_log.append((now, chat_id))

    def busiest(self, seconds: float, chat_id: int | None = None) -> int:
        """The most messages Telegram accepted in any window of `seconds` (to one chat, or
        bot-wide), counted on the fake's clock: what a test asserts the limits on."""
        times = sorted(t for t, chat in self.send_log if chat_id is None or chat == chat_id)
        best = start = 0
        for end, moment in enumerate(times):
            # Telegram's window is (now - seconds, now]: a send exactly `seconds` earlier
            # has left it.
            while times[start] <= moment - seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

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
            "date": int(self.wall_clock()),
            "chat": chat,
        }
        if chat_id not in self.channels:
            message["from"] = self._bot_user()
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" not in markup:
            # A reply keyboard (or its removal) stays with the chat, not the message: the
            # Message Telegram returns carries inline keyboards only.
            message["_reply_keyboard"] = markup
            if chat_id not in self.channels:
                shown = None if markup.get("remove_keyboard") else markup
                self.reply_keyboards[chat_id] = shown
        elif markup:
            message["reply_markup"] = markup
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
        for row in markup.get("keyboard") or []:
            for button in row:
                self._check_reply_button(button)
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data") if isinstance(button, dict) else None
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                web_app = button.get("web_app") if isinstance(button, dict) else None
                if web_app is not None:
                    _check_web_app_url(web_app, "inline keyboard button Web App URL")

    @staticmethod
    def _check_reply_button(button: Any) -> None:
        """A reply keyboard's button as the Bot API parses it (its wording): a text, and a
        `request_chat` with a signed 32-bit `request_id` and a boolean `chat_is_channel`."""
        if isinstance(button, str):
            return
        if not isinstance(button, dict) or not str(button.get("text") or ""):
            raise ApiError(400, "Bad Request: can't parse keyboard button: Text must be non-empty")
        request = button.get("request_chat")
        if request is None:
            return
        prefix = "Bad Request: can't parse keyboard button: "
        if not isinstance(request, dict):
            raise ApiError(400, prefix + 'Field "request_chat" must be of type Object')
        request_id = request.get("request_id")
        if request_id is None:
            raise ApiError(400, prefix + 'Can\'t find field "request_id"')
        if (
            isinstance(request_id, bool)
            or not isinstance(request_id, int)
            or not -(2**31) <= request_id < 2**31
        ):
            raise ApiError(400, prefix + 'Field "request_id" must be a valid Number')
        if not isinstance(request.get("chat_is_channel"), bool):
            raise ApiError(400, prefix + 'Field "chat_is_channel" must be of type Boolean')
        for key in ("user_administrator_rights", "bot_administrator_rights"):
            rights = request.get(key)
            if rights is None:
                continue
            if not isinstance(rights, dict):
                raise ApiError(400, prefix + f'Field "{key}" must be of type Object')
            for name, value in rights.items():
                if not isinstance(value, bool):
                    raise ApiError(400, prefix + f'Field "{name}" must be of type Boolean')
        for key in ("request_title", "request_username", "request_photo", "bot_is_member"):
            if key in request and not isinstance(request[key], bool):
                raise ApiError(400, prefix + f'Field "{key}" must be of type Boolean')

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
        if self.strict:
            self._check_file_kind("photo", params.get("photo"))
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
        if self.strict:
            self._check_album_kinds(items)
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
            kind = str(item.get("type") or "photo")
            message.update(media_json(kind, str(item.get("media"))))
            if item.get("caption"):
                message["caption"] = item["caption"]
            if group_id:
                message["media_group_id"] = group_id
            message["_parse_mode"] = item.get("parse_mode")
            self._record_reader(message, view, refusal)
            result.append(self._answer(self._store(chat_id, message)))
        return result

    def _check_file_kind(self, kind: str, file_id: Any) -> None:
        """A known file id sent as another kind: Telegram's refusal. A GIF is a document
        too (sendDocument takes it)."""
        known = self.file_kinds.get(str(file_id))
        if known is None or known == kind or (known, kind) == ("animation", "document"):
            return
        raise ApiError(400, "Bad Request: type of file mismatch")

    def _check_album_kinds(self, items: list[Any]) -> None:
        """sendMediaGroup's rules: photos and videos mix; documents (and audio) group only
        with their own kind; a GIF is never part of an album."""
        kinds = [str(item.get("type") or "") for item in items]
        for kind, item in zip(kinds, items, strict=True):
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: MEDIA_INVALID: wrong type of media in album")
            self._check_file_kind(kind, item.get("media"))
        for alone in ("document", "audio"):
            if alone in kinds and any(k != alone for k in kinds):
                raise ApiError(400, f"Bad Request: {alone} can't be mixed with other media types")

    async def _send_file(self, kind: str, params: dict[str, Any]) -> Any:
        """sendVideo, sendAnimation, sendDocument (and sendPhoto's rules): by file id, the
        caption parsed and limited as Telegram does."""
        chat_id = self._resolve_chat(params["chat_id"])
        file_id = str(params.get(kind) or "")
        if self.strict:
            if not file_id:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            self._check_file_kind(kind, file_id)
        view, refusal = self._read(params, "caption", "caption_entities", caption=True)
        self._check_keyboard(params.get("reply_markup"))
        self._check_can_send(chat_id)
        message = self._message(chat_id, params)
        message.update(media_json(kind, file_id))
        self.file_kinds.setdefault(file_id, kind)
        if params.get("caption"):
            message["caption"] = params["caption"]
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    async def m_sendVideo(self, params: dict, files: dict) -> Any:
        return await self._send_file("video", params)

    async def m_sendAnimation(self, params: dict, files: dict) -> Any:
        return await self._send_file("animation", params)

    async def m_sendDocument(self, params: dict, files: dict) -> Any:
        return await self._send_file("document", params)

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
        if self.strict and current is not None and reader_media(current) is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        view, refusal = self._read(params, "caption", "caption_entities", caption=True)
        self._check_keyboard(params.get("reply_markup"))
        self._check_modified(current, view, params.get("reply_markup"))
        message = self._message(chat_id, params)
        message["message_id"] = int(params.get("message_id", 0))
        if current is not None:
            # The medium stays (a photo, a video, a GIF, a file): only its caption changes.
            message.update({k: current[k] for k in MEDIA_KINDS if k in current})
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

    # ---------- replacing a message's media (issue 13: /calendar turns the week) ----------

    @staticmethod
    def _uploaded_photo(data: bytes) -> tuple[int, int]:
        """An uploaded photo's size, or Telegram's refusal: not an image, over 10 MB, or
        sides beyond its limits (width + height ≤ 10000, ratio ≤ 20)."""
        import io

        from PIL import Image, UnidentifiedImageError

        if len(data) > 10 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        return width, height

    async def m_editMessageMedia(self, params: dict, files: dict) -> Any:
        chat_id, current = self._message_to_edit(params)
        media = params.get("media")
        kinds = ("photo", "video", "animation", "document", "audio")
        if not isinstance(media, dict) or media.get("type") not in kinds:
            raise ApiError(400, "Bad Request: can't parse InputMedia: media not found")
        if self.strict and current is not None and not any(k in current for k in kinds):
            raise ApiError(400, "Bad Request: there is no media in the message to edit")
        file_id = str(media.get("media") or "")
        width = height = 1
        if file_id.startswith("attach://"):
            name = file_id.removeprefix("attach://")
            if name not in files:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if media["type"] == "photo":
                width, height = self._uploaded_photo(files[name])
            file_id = f"uploaded-{name}"
        elif not file_id:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        view, refusal = self._read(media, "caption", "caption_entities", caption=True)
        self._check_keyboard(params.get("reply_markup"))
        message = self._message(chat_id, params)
        message["message_id"] = int(params.get("message_id", 0))
        sized = {"file_id": file_id, "file_unique_id": "m", "width": width, "height": height}
        message[media["type"]] = [sized] if media["type"] == "photo" else sized
        if media.get("caption"):
            message["caption"] = media["caption"]
        message["_parse_mode"] = media.get("parse_mode")
        message["edit_date"] = int(time.time())
        self._record_reader(message, view, refusal)
        return self._answer(self._store(chat_id, message))

    # ---------- after publishing: delete, pin (issue 12) ----------

    def set_rights(self, chat_id: int, user_id: int, **rights: bool) -> None:
        """An administrator's rights change (can_delete_messages, can_edit_messages,
        can_post_messages, ...); getChatMember reports them and the methods obey them."""
        self.channels[chat_id].members.setdefault(user_id, {"status": "administrator"})
        self.channels[chat_id].members[user_id].update(rights)

    def _right(self, chat_id: int, user_id: int, right: str) -> bool:
        member = self.channels[chat_id].members.get(user_id, {"status": "left"})
        if member["status"] == "creator":
            return True
        return member["status"] == "administrator" and bool(member.get(right, True))

    def channel_view(self, chat_id: int) -> list[dict[str, Any]]:
        """The channel as a reader sees it now: each message in its latest version, deleted
        ones gone."""
        latest: dict[int, dict[str, Any]] = {}
        for message in self.messages.get(chat_id, []):
            latest[message["message_id"]] = message
        gone = self.deleted.get(chat_id, set())
        return [m for mid, m in sorted(latest.items()) if mid not in gone]

    def _live(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        if message_id in self.deleted.get(chat_id, set()):
            return None
        return self._current(chat_id, message_id)

    def _delete_one(self, chat_id: int, message_id: int) -> None:
        """Telegram's deleteMessage limits: a message sent 48 hours ago or more cannot be
        deleted; in a channel the bot deletes its own messages with can_post_messages and
        any with can_delete_messages. Telegram gives one wording for both refusals."""
        if chat_id not in self.channels:
            # Private chats: the bot may delete any recent message there (the fake keeps
            # no user messages to check against).
            self.deleted.setdefault(chat_id, set()).add(message_id)
            return
        message = self._live(chat_id, message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if self.wall_clock() - float(message.get("date", 0)) >= 48 * 3600:
            raise ApiError(400, "Bad Request: message can't be deleted")
        own = self._right(chat_id, BOT_ID, "can_post_messages")
        if not (own or self._right(chat_id, BOT_ID, "can_delete_messages")):
            raise ApiError(400, "Bad Request: message can't be deleted")
        self.deleted.setdefault(chat_id, set()).add(message_id)
        pins = self.pinned.get(chat_id, [])
        if message_id in pins:
            pins.remove(message_id)

    async def m_deleteMessage(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        self._delete_one(chat_id, int(params["message_id"]))
        return True

    async def m_deleteMessages(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        ids = params.get("message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        deleted = 0
        for message_id in ids:
            # "If some of the specified messages can't be found, they are skipped."
            with contextlib.suppress(ApiError):
                self._delete_one(chat_id, int(message_id))
                deleted += 1
        if not deleted:
            raise ApiError(400, "Bad Request: message can't be deleted")
        return True

    def _check_can_pin(self, chat_id: int) -> None:
        if chat_id not in self.channels:
            return
        member = self.channels[chat_id].members.get(BOT_ID, {"status": "left"})
        if member["status"] in ("left", "kicked"):
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        # Channels: "can_edit_messages" (Bot API, pinChatMessage).
        if not self._right(chat_id, BOT_ID, "can_edit_messages"):
            raise ApiError(
                400, "Bad Request: not enough rights to manage pinned messages in the chat"
            )

    async def m_pinChatMessage(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        self._check_can_pin(chat_id)
        message_id = int(params["message_id"])
        if chat_id in self.channels and self._live(chat_id, message_id) is None:
            raise ApiError(400, "Bad Request: message to pin not found")
        pins = self.pinned.setdefault(chat_id, [])
        if message_id in pins:
            pins.remove(message_id)
        pins.append(message_id)
        return True

    async def m_unpinChatMessage(self, params: dict, files: dict) -> Any:
        chat_id = self._resolve_chat(params["chat_id"])
        self._check_can_pin(chat_id)
        pins = self.pinned.setdefault(chat_id, [])
        if params.get("message_id") is None:
            if pins:
                pins.pop()
            return True
        message_id = int(params["message_id"])
        if message_id not in pins:
            raise ApiError(400, "Bad Request: message to unpin not found")
        pins.remove(message_id)
        return True

    async def m_setChatMenuButton(self, params: dict, files: dict) -> Any:
        button = params.get("menu_button") or {"type": "default"}
        kinds = ("commands", "web_app", "default")
        if not isinstance(button, dict) or button.get("type") not in kinds:
            raise ApiError(400, "Bad Request: can't parse menu button")
        if button["type"] == "web_app":
            if not 1 <= len(str(button.get("text", ""))) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            _check_web_app_url(button.get("web_app"), "menu button Web App URL")
        self.menu_buttons[params.get("chat_id")] = button
        return True

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


def _check_web_app_url(web_app: Any, what: str) -> None:
    """Telegram opens Mini Apps over HTTPS only, and refuses anything else."""
    url = str(web_app.get("url", "")) if isinstance(web_app, dict) else ""
    if not url.startswith("https://"):
        raise ApiError(
            400, f"Bad Request: {what} '{url}' is invalid: Only HTTPS links are allowed"
        )


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
