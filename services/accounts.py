"""Linking X and Instagram accounts: the platform dialogs' state that must outlive one chat
update, and storing the resulting target with its credentials encrypted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from platforms.credentials import SecretBox, SecretsUnavailableError
from platforms.instagram import (
    ClientFactory,
    InstagramAccount,
    InstagramLogin,
    default_client_factory,
)
from platforms.x import XAccount, XAuthorizer
from services.pending_logins import PendingLogins
from storage.models import Platform, Target
from storage.repositories import CredentialRepository, TargetRepository
from storage.uow import Database

log = logging.getLogger("services")

CREDENTIAL_KIND_X = "x_oauth1"
CREDENTIAL_KIND_INSTAGRAM = "session"


@dataclass
class AccountLinkers:
    """Process-wide: the X authoriser and the Instagram logins waiting for a code.

    An Instagram login that waits for a code keeps its thread (and the password on that
    thread's stack) in this process; a restart forgets it and the user starts again."""

    x: XAuthorizer
    instagram_client_factory: ClientFactory = default_client_factory
    instagram_delay_range: tuple[float, float] | None = (1.0, 3.0)
    code_timeout: float = 600.0
    _instagram: dict[int, InstagramLogin] = field(default_factory=dict, init=False, repr=False)
    # The tasks waiting for Instagram's answers (kept referenced until they finish).
    _waiting: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> AccountLinkers:
        from platforms.registry import instagram_delay_range, secret_value

        return cls(
            x=XAuthorizer(
                secret_value(settings.x_consumer_key),
                secret_value(settings.x_consumer_secret),
                api_base=settings.x_api_base,
            ),
            instagram_delay_range=instagram_delay_range(settings),
        )

    def start_instagram(
        self, user_id: int, previous_settings: dict[str, Any] | None
    ) -> InstagramLogin:
        self.drop_instagram(user_id)
        login = InstagramLogin(
            self.instagram_client_factory,
            delay_range=self.instagram_delay_range,
            previous_settings=previous_settings,
            code_timeout=self.code_timeout,
        )
        self._instagram[user_id] = login
        return login

    def instagram_login(self, user_id: int) -> InstagramLogin | None:
        login = self._instagram.get(user_id)
        if login is not None and login.finished:
            self._instagram.pop(user_id, None)
            return None
        return login

    def is_current_instagram(self, user_id: int, login: InstagramLogin) -> bool:
        """Whether `login` is still the user's login (not cancelled or replaced)."""
        return self._instagram.get(user_id) is login

    def drop_instagram(self, user_id: int) -> None:
        login = self._instagram.pop(user_id, None)
        if login is not None:
            login.cancel()

    def run_in_background(self, waiting: Coroutine[Any, Any, None]) -> None:
        """Runs `waiting` (it awaits an Instagram login's answer) without holding up the
        update that started it."""
        task = asyncio.create_task(waiting)
        self._waiting.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._waiting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an Instagram login could not be completed", exc_info=task.exception())

    def close(self) -> None:
        for user_id in list(self._instagram):
            self.drop_instagram(user_id)
        for task in list(self._waiting):
            task.cancel()


class AccountService:
    """Stores linked accounts: the target, and its credentials encrypted with SecretBox.

    Each method is one unit of work. Talking to X or Instagram is the caller's business and
    happens before (`save_*`) or after (`previous_instagram_settings`) the unit, never in it."""

    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self.db = db
        self.secrets = secrets
        # Logins waiting for a code, visible to every process (webhook replicas).
        self.pending = PendingLogins(db, secrets)

    @property
    def can_store_secrets(self) -> bool:
        return self.secrets.available

    def seal(self, payload: dict[str, Any]) -> str:
        return self.secrets.encrypt(payload)

    def unseal(self, token: str) -> dict[str, Any]:
        return self.secrets.decrypt(token)

    async def save_x(self, owner_id: int, account: XAccount) -> Target:
        # Encrypted before the unit opens: nothing slow runs while the writer's turn is held.
        ciphertext = self.secrets.encrypt(account.credentials())
        title = f"@{account.username}" if account.username else account.name
        async with self.db.write() as session:
            target = await TargetRepository(session).link(
                owner_id, Platform.X, account.user_id, title, account.username or None
            )
            await CredentialRepository(session).put(target.id, CREDENTIAL_KIND_X, ciphertext)
        return target

    async def save_instagram(self, owner_id: int, account: InstagramAccount) -> Target:
        ciphertext = self.secrets.encrypt(account.credentials())
        async with self.db.write() as session:
            target = await TargetRepository(session).link(
                owner_id,
                Platform.INSTAGRAM,
                account.user_id,
                f"@{account.username}",
                account.username,
            )
            await CredentialRepository(session).put(
                target.id, CREDENTIAL_KIND_INSTAGRAM, ciphertext
            )
        return target

    async def previous_instagram_settings(
        self, owner_id: int, username: str
    ) -> dict[str, Any] | None:
        """The stored device of an account linked before, so that relinking reuses it."""
        wanted = username.lstrip("@").lower()
        async with self.db.read() as session:
            targets = await TargetRepository(session).list_for_owner(owner_id, Platform.INSTAGRAM)
            target = next((t for t in targets if (t.handle or "").lower() == wanted), None)
            if target is None:
                return None
            stored = await CredentialRepository(session).get_ciphertext(target.id)
        if stored is None:
            return None
        try:
            settings = self.secrets.decrypt(stored[1]).get("settings")
        except SecretsUnavailableError:
            return None
        return settings if isinstance(settings, dict) else None
