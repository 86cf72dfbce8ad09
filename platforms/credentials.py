"""Secrets at rest: Fernet with a key from SECRET_KEY (several, comma-separated, for rotation:
the first encrypts, all decrypt)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsUnavailableError(RuntimeError):
    pass


def _fernet(key: str) -> Fernet:
    key = key.strip()
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        # Accept any passphrase: derive a Fernet key from it.
        digest = hashlib.sha256(key.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    def __init__(self, keys: str | None) -> None:
        parts = [k for k in (keys or "").split(",") if k.strip()]
        self._fernet = MultiFernet([_fernet(k) for k in parts]) if parts else None

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def encrypt(self, payload: dict[str, Any]) -> str:
        if self._fernet is None:
            raise SecretsUnavailableError("SECRET_KEY is not set")
        return self._fernet.encrypt(json.dumps(payload).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if self._fernet is None:
            raise SecretsUnavailableError("SECRET_KEY is not set")
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretsUnavailableError("stored credentials cannot be decrypted") from exc
        if not isinstance(data, dict):
            raise SecretsUnavailableError("stored credentials are malformed")
        return data

    def rotate(self, token: str) -> str:
        if self._fernet is None:
            raise SecretsUnavailableError("SECRET_KEY is not set")
        return self._fernet.rotate(token.encode()).decode()
