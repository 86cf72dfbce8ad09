"""A fake X API: OAuth 1.0a PIN flow, /2/users/me, /2/media/upload and /2/tweets.

A real aiohttp app on 127.0.0.1. Every request's OAuth 1.0a HMAC-SHA1 signature is checked
against the URL it was signed for (https://<Host header><path>), so the redirected tweepy
traffic is verified exactly as X would verify it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web
from oauthlib.oauth1.rfc5849 import signature, utils

from tests.fakes.telegram import reset_connection


@dataclass
class XUser:
    id: str
    username: str
    name: str


@dataclass
class Tweet:
    id: str
    user_id: str
    text: str | None
    media_ids: list[str]
    in_reply_to: str | None


@dataclass
class XFault:
    """What the next matching request gets instead of success."""

    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"title": "Internal Server Error"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # sleep first (past the client's timeout: "sent, no answer")
    drop: bool = False  # close the connection without answering
    reset: bool = False  # reset the connection (TCP RST: "Connection reset by peer")
    deliver: bool = False  # do the work even though the answer fails
    after: int = 0  # let this many requests succeed first
    html: str | None = None  # answer with a page instead of X's JSON (a proxy in between)


@dataclass
class XCall:
    method: str
    path: str
    authorization: str
    body: Any = None


class FakeXServer:
    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.users: dict[str, XUser] = {}
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, tuple[str, str]] = {}  # token -> (secret, user id)
        self.tweets: list[Tweet] = []
        self.deleted_tweets: list[Tweet] = []  # issue 12: gone from `tweets`, kept here
        self.media: dict[str, bytes] = {}
        self.calls: list[XCall] = []
        self.faults: dict[str, list[XFault]] = {}
        self._ids = itertools.count(1_800_000_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/oauth/request_token", self._request_token)
        app.router.add_get("/oauth/authorize", self._authorize_page)
        app.router.add_post("/oauth/access_token", self._access_token)
        app.router.add_get("/2/users/me", self._me)
        app.router.add_post("/2/media/upload", self._media_upload)
        app.router.add_post("/2/tweets", self._create_tweet)
        app.router.add_delete("/2/tweets/{tweet_id}", self._delete_tweet)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------- the world ----------

    def add_account(self, user_id: str, username: str, name: str) -> tuple[str, str]:
        """An already authorised account: returns its access token and secret."""
        self.users[user_id] = XUser(user_id, username, name)
        token = f"{user_id}-{secrets.token_hex(12)}"
        token_secret = secrets.token_urlsafe(24)
        self.access_tokens[token] = (token_secret, user_id)
        return token, token_secret

    def approve(self, request_token: str, user_id: str) -> str:
        """The user opens the authorisation link and presses "Authorize app": X shows a PIN."""
        pending = self.request_tokens[request_token]
        pending["user_id"] = user_id
        pending["pin"] = f"{secrets.randbelow(10**7):07d}"
        return str(pending["pin"])

    def revoke(self, token: str) -> None:
        self.access_tokens.pop(token, None)

    def fail_next(self, route: str, *faults: XFault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    def tweets_by(self, user_id: str) -> list[Tweet]:
        return [t for t in self.tweets if t.user_id == user_id]

    # ---------- OAuth 1.0a ----------

    def _oauth_params(self, request: web.Request) -> dict[str, str]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return {}
        return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}

    def _verify(
        self, request: web.Request, form: dict[str, str] | None, token_secret: str | None
    ) -> dict[str, str]:
        params = self._oauth_params(request)
        if params.get("oauth_consumer_key") != self.consumer_key:
            raise _Unauthorized("unknown consumer key")
        uri = f"https://{request.headers.get('Host', request.host)}{request.raw_path}"
        query = request.raw_path.partition("?")[2]
        collected = signature.collect_parameters(
            uri_query=query,
            body=list((form or {}).items()),
            headers={"Authorization": request.headers["Authorization"]},
            exclude_oauth_signature=True,
        )
        base = signature.signature_base_string(
            request.method,
            signature.base_string_uri(uri),
            signature.normalize_parameters(collected),
        )
        keys = SimpleNamespace(
            client_secret=self.consumer_secret, resource_owner_secret=token_secret or ""
        )
        expected = signature.sign_hmac_sha1_with_client(base, keys)
        if not secrets.compare_digest(expected, params.get("oauth_signature", "")):
            raise _Unauthorized("bad signature")
        return params

    def _user_for(self, request: web.Request, form: dict[str, str] | None = None) -> XUser:
        token = self._oauth_params(request).get("oauth_token", "")
        known = self.access_tokens.get(token)
        if known is None:
            raise _Unauthorized("unknown or revoked token")
        self._verify(request, form, known[0])
        return self.users[known[1]]

    async def _guarded(self, route: str, request: web.Request, work: Any) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        self.calls.append(
            XCall(request.method, request.path, request.headers.get("Authorization", ""), body)
        )
        queue = self.faults.get(route)
        fault = None
        if queue and queue[0].after > 0:
            queue[0].after -= 1
        elif queue:
            fault = queue.pop(0)
        if fault is not None:
            if fault.deliver:
                with contextlib.suppress(Exception):
                    await work(request, body)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if fault.reset:
                reset_connection(request)
                return web.Response()
            if fault.html is not None:
                return web.Response(
                    text=fault.html,
                    status=fault.status,
                    headers=fault.headers,
                    content_type="text/html",
                )
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        try:
            return await work(request, body)  # type: ignore[no-any-return]
        except _Unauthorized:
            return web.json_response(
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
                status=401,
            )

    async def _request_token(self, request: web.Request) -> web.StreamResponse:
        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            params = self._verify(request, None, None)
            if params.get("oauth_callback") != "oob":
                return web.Response(status=400, text="callback must be oob")
            token = secrets.token_urlsafe(16)
            token_secret = secrets.token_urlsafe(24)
            self.request_tokens[token] = {"secret": token_secret}
            return web.Response(
                text=urlencode(
                    {
                        "oauth_token": token,
                        "oauth_token_secret": token_secret,
                        "oauth_callback_confirmed": "true",
                    }
                ),
                content_type="application/x-www-form-urlencoded",
            )

        return await self._guarded("request_token", request, work)

    async def _authorize_page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="Authorize app?", content_type="text/html")

    async def _access_token(self, request: web.Request) -> web.StreamResponse:
        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            params = self._oauth_params(request)
            pending = self.request_tokens.get(params.get("oauth_token", ""))
            if pending is None:
                raise _Unauthorized("unknown request token")
            self._verify(request, None, pending["secret"])
            if not pending.get("pin") or params.get("oauth_verifier") != pending["pin"]:
                return web.Response(status=401, text="Invalid request token.")
            self.request_tokens.pop(params["oauth_token"])
            user = self.users[pending["user_id"]]
            token = f"{user.id}-{secrets.token_hex(12)}"
            token_secret = secrets.token_urlsafe(24)
            self.access_tokens[token] = (token_secret, user.id)
            return web.Response(
                text=urlencode(
                    {
                        "oauth_token": token,
                        "oauth_token_secret": token_secret,
                        "user_id": user.id,
                        "screen_name": user.username,
                    }
                ),
                content_type="application/x-www-form-urlencoded",
            )

        return await self._guarded("access_token", request, work)

    async def _me(self, request: web.Request) -> web.StreamResponse:
        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            user = self._user_for(request)
            return web.json_response(
                {"data": {"id": user.id, "username": user.username, "name": user.name}}
            )

        return await self._guarded("me", request, work)

    async def _media_upload(self, request: web.Request) -> web.StreamResponse:
        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            self._user_for(request)
            reader = await request.multipart()
            data = b""
            category = None
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "media":
                    data = bytes(await part.read())
                elif part.name == "media_category":
                    category = (await part.read()).decode()
            if not data or category != "tweet_image":
                return web.json_response({"title": "Invalid Request"}, status=400)
            media_id = str(next(self._ids))
            self.media[media_id] = data
            return web.json_response(
                {
                    "data": {
                        "id": media_id,
                        "media_key": f"3_{media_id}",
                        "size": len(data),
                        "expires_after_secs": 86400,
                    }
                }
            )

        return await self._guarded("media", request, work)

    async def _create_tweet(self, request: web.Request) -> web.StreamResponse:
        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            user = self._user_for(request)
            payload = body or {}
            text = payload.get("text")
            media_ids = list((payload.get("media") or {}).get("media_ids", []))
            if not text and not media_ids:
                return web.json_response({"title": "Invalid Request"}, status=400)
            unknown = [m for m in media_ids if m not in self.media]
            if unknown:
                return web.json_response(
                    {
                        "errors": [{"message": f"media {unknown[0]} not found"}],
                        "title": "Invalid Request",
                    },
                    status=400,
                )
            if text and any(t.user_id == user.id and t.text == text for t in self.tweets):
                return web.json_response(
                    {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    },
                    status=403,
                )
            reply = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
            tweet = Tweet(str(next(self._ids)), user.id, text, media_ids, reply)
            self.tweets.append(tweet)
            return web.json_response(
                {
                    "data": {
                        "id": tweet.id,
                        "text": text or "",
                        "edit_history_tweet_ids": [tweet.id],
                    }
                },
                status=201,
            )

        return await self._guarded("tweets", request, work)

    async def _delete_tweet(self, request: web.Request) -> web.StreamResponse:
        """DELETE /2/tweets/:id: only the author deletes; a missing post is 404."""

        async def work(request: web.Request, body: Any) -> web.StreamResponse:
            user = self._user_for(request)
            tweet_id = request.match_info["tweet_id"]
            tweet = next((t for t in self.tweets if t.id == tweet_id), None)
            if tweet is None:
                return web.json_response(
                    {
                        "title": "Not Found Error",
                        "detail": f"Could not find tweet with id: [{tweet_id}].",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                        "status": 404,
                    },
                    status=404,
                )
            if tweet.user_id != user.id:
                return web.json_response(
                    {
                        "title": "Forbidden",
                        "detail": "You are not authorized to delete this Tweet.",
                        "type": "about:blank",
                        "status": 403,
                    },
                    status=403,
                )
            self.tweets.remove(tweet)
            self.deleted_tweets.append(tweet)
            return web.json_response({"data": {"deleted": True}})

        return await self._guarded("delete", request, work)


class _Unauthorized(Exception):
    pass


def rate_limited(seconds: int) -> XFault:
    return XFault(
        status=429,
        body={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
        headers={
            "x-rate-limit-reset": str(int(time.time()) + seconds),
            "x-rate-limit-remaining": "0",
        },
    )
