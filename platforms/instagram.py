"""Instagram with instagrapi: linking from the chat (password, two-factor and challenge codes)
and publishing photos, albums and text cards.

instagrapi is synchronous: every call runs in a worker thread. Following its own advice, one
device is kept per account (the stored settings carry its uuids and are reused on every
login), requests are spaced by `delay_range`, and throttling answers back off generously.
The password lives only on the stack of the login thread; it is never stored."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.cards import render_card_async
from content.fitting import INSTAGRAM_CAPTION_LIMIT, fit_for_platform, plain_text
from content.media import unsupported_kinds
from platforms.base import (
    ErrorClass,
    PostEdit,
    PublishedMessage,
    PublishError,
    PublishRequest,
    PublishResult,
)
from platforms.errors import ErrorCode
from platforms.quiet import INSTAGRAM_LOGGERS, drop_debug_records
from platforms.transport import failed_before_sending

log = logging.getLogger("platforms.instagram")
drop_debug_records(*INSTAGRAM_LOGGERS)

ALBUM_LIMIT = 10
# Generous waits: Instagram punishes clients that come back too soon.
PLEASE_WAIT_RETRY = 15 * 60.0
THROTTLED_RETRY = 30 * 60.0
FEEDBACK_RETRY = 6 * 3600.0
CODE_WAIT_SECONDS = 10 * 60.0
CODE_ATTEMPTS = 3

ClientFactory = Callable[[], Any]

RELINK_CHALLENGE = (
    "Instagram wants to confirm it's you: open the Instagram app, confirm it's you, then "
    "link the account again."
)
RELINK_LOGGED_OUT = "Instagram ended the bot's session. Link the Instagram account again."


def default_client_factory() -> Any:
    from instagrapi import Client

    return Client()


def _configure(client: Any, delay_range: tuple[float, float] | None) -> None:
    if delay_range is not None:
        client.delay_range = [delay_range[0], delay_range[1]]


# ---------- linking ----------


@dataclass(frozen=True)
class InstagramAccount:
    user_id: str
    username: str
    full_name: str
    settings: dict[str, Any]

    def credentials(self) -> dict[str, Any]:
        return {"settings": self.settings, "user_id": self.user_id, "username": self.username}


@dataclass(frozen=True)
class NeedCode:
    kind: str  # "two_factor" or "challenge"
    retry: bool = False  # the previous code was wrong


@dataclass(frozen=True)
class Linked:
    account: InstagramAccount


@dataclass(frozen=True)
class LinkFailed:
    # bad_password, challenge_manual, bad_code, timeout, rate_limited, unreachable, cancelled,
    # failed
    code: str


LoginEvent = NeedCode | Linked | LinkFailed


class _Cancelled(Exception):
    pass


class _CodeTimeout(Exception):
    pass


class _WrongCode(Exception):
    pass


def _login_failure(exc: BaseException) -> str:
    from instagrapi import exceptions as ig

    if isinstance(exc, _Cancelled):
        return "cancelled"
    if isinstance(exc, _CodeTimeout):
        return "timeout"
    if isinstance(exc, _WrongCode | ig.TwoFactorRequired):
        return "bad_code"
    if isinstance(exc, ig.BadPassword | ig.BadCredentials | ig.UserNotFound):
        return "bad_password"
    if isinstance(exc, ig.ChallengeError | ig.CaptchaChallengeRequired | ig.AccountSuspended):
        return "challenge_manual"
    if isinstance(
        exc,
        ig.PleaseWaitFewMinutes
        | ig.RateLimitError
        | ig.ClientThrottledError
        | ig.FeedbackRequired,
    ):
        return "rate_limited"
    if isinstance(exc, ig.ClientConnectionError | ig.ClientRequestTimeout | OSError):
        return "unreachable"
    return "failed"


class InstagramLogin:
    """One login in progress. The synchronous instagrapi login runs in its own thread; when
    Instagram asks for a two-factor or challenge code the thread waits while the chat asks
    the user, and `submit_code` hands the answer over."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        delay_range: tuple[float, float] | None = None,
        previous_settings: dict[str, Any] | None = None,
        code_timeout: float = CODE_WAIT_SECONDS,
    ) -> None:
        self._factory = client_factory
        self._delay_range = delay_range
        self._previous = previous_settings
        self._code_timeout = code_timeout
        self._events: asyncio.Queue[LoginEvent] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._code: concurrent.futures.Future[str] | None = None
        self.finished = False

    async def start(self, username: str, password: str) -> LoginEvent:
        self._loop = asyncio.get_running_loop()
        # A thread of its own, not the shared pool: it may wait minutes for a code, and as a
        # daemon it never holds up the process at exit.
        threading.Thread(
            target=self._run, args=(username, password), name="instagram-login", daemon=True
        ).start()
        return await self.next_event()

    async def next_event(self) -> LoginEvent:
        event = await self._events.get()
        if not isinstance(event, NeedCode):
            self.finished = True
        return event

    @property
    def waiting_for_code(self) -> bool:
        return self._code is not None and not self._code.done()

    async def submit_code(self, code: str) -> LoginEvent:
        pending = self._code
        if pending is None or pending.done():
            return LinkFailed("timeout")
        pending.set_result(code.strip().replace(" ", ""))
        return await self.next_event()

    def cancel(self) -> None:
        pending = self._code
        if pending is not None and not pending.done():
            pending.set_exception(_Cancelled())

    # ---- inside the login thread ----

    def _emit(self, event: LoginEvent) -> None:
        assert self._loop is not None
        # The bot may be shutting down while the login thread finishes: nobody is listening.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    def _ask(self, kind: str, retry: bool = False) -> str:
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._code = future
        self._emit(NeedCode(kind, retry))
        try:
            return future.result(timeout=self._code_timeout)
        except concurrent.futures.TimeoutError:
            raise _CodeTimeout() from None

    def _run(self, username: str, password: str) -> None:
        try:
            account = self._login(username, password)
        except BaseException as exc:
            reason = _login_failure(exc)
            log.warning("Instagram: linking failed (%s: %s)", reason, type(exc).__name__)
            self._emit(LinkFailed(reason))
            return
        log.info("Instagram: account %s linked", account.user_id)
        self._emit(Linked(account))

    def _login(self, username: str, password: str) -> InstagramAccount:
        from instagrapi.exceptions import BadCredentials, ChallengeRequired, TwoFactorRequired

        client = self._factory()
        _configure(client, self._delay_range)
        if self._previous:
            # The same device as before: Instagram trusts a known device far more.
            client.set_uuids(dict(self._previous.get("uuids") or {}))
            if self._previous.get("device_settings"):
                client.set_device(dict(self._previous["device_settings"]))
        challenge_attempts = 0

        def challenge_code(_username: str, _choice: Any) -> str:
            nonlocal challenge_attempts
            challenge_attempts += 1
            if challenge_attempts > CODE_ATTEMPTS:
                raise _WrongCode()
            return self._ask("challenge", retry=challenge_attempts > 1)

        def no_password_change(_username: str) -> str:
            # Instagram wants a new password: only a person can do that, in the app.
            raise ChallengeRequired("password change required")

        client.challenge_code_handler = challenge_code
        client.change_password_handler = no_password_change
        try:
            client.login(username, password)
        except TwoFactorRequired:
            for attempt in range(CODE_ATTEMPTS):
                code = self._ask("two_factor", retry=attempt > 0)
                try:
                    client.login(username, password, verification_code=code)
                    break
                except (TwoFactorRequired, BadCredentials):
                    if attempt == CODE_ATTEMPTS - 1:
                        raise _WrongCode() from None
        info = client.account_info()
        return InstagramAccount(
            user_id=str(getattr(info, "pk", "") or client.user_id),
            username=str(getattr(info, "username", "") or username),
            full_name=str(getattr(info, "full_name", "") or ""),
            settings=client.get_settings(),
        )


# ---------- publishing ----------


def _could_not_connect(exc: BaseException) -> bool:
    """instagrapi talks through requests: its ClientConnectionError is raised while handling
    requests' ConnectionError (the context), which wraps urllib3's MaxRetryError, which wraps
    the cause. Only urllib3's connection errors (refused, DNS, connect timeout), a proxy that
    could not be reached and a failed certificate check prove nothing was sent."""
    import requests
    import urllib3.exceptions as u3
    from instagrapi import exceptions as ig

    return failed_before_sending(
        exc,
        wrappers=(
            ig.ClientConnectionError,
            requests.ConnectionError,
            u3.MaxRetryError,
            u3.SSLError,
        ),
        before=(
            requests.ConnectTimeout,
            requests.exceptions.ProxyError,
            u3.ConnectTimeoutError,  # and NewConnectionError, NameResolutionError
            u3.ProxyError,
        ),
    )


def classify_instagram_error(exc: BaseException) -> PublishError:
    import requests
    from instagrapi import exceptions as ig

    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, ig.ChallengeError | ig.CaptchaChallengeRequired):
        return PublishError(
            ErrorClass.PERMANENT,
            RELINK_CHALLENGE,
            code=ErrorCode.CHALLENGE_REQUIRED,
            target_broken=True,
        )
    if isinstance(exc, ig.LoginRequired | ig.ClientLoginRequired | ig.ReloginAttemptExceeded):
        return PublishError(
            ErrorClass.PERMANENT,
            RELINK_LOGGED_OUT,
            code=ErrorCode.INVALID_CREDENTIALS,
            target_broken=True,
        )
    if isinstance(exc, ig.AccountSuspended):
        return PublishError(
            ErrorClass.PERMANENT,
            "Instagram suspended the account.",
            code=ErrorCode.ACCOUNT_SUSPENDED,
            target_broken=True,
        )
    if isinstance(exc, ig.FeedbackRequired):
        return PublishError(
            ErrorClass.TRANSIENT,
            "Instagram temporarily blocked this action (feedback required); trying again later.",
            code=ErrorCode.RATE_LIMITED,
            retry_after=FEEDBACK_RETRY,
        )
    if isinstance(exc, ig.PleaseWaitFewMinutes):
        return PublishError(
            ErrorClass.TRANSIENT,
            "Instagram asked to wait a few minutes.",
            code=ErrorCode.RATE_LIMITED,
            retry_after=PLEASE_WAIT_RETRY,
        )
    if isinstance(exc, ig.RateLimitError | ig.ClientThrottledError):
        return PublishError(
            ErrorClass.TRANSIENT,
            "Instagram rate limit reached (429).",
            code=ErrorCode.RATE_LIMITED,
            retry_after=THROTTLED_RETRY,
        )
    if isinstance(exc, ig.PhotoConfigureError | ig.AlbumConfigureError):
        return PublishError(
            ErrorClass.PERMANENT, "Instagram did not accept the post.", code=ErrorCode.REJECTED
        )
    if isinstance(exc, ig.PhotoNotUpload):
        # The picture itself did not upload; no post exists yet.
        return PublishError(
            ErrorClass.TRANSIENT,
            "Uploading the picture to Instagram failed.",
            code=ErrorCode.NETWORK,
        )
    if isinstance(exc, ig.ClientRequestTimeout):
        return PublishError(
            ErrorClass.AMBIGUOUS,
            "No answer from Instagram after sending (timeout)",
            code=ErrorCode.TIMEOUT,
        )
    if isinstance(exc, ig.ClientConnectionError | requests.RequestException):
        # requests' own errors reach here from the picture upload, which instagrapi sends
        # without wrapping them.
        if _could_not_connect(exc):
            return PublishError(
                ErrorClass.TRANSIENT,
                "Could not reach Instagram (network error)",
                code=ErrorCode.NETWORK,
            )
        return PublishError(
            ErrorClass.AMBIGUOUS,
            f"The connection to Instagram broke after sending ({type(exc).__name__})",
            code=ErrorCode.TIMEOUT,
        )
    if isinstance(exc, ig.ClientError):
        status = getattr(exc, "code", None)
        if isinstance(status, int) and status >= 500:
            # Instagram may have created the post before failing to answer.
            return PublishError(
                ErrorClass.AMBIGUOUS,
                f"Instagram server error ({status}) after sending",
                code=ErrorCode.SERVER_ERROR_SENT,
            )
        if isinstance(status, int) and 400 <= status < 500:
            return PublishError(
                ErrorClass.PERMANENT,
                f"Instagram refused the post ({type(exc).__name__}).",
                code=ErrorCode.REJECTED,
            )
    return PublishError(
        ErrorClass.AMBIGUOUS,
        f"Unexpected error from Instagram: {type(exc).__name__}",
        code=ErrorCode.UNKNOWN,
    )


def _media_error(exc: BaseException) -> PublishError:
    """A failed edit or delete of a published post: a missing post is gone already."""
    from instagrapi import exceptions as ig

    if isinstance(exc, ig.MediaNotFound | ig.MediaUnavailable | ig.InvalidMediaId):
        return PublishError(
            ErrorClass.PERMANENT,
            "The post is not on Instagram any more.",
            code=ErrorCode.MESSAGE_GONE,
        )
    return classify_instagram_error(exc)


def _as_jpeg(data: bytes) -> bytes:
    """Instagram takes JPEG photos; Telegram sends JPEG already, anything else is converted."""
    if data.startswith(b"\xff\xd8"):
        return data
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=92)
        return buffer.getvalue()


def _session_id(settings: dict[str, Any]) -> str | None:
    auth = settings.get("authorization_data") or {}
    cookies = settings.get("cookies") or {}
    value = auth.get("sessionid") or cookies.get("sessionid")
    return str(value) if value else None


@dataclass(frozen=True)
class _Uploaded:
    media_pk: str
    code: str
    settings: dict[str, Any]
    relogged: bool


class InstagramPublisher:
    platform = "instagram"

    def __init__(
        self,
        client_factory: ClientFactory = default_client_factory,
        *,
        delay_range: tuple[float, float] | None = (1.0, 3.0),
        hashtag_limit: int = 30,
    ) -> None:
        self._factory = client_factory
        self._delay_range = delay_range
        self._hashtag_limit = hashtag_limit
        # One upload at a time per account: Instagram flags a session used in parallel.
        self._account_locks: dict[str, asyncio.Lock] = {}

    async def publish(self, request: PublishRequest) -> PublishResult:
        creds = request.credentials or {}
        settings = creds.get("settings")
        if not isinstance(settings, dict) or not settings:
            raise PublishError(
                ErrorClass.PERMANENT,
                "The Instagram account is not linked any more. Link it again.",
                code=ErrorCode.INVALID_CREDENTIALS,
                target_broken=True,
            )
        if unsupported_kinds("instagram", [m.kind for m in request.media]):
            # Refused before scheduling (content/media.py); a row saved otherwise fails here
            # rather than going out without its video or file.
            raise PublishError(
                ErrorClass.PERMANENT,
                "Instagram gets photos only from this bot: the post has a video, GIF or file.",
                code=ErrorCode.BAD_MEDIA,
            )
        photos = [m for m in request.media if m.kind == "photo"]
        fit = fit_for_platform(
            "instagram",
            request.text,
            title=request.title,
            pictures=len(photos),
            hashtag_limit=self._hashtag_limit,
        )
        if not fit.ok:
            problems = ", ".join(p.value for p in fit.problems)
            raise PublishError(
                ErrorClass.PERMANENT,
                f"The post does not fit Instagram ({problems}; caption {fit.length} of "
                f"{INSTAGRAM_CAPTION_LIMIT} characters, at most {self._hashtag_limit} "
                "hashtags).",
                code=ErrorCode.MESSAGE_TOO_LONG,
            )
        caption = plain_text(request.title, request.text)
        images = await self._images(request, photos)
        lock = self._account_locks.setdefault(request.target_external_id, asyncio.Lock())
        try:
            async with lock:
                uploaded = await asyncio.to_thread(self._upload, settings, images, caption)
        except Exception as exc:
            raise classify_instagram_error(exc) from None
        log.info("Instagram: published media %s", uploaded.media_pk)
        updated = None
        if uploaded.relogged or uploaded.settings != settings:
            updated = {**creds, "settings": uploaded.settings}
        return PublishResult(
            external_id=uploaded.media_pk,
            url=f"https://www.instagram.com/p/{uploaded.code}/" if uploaded.code else None,
            updated_credentials=updated,
        )

    async def _images(self, request: PublishRequest, photos: list[Any]) -> list[bytes]:
        if not photos:
            # Instagram has no text-only posts: the text goes on a card.
            return [await render_card_async(request.title, plain_text(None, request.text))]
        if request.load_media is None:
            raise PublishError(
                ErrorClass.PERMANENT,
                "Pictures cannot be loaded for Instagram.",
                code=ErrorCode.BAD_MEDIA,
            )
        images = []
        for photo in photos[:ALBUM_LIMIT]:
            try:
                data = await request.load_media(photo)
            except Exception as exc:
                raise PublishError(
                    ErrorClass.TRANSIENT,
                    f"Could not download the picture: {type(exc).__name__}",
                    code=ErrorCode.NETWORK,
                ) from None
            try:
                images.append(await asyncio.to_thread(_as_jpeg, data))
            except (OSError, ValueError) as exc:  # Pillow cannot read it
                raise PublishError(
                    ErrorClass.PERMANENT,
                    "A picture of the post is not an image Instagram takes.",
                    code=ErrorCode.BAD_MEDIA,
                ) from exc
        return images

    def _upload(self, settings: dict[str, Any], images: list[bytes], caption: str) -> _Uploaded:
        from instagrapi.exceptions import LoginRequired

        client = self._factory()
        _configure(client, self._delay_range)
        client.set_settings(settings)
        relogged = False
        with tempfile.TemporaryDirectory(prefix="curator-ig-") as folder:
            paths = []
            for index, data in enumerate(images):
                path = Path(folder) / f"picture-{index + 1}.jpg"
                path.write_bytes(data)
                paths.append(path)
            while True:
                try:
                    if len(paths) == 1:
                        media = client.photo_upload(paths[0], caption)
                    else:
                        media = client.album_upload(paths, caption)
                    break
                except LoginRequired:
                    if relogged:
                        raise
                    self._relogin(client, settings)
                    relogged = True
        return _Uploaded(
            media_pk=str(media.pk),
            code=str(getattr(media, "code", "") or ""),
            settings=client.get_settings(),
            relogged=relogged,
        )

    # ---------- after publishing (issue 12) ----------

    async def edit(self, message: PublishedMessage, change: PostEdit) -> None:
        """The caption (Instagram has no buttons; the pictures stay)."""
        if change.plain is None:
            raise PublishError(
                ErrorClass.PERMANENT,
                "Instagram posts have no buttons.",
                code=ErrorCode.NOT_SUPPORTED,
            )
        await self._media_call(message, change.plain)

    async def delete(self, message: PublishedMessage) -> None:
        await self._media_call(message, None)

    async def _media_call(self, message: PublishedMessage, caption: str | None) -> None:
        settings = (message.credentials or {}).get("settings")
        if not isinstance(settings, dict) or not settings:
            raise PublishError(
                ErrorClass.PERMANENT,
                "The Instagram account is not linked any more. Link it again.",
                code=ErrorCode.INVALID_CREDENTIALS,
            )
        lock = self._account_locks.setdefault(message.target_external_id, asyncio.Lock())
        try:
            async with lock:
                await asyncio.to_thread(
                    self._media_sync, settings, message.message_ids[0], caption
                )
        except Exception as exc:
            raise _media_error(exc) from None

    def _media_sync(self, settings: dict[str, Any], pk: str, caption: str | None) -> None:
        client = self._factory()
        _configure(client, self._delay_range)
        client.set_settings(settings)
        # The full media id is "<media pk>_<author pk>": built here, instagrapi would look
        # the author up with one more request.
        user_id = getattr(client, "user_id", None)
        media_id = f"{pk}_{user_id}" if user_id and "_" not in pk else pk
        if caption is not None:
            client.media_edit(media_id, caption)
            return
        if not client.media_delete(media_id):
            from instagrapi.exceptions import MediaNotFound

            raise MediaNotFound("not deleted")

    @staticmethod
    def _relogin(client: Any, settings: dict[str, Any]) -> None:
        """Log in again from the stored session (no password is kept), on the same device."""
        from instagrapi.exceptions import LoginRequired

        session_id = _session_id(settings)
        if not session_id:
            raise LoginRequired("no stored session")
        log.info("Instagram: session expired, logging in again from the stored session")
        client.login_by_sessionid(session_id)
