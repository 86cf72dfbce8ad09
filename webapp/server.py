"""The Mini App's routes on an aiohttp application: the page under /app/ and its JSON API
under /app/api/. Every API call proves who it is with Telegram's initData (webapp/auth.py)
and reads or changes only that user's posts, through the services."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiohttp import web

from services.calendar import (
    CalendarRangeError,
    CalendarService,
    calendar_post,
    day_range,
    from_wall_time,
)
from services.container import Services
from services.posts import PostRuleError
from webapp.auth import InitDataError, verify_init_data
from webapp.strings import translated
from webapp.views import actions_for, calendar_body, post_detail, post_item, target_item

if TYPE_CHECKING:
    from storage.models import User

log = logging.getLogger("webapp")

PREFIX = "/app"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
MAX_BODY = 4096
MAX_ID = 2_147_483_647
# The page talks to its own origin only; telegram.org serves the Mini App script.
CSP = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)
# Refusals of PostService, by how the API answers them.
BAD_TIME = {"time_in_past", "time_too_far"}


@dataclass(frozen=True)
class WebAppConfig:
    bot_token: str
    auth_max_age: timedelta = timedelta(days=1)
    # ALLOWLIST mode: only these users (admins included); None = open.
    allowed_user_ids: frozenset[int] | None = None
    default_language: str = "en"
    # The sentences of error codes (handlers.failures, the chat's own wording) in the current
    # gettext locale; handed in by the composition root, since the web layer does not import
    # the chat. None: the page shows the codes.
    failure_texts: Callable[[], dict[str, str]] | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: str, **details: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.details = details


def error_response(status: int, code: str, **details: Any) -> web.Response:
    return web.json_response({"error": {"code": code, **details}}, status=status)


Handler = Callable[[web.Request, "User"], Awaitable[web.StreamResponse]]


class MiniApp:
    def __init__(self, services: Services, i18n: I18n, config: WebAppConfig) -> None:
        self.services = services
        self.i18n = i18n
        self.config = config
        self.calendar = CalendarService(services.db, services.clock)
        self._static: dict[str, bytes] = {}

    # ---- plumbing ----

    def _file(self, name: str) -> bytes:
        if name not in self._static:
            self._static[name] = (STATIC_DIR / name).read_bytes()
        return self._static[name]

    async def authenticate(self, request: web.Request) -> User:
        header = request.headers.get("Authorization", "")
        scheme, _space, raw = header.partition(" ")
        if scheme.lower() != "tma":
            raise ApiError(401, "init_data_missing")
        try:
            identity = verify_init_data(
                raw.strip(),
                self.config.bot_token,
                now=self.services.clock.now(),
                max_age=self.config.auth_max_age,
            )
        except InitDataError as exc:
            raise ApiError(401, exc.code) from None
        allowed = self.config.allowed_user_ids
        if allowed is not None and identity.user_id not in allowed:
            raise ApiError(403, "not_allowed")
        user = await self.services.users.get(identity.user_id)
        if user is None:
            # Only people who started the bot have a calendar (and a zone and language).
            raise ApiError(403, "unknown_user")
        return user

    def api(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                user = await self.authenticate(request)
                response = await handler(request, user)
            except ApiError as exc:
                response = error_response(exc.status, exc.code, **exc.details)
            response.headers["Cache-Control"] = "no-store"
            return response

        return wrapped

    @staticmethod
    async def body(request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise ApiError(413, "body_too_large")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise ApiError(413, "body_too_large")
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_json") from None
        if not isinstance(value, dict):
            raise ApiError(400, "bad_json")
        return value

    @staticmethod
    def post_id(request: web.Request) -> int:
        raw = request.match_info["post_id"]
        if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
            raise ApiError(400, "bad_id")
        return int(raw)

    @staticmethod
    def when(body: dict[str, Any], user: User) -> datetime:
        """`local`: a wall time in the user's zone, "YYYY-MM-DDTHH:MM" (what the page has)."""
        raw = body.get("local")
        if not isinstance(raw, str) or len(raw) > 32:
            raise ApiError(400, "bad_time")
        try:
            wall = datetime.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, "bad_time") from None
        if wall.tzinfo is not None:
            raise ApiError(400, "bad_time")
        return from_wall_time(wall, user.timezone)

    # ---- the page ----

    async def page(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self._file("index.html"),
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": CSP,
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(
            body=self._file(name),
            content_type=STATIC_FILES[name],
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    # ---- the API ----

    async def me(self, _request: web.Request, user: User) -> web.Response:
        language = user.language if user.language in ("en", "ru") else "en"
        now = self.services.clock.now()
        return web.json_response(
            {
                "id": user.id,
                "language": language,
                "timezone": user.timezone,
                "now_local": now.astimezone(ZoneInfo(user.timezone)).strftime("%Y-%m-%dT%H:%M"),
                "strings": translated(self.i18n, language),
                "failures": self._failures(language),
            }
        )

    def _failures(self, language: str) -> dict[str, str]:
        if self.config.failure_texts is None:
            return {}
        with self.i18n.context(), self.i18n.use_locale(language):
            return self.config.failure_texts()

    async def targets(self, _request: web.Request, user: User) -> web.Response:
        targets = await self.calendar.targets(user.id)
        return web.json_response({"targets": [target_item(t) for t in targets]})

    async def posts(self, request: web.Request, user: User) -> web.Response:
        query = request.query
        try:
            first = date.fromisoformat(query.get("from", "")[:10])
            last = date.fromisoformat(query.get("to", "")[:10])
        except ValueError:
            raise ApiError(400, "bad_range") from None
        target_id: int | None = None
        raw_target = query.get("target")
        if raw_target:
            if not raw_target.isdigit() or len(raw_target) > 10 or int(raw_target) > MAX_ID:
                raise ApiError(400, "bad_id")
            target_id = int(raw_target)
        try:
            start, end = day_range(first, last, user.timezone)
        except CalendarRangeError as exc:
            raise ApiError(400, exc.code) from None
        view = await self.calendar.view(user.id, start, end, target_id=target_id)
        return web.json_response(calendar_body(view, user.timezone))

    async def post(self, request: web.Request, user: User) -> web.Response:
        found = await self.services.posts.get_with_content(user.id, self.post_id(request))
        if found is None:
            raise ApiError(404, "not_found")
        return web.json_response(post_detail(*found, user.timezone))

    async def action(self, request: web.Request, user: User) -> web.Response:
        action = request.match_info["action"]
        post_id = self.post_id(request)
        body = await self.body(request)
        current = await self.services.posts.get(user.id, post_id)
        if current is None:
            raise ApiError(404, "not_found")
        if action not in actions_for(current.status):
            raise ApiError(409, "not_allowed", post_status=current.status)
        posts = self.services.posts
        result_id = post_id
        try:
            if action == "cancel":
                done = await posts.cancel(user.id, post_id)
            elif action == "reschedule":
                done = await posts.reschedule(user.id, post_id, self.when(body, user))
            elif action in ("publish-now", "retry"):
                # As the chat's buttons: publish now and retry are "reschedule to now".
                done = await posts.reschedule(user.id, post_id, None)
            else:
                copy = await posts.duplicate(user.id, post_id, self.when(body, user))
                done = copy is not None
                result_id = copy.id if copy is not None else post_id
        except PostRuleError as exc:
            status = 400 if exc.code in BAD_TIME else 409
            raise ApiError(status, exc.code) from None
        if not done:
            raise ApiError(409, "not_allowed")
        found = await posts.get_with_content(user.id, result_id)
        if found is None:
            raise ApiError(404, "not_found")
        body_out = post_detail(*found, user.timezone)
        body_out["item"] = post_item_from_detail(found, user.timezone)
        return web.json_response(body_out, status=201 if action == "duplicate" else 200)


def post_item_from_detail(found: tuple[Any, Any, Any], timezone: str) -> dict[str, Any]:
    return post_item(calendar_post(*found), timezone)


async def _redirect(_request: web.Request) -> web.Response:
    raise web.HTTPFound(PREFIX + "/")


def add_miniapp_routes(
    app: web.Application, services: Services, i18n: I18n, config: WebAppConfig
) -> MiniApp:
    """Mount the Mini App on `app` (the health server's or its own) under /app/."""
    mini = MiniApp(services, i18n, config)
    router = app.router
    router.add_get(PREFIX, _redirect)
    router.add_get(PREFIX + "/", mini.page)
    router.add_get(PREFIX + "/static/{name}", mini.static)
    router.add_get(PREFIX + "/api/me", mini.api(mini.me))
    router.add_get(PREFIX + "/api/targets", mini.api(mini.targets))
    router.add_get(PREFIX + "/api/posts", mini.api(mini.posts))
    router.add_get(PREFIX + "/api/posts/{post_id}", mini.api(mini.post))
    router.add_post(
        PREFIX + "/api/posts/{post_id}/{action:reschedule|cancel|publish-now|duplicate|retry}",
        mini.api(mini.action),
    )
    return mini


def create_miniapp_app(services: Services, i18n: I18n, config: WebAppConfig) -> web.Application:
    """The Mini App on an application of its own (MINIAPP_PORT)."""
    app = web.Application(client_max_size=MAX_BODY * 4)
    add_miniapp_routes(app, services, i18n, config)
    return app
