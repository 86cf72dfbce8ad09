"""Logins waiting for the user's code, shared by every process (issue 14: webhook replicas).

An Instagram login that waits for a two-factor or challenge code runs in the process that
started it (instagrapi's login call blocks its thread until the code comes). Behind one
webhook URL the user's code may reach another process. So the waiting login is recorded in
the database, and a code received anywhere is put there for the waiting process to take:

- `open` when Instagram asks for a code; `beat` while the process waits (a login whose
  process stopped stops beating and counts as gone after `STALE`);
- `post_code` from whichever process received the code;
- `take_code` by the waiting process; `close` when the login ends.

The record is SecretBox ciphertext (the code is a secret for a while); the password never
leaves the login's thread and is never stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from platforms.credentials import SecretBox, SecretsUnavailableError
from storage.replicas import PendingLoginRepository
from storage.uow import Database

# A waiting process beats more often than this; past it, its login counts as gone.
STALE = timedelta(seconds=15)
PLATFORM = "instagram"


def _key(user_id: int) -> str:
    return f"{PLATFORM}:{user_id}"


class PendingLogins:
    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self.db = db
        self.secrets = secrets

    @staticmethod
    def _now() -> datetime:
        # Wall time, not the injectable clock: this is a liveness beat between processes.
        return datetime.now(UTC)

    @property
    def available(self) -> bool:
        return self.secrets.available

    async def _write(self, user_id: int, state: dict[str, Any]) -> None:
        ciphertext = self.secrets.encrypt(state)
        async with self.db.write() as session:
            await PendingLoginRepository(session).put(
                _key(user_id), user_id, PLATFORM, ciphertext, self._now() + STALE
            )

    async def _read(self, user_id: int) -> tuple[str, dict[str, Any]] | None:
        async with self.db.read() as session:
            row = await PendingLoginRepository(session).get(_key(user_id), self._now())
            stored = None if row is None else row.state
        if stored is None:
            return None
        try:
            return stored, self.secrets.decrypt(stored)
        except SecretsUnavailableError:
            return None

    async def _update(self, user_id: int, old: str, state: dict[str, Any]) -> bool:
        ciphertext = self.secrets.encrypt(state)
        async with self.db.write() as session:
            return await PendingLoginRepository(session).replace(
                _key(user_id), old, ciphertext, self._now() + STALE
            )

    async def open(self, user_id: int, kind: str) -> None:
        if self.available:
            await self._write(user_id, {"kind": kind, "code": None})

    async def beat(self, user_id: int) -> None:
        async with self.db.write() as session:
            await PendingLoginRepository(session).touch(_key(user_id), self._now() + STALE)

    async def waiting(self, user_id: int) -> bool:
        """Whether a live process waits for this user's code."""
        return self.available and await self._read(user_id) is not None

    async def post_code(self, user_id: int, code: str) -> bool:
        """Hands `code` to the process waiting for it; False when none waits."""
        if not self.available:
            return False
        for _attempt in range(3):
            found = await self._read(user_id)
            if found is None:
                return False
            old, state = found
            state["code"] = code
            if await self._update(user_id, old, state):
                return True
        return False

    async def take_code(self, user_id: int) -> str | None:
        found = await self._read(user_id)
        if found is None or not found[1].get("code"):
            return None
        old, state = found
        code = str(state["code"])
        state["code"] = None
        # Lost to a newer code posted meanwhile: that one is taken on the next look.
        return code if await self._update(user_id, old, state) else None

    async def close(self, user_id: int) -> None:
        async with self.db.write() as session:
            await PendingLoginRepository(session).drop(_key(user_id))
