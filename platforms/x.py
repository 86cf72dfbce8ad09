"""X (Twitter): linking by the OAuth 1.0a PIN flow and publishing with tweepy's AsyncClient.

tweepy hard-codes api.twitter.com; `api_base` (X_API_BASE) sends its traffic elsewhere (a
self-hosted proxy, or the tests' fake server) by rewriting the URL of each outgoing request
after it was signed, so the OAuth signature still covers the official URL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from yarl import URL

from content.fitting import X_LIMIT, fit_for_platform, plain_text
from content.media import unsupported_kinds
from platforms.base import (
    ErrorClass,
    PublishedMessage,
    PublishError,
    PublishRequest,
    PublishResult,
)
from platforms.errors import ErrorCode
from platforms.quiet import X_LOGGERS, drop_debug_records
from platforms.transport import failed_before_sending

if TYPE_CHECKING:
    import requests
    from requests.adapters import HTTPAdapter

log = logging.getLogger("platforms.x")
drop_debug_records(*X_LOGGERS)

X_HOSTS = frozenset({"api.twitter.com", "api.x.com", "upload.twitter.com"})
MEDIA_UPLOAD_URL = "https://api.twitter.com/2/media/upload"
MAX_PICTURES = 4

ClientMiddleware = Callable[
    [aiohttp.ClientRequest, Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]],
    Awaitable[aiohttp.ClientResponse],
]


# ---------- sending tweepy's traffic to X_API_BASE ----------


def redirect_middleware(api_base: str) -> ClientMiddleware:
    """An aiohttp client middleware that sends requests for X's hosts to `api_base`."""
    base = URL(api_base)

    async def middleware(
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        if request.url.host in X_HOSTS:
            request.url = request.url.with_scheme(base.scheme).with_host(base.host or "")
            request.url = request.url.with_port(base.port)
        return await handler(request)

    return middleware


@lru_cache(maxsize=1)
def _transport_adapter() -> Callable[[str | None, float], HTTPAdapter]:
    """`XTransportAdapter`, defined on first use: `requests` is only needed with tweepy."""
    from requests.adapters import HTTPAdapter

    class XTransportAdapter(HTTPAdapter):
        """A requests transport adapter for tweepy's synchronous calls: a timeout on every
        request (requests has none by default), and the same redirection to `api_base`."""

        def __init__(self, api_base: str | None, timeout: float) -> None:
            super().__init__()
            self._base = urlsplit(api_base) if api_base else None
            self._timeout = timeout

        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self._timeout
            parts = urlsplit(request.url or "")
            if self._base is not None and parts.hostname in X_HOSTS:
                # Keep the Host the request was signed for.
                request.headers["Host"] = parts.netloc
                request.url = urlunsplit(
                    (self._base.scheme, self._base.netloc, parts.path, parts.query, parts.fragment)
                )
            return super().send(request, *args, **kwargs)

    return XTransportAdapter


def prepare_requests_session(
    session: requests.Session, api_base: str | None, timeout: float
) -> None:
    adapter = _transport_adapter()(api_base, timeout)
    for host in X_HOSTS:
        session.mount(f"https://{host}/", adapter)


# ---------- linking: OAuth 1.0a PIN flow ----------


class XLinkError(Exception):
    """Linking failed. `code`: not_configured, rejected (bad or expired PIN), unreachable."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class XAuthorization:
    url: str
    request_token: dict[str, str]


@dataclass(frozen=True)
class XAccount:
    user_id: str
    username: str
    name: str
    access_token: str
    access_token_secret: str

    def credentials(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
            "user_id": self.user_id,
            "username": self.username,
        }


def _user_handler(
    consumer_key: str, consumer_secret: str, api_base: str | None, timeout: float
) -> Any:
    import tweepy

    class PreparedUserHandler(tweepy.OAuth1UserHandler):  # type: ignore[misc]
        # get_access_token replaces `oauth` with a new session: prepare every one of them.
        @property
        def oauth(self) -> Any:
            return self._oauth

        @oauth.setter
        def oauth(self, session: requests.Session) -> None:
            prepare_requests_session(session, api_base, timeout)
            self._oauth = session

    return PreparedUserHandler(consumer_key, consumer_secret, callback="oob")


class XAuthorizer:
    """The PIN flow. tweepy's OAuth calls are synchronous (requests): each runs in a thread."""

    def __init__(
        self,
        consumer_key: str | None,
        consumer_secret: str | None,
        *,
        api_base: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._api_base = api_base
        self._timeout = timeout

    @property
    def configured(self) -> bool:
        return bool(self._key and self._secret)

    def _keys(self) -> tuple[str, str]:
        if not self._key or not self._secret:
            raise XLinkError("not_configured")
        return self._key, self._secret

    async def start(self) -> XAuthorization:
        key, secret = self._keys()

        def run() -> XAuthorization:
            handler = _user_handler(key, secret, self._api_base, self._timeout)
            url = handler.get_authorization_url()
            return XAuthorization(url=url, request_token=dict(handler.request_token))

        try:
            return await asyncio.to_thread(run)
        except Exception as exc:
            log.warning("X: could not start authorisation: %s", type(exc).__name__)
            raise XLinkError("unreachable") from None

    async def finish(self, request_token: dict[str, str], pin: str) -> XAccount:
        key, secret = self._keys()

        def run() -> tuple[str, str]:
            handler = _user_handler(key, secret, self._api_base, self._timeout)
            handler.request_token = dict(request_token)
            token, token_secret = handler.get_access_token(pin.strip())
            return str(token), str(token_secret)

        try:
            token, token_secret = await asyncio.to_thread(run)
        except Exception as exc:
            # tweepy wraps everything in TweepyException; a 401 here means a wrong PIN.
            text = str(exc)
            code = "rejected" if "401" in text or "Invalid" in text else "unreachable"
            log.warning("X: access token exchange failed (%s)", code)
            raise XLinkError(code) from None
        me = await self._me(key, secret, token, token_secret)
        return XAccount(
            user_id=str(me["id"]),
            username=str(me.get("username", "")),
            name=str(me.get("name") or me.get("username") or me["id"]),
            access_token=token,
            access_token_secret=token_secret,
        )

    async def _me(self, key: str, secret: str, token: str, token_secret: str) -> dict[str, Any]:
        from tweepy.asynchronous import AsyncClient

        async with _client_session(self._api_base, self._timeout) as session:
            client = AsyncClient(
                consumer_key=key,
                consumer_secret=secret,
                access_token=token,
                access_token_secret=token_secret,
                return_type=dict,
            )
            client.session = session
            try:
                answer = await client.get_me(user_auth=True)
            except Exception as exc:
                log.warning("X: reading the linked account failed: %s", type(exc).__name__)
                raise XLinkError("unreachable") from None
        return dict(answer["data"])


def _client_session(api_base: str | None, timeout: float) -> aiohttp.ClientSession:
    middlewares = (redirect_middleware(api_base),) if api_base else ()
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0)),
        middlewares=middlewares,
    )


# ---------- publishing ----------


def _retry_after(reset: int | None, now: float) -> float:
    if reset is None:
        return 60.0
    return max(1.0, float(reset) - now)


def _api_message(exc: Any) -> str:
    messages = [str(m) for m in getattr(exc, "api_messages", []) if m]
    return "; ".join(messages)[:300]


def _network_error(exc: BaseException, *, sent: bool) -> PublishError:
    """A transport failure: before the request went out it is safe to retry; after, X may
    have published it (ambiguous)."""
    if failed_before_sending(exc):
        return PublishError(
            ErrorClass.TRANSIENT, "Could not reach X (network error)", code=ErrorCode.NETWORK
        )
    if not sent:
        return PublishError(
            ErrorClass.TRANSIENT,
            f"Network error talking to X: {type(exc).__name__}",
            code=ErrorCode.NETWORK,
        )
    return PublishError(
        ErrorClass.AMBIGUOUS,
        f"No answer from X after sending (timeout or disconnect: {type(exc).__name__})",
        code=ErrorCode.TIMEOUT,
    )


def classify_x_error(exc: BaseException, *, sent: bool, now: float) -> PublishError:
    import tweepy

    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        return _status_error(429, now, getattr(exc, "reset_time", None))
    if isinstance(exc, tweepy.Unauthorized):
        return _status_error(401, now, None)
    if isinstance(exc, tweepy.Forbidden):
        message = _api_message(exc)
        if "duplicate" in message.lower():
            return PublishError(
                ErrorClass.PERMANENT,
                "X refused the post: it duplicates a recent post.",
                code=ErrorCode.DUPLICATE_CONTENT,
            )
        return PublishError(
            ErrorClass.PERMANENT,
            f"X refused the post: {message or 'forbidden'}",
            code=ErrorCode.REJECTED,
        )
    if isinstance(exc, tweepy.TwitterServerError):
        return _status_error(int(exc.response.status), now, None, sent=sent)
    if isinstance(exc, tweepy.HTTPException):
        return PublishError(
            ErrorClass.PERMANENT,
            f"X rejected the post: {_api_message(exc) or 'bad request'}",
            code=ErrorCode.REJECTED,
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        # An answer that is not X's JSON (a proxy's error page): judge by the status alone.
        return _status_error(exc.status, now, None, sent=sent)
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return _network_error(exc, sent=sent)
    return PublishError(
        ErrorClass.AMBIGUOUS,
        f"Unexpected error from X: {type(exc).__name__}",
        code=ErrorCode.UNKNOWN,
    )


def _status_error(
    status: int, now: float, reset: int | None, *, sent: bool = True
) -> PublishError:
    """`sent`: the request was the post itself (a server error may hide a published post);
    False for the picture uploads before it, which publish nothing."""
    if status == 429:
        wait = _retry_after(reset, now)
        return PublishError(
            ErrorClass.TRANSIENT,
            f"X rate limit reached; retry in {wait:.0f} s",
            code=ErrorCode.RATE_LIMITED,
            retry_after=wait,
        )
    if status == 401:
        return PublishError(
            ErrorClass.PERMANENT,
            "X rejected the account's authorisation (revoked or expired). Link the X account "
            "again.",
            code=ErrorCode.INVALID_CREDENTIALS,
            target_broken=True,
        )
    if status >= 500 and not sent:
        return PublishError(
            ErrorClass.TRANSIENT, f"X server error ({status})", code=ErrorCode.SERVER_ERROR
        )
    if status >= 500:
        return PublishError(
            ErrorClass.AMBIGUOUS,
            f"X server error ({status}) after sending",
            code=ErrorCode.SERVER_ERROR_SENT,
        )
    if 200 <= status < 300:
        return PublishError(
            ErrorClass.AMBIGUOUS, "X answered with something unreadable", code=ErrorCode.TIMEOUT
        )
    return PublishError(
        ErrorClass.PERMANENT, f"X refused the request ({status})", code=ErrorCode.REJECTED
    )


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


class XPublisher:
    """Publishes a post (a thread when it is long and the user asked for one) to X."""

    platform = "x"

    def __init__(
        self,
        consumer_key: str | None,
        consumer_secret: str | None,
        *,
        api_base: str | None = None,
        timeout: float = 30.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._api_base = api_base
        self._timeout = timeout
        self._now = now

    def _parts(self, request: PublishRequest, pictures: int) -> list[str]:
        thread = bool(request.options.get("x_thread"))
        fit = fit_for_platform(
            "x", request.text, title=request.title, pictures=pictures, allow_thread=thread
        )
        if not fit.ok:
            problems = ", ".join(p.value for p in fit.problems)
            raise PublishError(
                ErrorClass.PERMANENT,
                f"The post does not fit X ({problems}: {fit.length} of {X_LIMIT} characters).",
                code=ErrorCode.MESSAGE_TOO_LONG,
            )
        if fit.parts:
            return list(fit.parts)
        return [plain_text(request.title, request.text)]

    async def publish(self, request: PublishRequest) -> PublishResult:
        if not self._key or not self._secret:
            raise PublishError(
                ErrorClass.PERMANENT,
                "Publishing to X is not configured (X_CONSUMER_KEY).",
                code=ErrorCode.NOT_CONFIGURED,
            )
        creds = request.credentials or {}
        token, token_secret = creds.get("access_token"), creds.get("access_token_secret")
        if not token or not token_secret:
            raise PublishError(
                ErrorClass.PERMANENT,
                "The X account is not linked any more. Link it again.",
                code=ErrorCode.INVALID_CREDENTIALS,
                target_broken=True,
            )
        if unsupported_kinds("x", [m.kind for m in request.media]):
            # Refused before scheduling (content/media.py); a row saved otherwise fails here
            # rather than going out without its video or file.
            raise PublishError(
                ErrorClass.PERMANENT,
                "X gets photos only from this bot: the post has a video, GIF or file.",
                code=ErrorCode.BAD_MEDIA,
            )
        photos = [m for m in request.media if m.kind == "photo"]
        parts = self._parts(request, len(photos))
        from tweepy.asynchronous import AsyncClient

        async with _client_session(self._api_base, self._timeout) as session:
            media_ids = await self._upload_all(session, request, photos, token, token_secret)
            client = AsyncClient(
                consumer_key=self._key,
                consumer_secret=self._secret,
                access_token=token,
                access_token_secret=token_secret,
                return_type=dict,
            )
            client.session = session
            return await self._post_parts(client, parts, media_ids, creds)

    async def _post_parts(
        self, client: Any, parts: list[str], media_ids: list[str], creds: dict[str, Any]
    ) -> PublishResult:
        posted: list[str] = []
        for index, text in enumerate(parts):
            kwargs: dict[str, Any] = {"user_auth": True}
            if text:
                kwargs["text"] = text
            if index == 0 and media_ids:
                kwargs["media_ids"] = media_ids
            if posted:
                kwargs["in_reply_to_tweet_id"] = posted[-1]
            try:
                answer = await client.create_tweet(**kwargs)
            except Exception as exc:
                error = classify_x_error(exc, sent=True, now=self._now())
                if posted:
                    # Part of the thread is out: sending it all again would duplicate it.
                    raise PublishError(
                        ErrorClass.AMBIGUOUS,
                        f"Only {len(posted)} of {len(parts)} posts of the thread were "
                        f"published ({self._url(creds, posted[0])}); the next one failed: "
                        f"{error.reason}",
                        code=ErrorCode.PARTIAL_THREAD,
                    ) from None
                raise error from None
            posted.append(str(answer["data"]["id"]))
        log.info("X: published %d post(s), first id %s", len(posted), posted[0])
        return PublishResult(
            external_id=posted[0], url=self._url(creds, posted[0]), message_ids=tuple(posted)
        )

    # ---------- after publishing (issue 12) ----------
    # X has no edit for the bot (no `edit` here: the chat says so and offers delete and a
    # corrected copy).

    async def delete(self, message: PublishedMessage) -> None:
        """Every post of it (a thread: the last reply first)."""
        creds = message.credentials or {}
        token, token_secret = creds.get("access_token"), creds.get("access_token_secret")
        if not self._key or not self._secret or not token or not token_secret:
            raise PublishError(
                ErrorClass.PERMANENT,
                "The X account is not linked any more. Link it again.",
                code=ErrorCode.INVALID_CREDENTIALS,
            )
        from tweepy import NotFound
        from tweepy.asynchronous import AsyncClient

        gone = 0
        async with _client_session(self._api_base, self._timeout) as session:
            client = AsyncClient(
                consumer_key=self._key,
                consumer_secret=self._secret,
                access_token=token,
                access_token_secret=token_secret,
                return_type=dict,
            )
            client.session = session
            for tweet_id in reversed(message.message_ids):
                try:
                    await client.delete_tweet(tweet_id, user_auth=True)
                except NotFound:
                    gone += 1
                except Exception as exc:
                    error = classify_x_error(exc, sent=False, now=self._now())
                    if error.code == ErrorCode.REJECTED:
                        error = PublishError(
                            ErrorClass.PERMANENT, error.reason, code=ErrorCode.NO_RIGHT_TO_DELETE
                        )
                    raise error from None
        if gone == len(message.message_ids):
            raise PublishError(
                ErrorClass.PERMANENT, "The post is not on X any more.", code=ErrorCode.MESSAGE_GONE
            )

    @staticmethod
    def _url(creds: dict[str, Any], tweet_id: str) -> str:
        username = creds.get("username") or "i"
        return f"https://x.com/{username}/status/{tweet_id}"

    async def _upload_all(
        self,
        session: aiohttp.ClientSession,
        request: PublishRequest,
        photos: list[Any],
        token: str,
        token_secret: str,
    ) -> list[str]:
        if not photos:
            return []
        if request.load_media is None:
            raise PublishError(
                ErrorClass.PERMANENT, "Pictures cannot be loaded for X.", code=ErrorCode.BAD_MEDIA
            )
        ids = []
        for photo in photos[:MAX_PICTURES]:
            try:
                data = await request.load_media(photo)
            except Exception as exc:
                raise PublishError(
                    ErrorClass.TRANSIENT,
                    f"Could not download the picture: {type(exc).__name__}",
                    code=ErrorCode.NETWORK,
                ) from None
            ids.append(await self._upload(session, data, token, token_secret))
        return ids

    async def _upload(
        self, session: aiohttp.ClientSession, data: bytes, token: str, token_secret: str
    ) -> str:
        """The v2 media endpoint, signed with OAuth 1.0a (multipart bodies are not signed)."""
        from oauthlib.oauth1 import Client as OAuthClient

        signer = OAuthClient(self._key, self._secret, token, token_secret)
        url, headers, _ = signer.sign(MEDIA_UPLOAD_URL, "POST")
        form = aiohttp.FormData()
        form.add_field("media", data, filename="picture", content_type=_image_type(data))
        form.add_field("media_category", "tweet_image")
        try:
            async with session.post(url, data=form, headers=headers) as response:
                body = await response.json(content_type=None)
                status = response.status
                reset = response.headers.get("x-rate-limit-reset")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Nothing is published before the post itself: every failure here is retryable.
            raise PublishError(
                ErrorClass.TRANSIENT,
                f"Uploading the picture to X failed: {type(exc).__name__}",
                code=ErrorCode.NETWORK,
            ) from None
        if 200 <= status < 300:
            data_part = (body or {}).get("data") or {}
            media_id = data_part.get("id") or data_part.get("media_id_string")
            if media_id:
                return str(media_id)
            raise PublishError(
                ErrorClass.TRANSIENT,
                "X did not return an id for the picture",
                code=ErrorCode.SERVER_ERROR,
            )
        detail = str((body or {}).get("detail") or (body or {}).get("title") or status)[:200]
        if status in (401, 429) or status >= 500:
            raise _status_error(status, self._now(), int(reset) if reset else None, sent=False)
        raise PublishError(
            ErrorClass.PERMANENT, f"X refused the picture: {detail}", code=ErrorCode.BAD_MEDIA
        )
