"""A fake `instagrapi.Client`: the seam instagrapi leaves is the client object itself.

`FakeInstagram` is the platform (accounts, sessions, published media); `client_factory()`
hands out clients bound to it. Every call is recorded so tests assert what the bot did. The
clients raise instagrapi's own exception classes, so error mapping is tested for real."""

from __future__ import annotations

import itertools
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests
from instagrapi import exceptions as ig
from instagrapi.mixins.challenge import ChallengeChoice

# ---- network failures, as instagrapi raises them ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _resetting_server() -> int:
    """A local server that reads one request, then resets the connection (TCP RST)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        with listener:
            connection, _ = listener.accept()
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def _wrapped_like_instagrapi(port: int) -> ig.ClientConnectionError:
    """A real `requests` failure against a local port, wrapped the way instagrapi's
    `_send_private_request` does: `raise ClientConnectionError(...)` inside `except
    requests.ConnectionError`, so the requests error is the context, not the cause."""
    try:
        try:
            requests.post(f"http://127.0.0.1:{port}/api/v1/media/configure/", data="x", timeout=5)
        except requests.ConnectionError as e:
            raise ig.ClientConnectionError(f"{e.__class__.__name__} {e}")  # noqa: B904
    except ig.ClientConnectionError as wrapped:
        return wrapped
    raise AssertionError("the request was expected to fail")


def connection_refused() -> ig.ClientConnectionError:
    """Instagram could not be reached: nothing was sent."""
    return _wrapped_like_instagrapi(_free_port())


def connection_reset() -> ig.ClientConnectionError:
    """The request went out, then the connection was reset: the post may exist."""
    return _wrapped_like_instagrapi(_resetting_server())


@dataclass
class FakeAccount:
    pk: str
    username: str
    password: str
    full_name: str = ""
    two_factor_code: str | None = None
    challenge_code: str | None = None  # a code "sent by e-mail" on the next login
    manual_challenge: bool = False  # only the person, in the app, can pass it
    session_id: str | None = None
    auth_token: str | None = None


@dataclass
class Published:
    username: str
    kind: str  # photo or album
    caption: str
    pictures: list[bytes]
    pk: str
    code: str


@dataclass
class Recorded:
    client: int
    method: str
    args: dict[str, Any] = field(default_factory=dict)


class FakeInstagram:
    def __init__(self) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.published: list[Published] = []
        self.deleted: list[Published] = []  # issue 12: media_delete moves them here
        self.calls: list[Recorded] = []
        self.upload_faults: list[BaseException] = []
        self.faults_after_publishing: list[BaseException] = []
        self.login_seconds = 0.0  # how long Instagram takes to answer a login
        self.upload_seconds = 0.0
        self._ids = itertools.count(3_100_000_000_000_000_001)
        self._clients = itertools.count(1)
        self._lock = threading.Lock()

    def add_account(self, username: str, password: str, **extra: Any) -> FakeAccount:
        account = FakeAccount(
            pk=str(next(self._ids)), username=username, password=password, **extra
        )
        self.accounts[username] = account
        return account

    def client_factory(self) -> FakeInstagramClient:
        return FakeInstagramClient(self, next(self._clients))

    def record(self, client: int, method: str, **args: Any) -> None:
        with self._lock:
            self.calls.append(Recorded(client, method, args))

    def calls_to(self, method: str) -> list[Recorded]:
        return [c for c in self.calls if c.method == method]

    def fail_next_upload(self, *errors: BaseException) -> None:
        self.upload_faults.extend(errors)

    def fail_next_answer(self, *errors: BaseException) -> None:
        """The next uploads are published, then their answers fail with these errors."""
        self.faults_after_publishing.extend(errors)

    def expire_authorization(self, username: str) -> None:
        """The bearer token dies; the session id still works (login_by_sessionid revives)."""
        self.accounts[username].auth_token = secrets.token_hex(8)

    def log_out(self, username: str) -> None:
        """Instagram ends the session altogether."""
        account = self.accounts[username]
        account.session_id = None
        account.auth_token = None

    def _issue_session(self, account: FakeAccount) -> None:
        account.session_id = f"{account.pk}%3A{secrets.token_urlsafe(24)}"
        account.auth_token = secrets.token_hex(16)

    def _account_for_session(self, session_id: str | None) -> FakeAccount | None:
        for account in self.accounts.values():
            if session_id and account.session_id == session_id:
                return account
        return None


class FakeInstagramClient:
    """The parts of `instagrapi.Client` the bot uses, with the same signatures."""

    def __init__(self, world: FakeInstagram, number: int) -> None:
        self.world = world
        self.number = number
        self.delay_range: list[float] | None = None
        self.settings: dict[str, Any] = {}
        self.uuids: dict[str, str] = {}
        self.device_settings: dict[str, Any] = {"manufacturer": "OnePlus", "model": "6T"}
        self.username: str | None = None
        self.password: str | None = None
        self.challenge_code_handler: Any = None
        self.change_password_handler: Any = None
        self._account: FakeAccount | None = None
        self._auth_token: str | None = None
        self.set_uuids({})

    # ---- session ----

    def set_uuids(self, uuids: dict[str, str]) -> bool:
        self.world.record(self.number, "set_uuids", uuids=dict(uuids))
        self.uuids = {
            "phone_id": uuids.get("phone_id") or secrets.token_hex(8),
            "uuid": uuids.get("uuid") or secrets.token_hex(8),
            "android_device_id": uuids.get("android_device_id")
            or f"android-{secrets.token_hex(8)}",
        }
        return True

    def set_device(self, device: dict[str, Any]) -> bool:
        self.world.record(self.number, "set_device", device=dict(device))
        self.device_settings = dict(device)
        return True

    def get_settings(self) -> dict[str, Any]:
        account = self._account
        return {
            "uuids": dict(self.uuids),
            "device_settings": dict(self.device_settings),
            "cookies": {"sessionid": account.session_id} if account and account.session_id else {},
            "authorization_data": {
                "ds_user_id": account.pk,
                "sessionid": account.session_id,
                "authorization_token": self._auth_token,
            }
            if account
            else {},
        }

    def set_settings(self, settings: dict[str, Any]) -> bool:
        self.world.record(self.number, "set_settings", settings=settings)
        self.settings = dict(settings)
        self.uuids = dict(settings.get("uuids") or {})
        self.device_settings = dict(settings.get("device_settings") or {})
        auth = settings.get("authorization_data") or {}
        self._account = self.world._account_for_session(auth.get("sessionid"))
        if self._account is None and auth.get("ds_user_id"):
            self._account = next(
                (a for a in self.world.accounts.values() if a.pk == auth["ds_user_id"]), None
            )
        self._auth_token = auth.get("authorization_token")
        self.username = self._account.username if self._account else None
        return True

    @property
    def user_id(self) -> int | None:
        return int(self._account.pk) if self._account else None

    def login(
        self,
        username: str | None = None,
        password: str | None = None,
        relogin: bool = False,
        verification_code: str = "",
    ) -> bool:
        self.world.record(
            self.number, "login", username=username, verification_code=verification_code
        )
        time.sleep(self.world.login_seconds)  # instagrapi blocks its thread, as here
        account = self.world.accounts.get(username or "")
        if account is None:
            raise ig.UserNotFound(
                "The username you entered doesn't appear to belong to an account."
            )
        if password != account.password:
            raise ig.BadPassword("The password you entered is incorrect.")
        self.username, self.password = username, password
        if account.manual_challenge:
            raise ig.ChallengeRequired(
                message="challenge_required",
                step_name="verify_it_is_you",
                challenge={"api_path": "/challenge/123/abc/", "native_flow": True},
            )
        if account.challenge_code is not None:
            code = self.challenge_code_handler(username, ChallengeChoice.EMAIL)
            if code != account.challenge_code:
                raise ig.ChallengeRequired("The code you entered is incorrect.")
            account.challenge_code = None
        if account.two_factor_code is not None:
            if not verification_code:
                raise ig.TwoFactorRequired("Two-factor authentication required")
            if verification_code != account.two_factor_code:
                raise ig.TwoFactorRequired("Please check the security code and try again.")
        self.world._issue_session(account)
        self._account = account
        self._auth_token = account.auth_token
        return True

    def login_by_sessionid(self, sessionid: str) -> bool:
        self.world.record(self.number, "login_by_sessionid", sessionid=sessionid)
        account = self.world._account_for_session(sessionid)
        if account is None:
            raise ig.LoginRequired("login_required")
        self._account = account
        self._auth_token = account.auth_token
        self.username = account.username
        return True

    def account_info(self) -> Any:
        self.world.record(self.number, "account_info")
        account = self._check_session()
        return SimpleNamespace(
            pk=account.pk, username=account.username, full_name=account.full_name
        )

    def _check_session(self) -> FakeAccount:
        account = self._account
        if account is None or account.session_id is None or account.auth_token != self._auth_token:
            raise ig.LoginRequired("login_required")
        return account

    # ---- publishing ----

    def _publish(self, kind: str, paths: list[Path], caption: str) -> Any:
        account = self._check_session()
        time.sleep(self.world.upload_seconds)
        if self.world.upload_faults:
            raise self.world.upload_faults.pop(0)
        pictures = []
        for path in paths:
            data = Path(path).read_bytes()
            if not data.startswith(b"\xff\xd8"):
                raise ig.PhotoNotUpload("not a JPEG")
            pictures.append(data)
        pk = str(next(self.world._ids))
        code = f"C{secrets.token_urlsafe(8)}"
        self.world.published.append(Published(account.username, kind, caption, pictures, pk, code))
        self.world.record(self.number, "uploaded", pk=pk)
        if self.world.faults_after_publishing:
            raise self.world.faults_after_publishing.pop(0)
        return SimpleNamespace(pk=pk, id=f"{pk}_{account.pk}", code=code)

    def photo_upload(self, path: Path, caption: str, **kwargs: Any) -> Any:
        self.world.record(
            self.number,
            "photo_upload",
            path=str(path),
            caption=caption,
            delay_range=self.delay_range,
        )
        return self._publish("photo", [path], caption)

    # ---- after publishing (issue 12) ----

    def _own_media(self, media_id: str) -> Published:
        account = self._check_session()
        pk, _sep, owner = str(media_id).partition("_")
        for item in self.world.published:
            if item.pk == pk and item.username == account.username:
                if owner and owner != account.pk:
                    raise ig.MediaNotFound("media not found")
                return item
        raise ig.MediaNotFound("media not found")

    def media_edit(self, media_id: str, caption: str, **kwargs: Any) -> dict[str, Any]:
        self.world.record(self.number, "media_edit", media_id=media_id, caption=caption)
        item = self._own_media(media_id)
        item.caption = caption
        return {"status": "ok"}

    def media_delete(self, media_id: str) -> bool:
        self.world.record(self.number, "media_delete", media_id=media_id)
        item = self._own_media(media_id)
        self.world.published.remove(item)
        self.world.deleted.append(item)
        return True

    def album_upload(self, paths: list[Path], caption: str, **kwargs: Any) -> Any:
        self.world.record(
            self.number,
            "album_upload",
            paths=[str(p) for p in paths],
            caption=caption,
            delay_range=self.delay_range,
        )
        if not 2 <= len(paths) <= 10:
            raise ig.AlbumConfigureError("an album takes 2 to 10 pictures")
        return self._publish("album", list(paths), caption)
