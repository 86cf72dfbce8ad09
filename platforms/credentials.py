"""Secrets at rest: Fernet with a key from SECRET_KEY (several, comma-separated, for rotation:
the first encrypts, all decrypt).

`cryptography` (OpenSSL, about 8 MiB) is loaded when a secret is first encrypted or read, not
at start-up: a bot that only publishes to Telegram never needs it."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet


class SecretsUnavailableError(RuntimeError):
    pass


def _fernet(key: str) -> Fernet:
    from cryptography.fernet import Fernet

    key = key.strip()
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        # Accept any passphrase: derive a Fernet key from it.
        digest = hashlib.sha256(key.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    def __init__(self, keys: str | None) -> None:
        self._keys = [k for k in (keys or "").split(",") if k.strip()]
        self._multi: MultiFernet | None = None

    @property
    def available(self) -> bool:
        return bool(self._keys)

    @property
    def _fernet(self) -> MultiFernet:
        if not self._keys:
            raise SecretsUnavailableError("SECRET_KEY is not set")
        if self._multi is None:
            from cryptography.fernet import MultiFernet

            self._multi = MultiFernet([_fernet(k) for k in self._keys])
        return self._multi

    def encrypt(self, payload: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(payload).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        box = self._fernet
        try:
            data = json.loads(box.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretsUnavailableError("stored credentials cannot be decrypted") from exc
        if not isinstance(data, dict):
            raise SecretsUnavailableError("stored credentials are malformed")
        return data

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()
