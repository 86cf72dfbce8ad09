"""Secrets at rest: Fernet with keys from SECRET_KEY.

SECRET_KEY is either
- one or more Fernet keys separated by commas (for rotation: the first encrypts, all decrypt),
  recognised only when EVERY comma-separated part is a valid Fernet key; or
- a passphrase (anything else, commas included: "correct, horse" is one passphrase), stretched
  into a key with scrypt and a random salt stored in DATA_DIR/secret_salt (mode 0600, created
  on first use). The salt lives beside the SQLite database and the webhook secret, where
  SecretBox can read it synchronously (the workers decrypt outside any database unit); back it
  up with the database, and give every host of a shared PostgreSQL the same file.

Credentials written by older versions (a passphrase hashed once with SHA-256, and a comma
splitting it into several passphrases) still decrypt: those keys are kept as decrypt-only
fallbacks. To change keys: put the new first in SECRET_KEY (Fernet keys: keep the old ones
after it; from or to a passphrase: move the old value to PREVIOUS_SECRET_KEY, which only
decrypts), run `python -m bot rotate-secrets` (every stored credential is re-encrypted with
the first key), then drop the old keys / PREVIOUS_SECRET_KEY.

`cryptography` (OpenSSL, about 8 MiB) is loaded when a secret is first encrypted or read, not
at start-up: a bot that only publishes to Telegram never needs it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet

SALT_FILE = "secret_salt"
SALT_BYTES = 16
# scrypt cost: about 32 MiB and a tenth of a second, once per process.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


class SecretsUnavailableError(RuntimeError):
    pass


def _is_fernet_key(value: str) -> bool:
    if len(value) != 44:
        return False
    try:
        return len(base64.b64decode(value.encode(), altchars=b"-_", validate=True)) == 32
    except ValueError:
        return False


def split_keys(value: str | None) -> tuple[list[str], str | None]:
    """(Fernet keys, passphrase): keys when every comma-separated part is a Fernet key,
    otherwise the whole value is one passphrase."""
    raw = (value or "").strip()
    if not raw:
        return [], None
    parts = [part.strip() for part in raw.split(",")]
    if all(part and _is_fernet_key(part) for part in parts):
        return parts, None
    return [], raw


def read_or_create_salt(directory: Path) -> bytes:
    path = Path(directory) / SALT_FILE
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_bytes(SALT_BYTES)
    try:
        # 0600 from the start; O_EXCL: two processes starting at once keep the first salt.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return base64.b64decode(path.read_text().strip())
    with os.fdopen(descriptor, "w") as file:
        file.write(base64.b64encode(salt).decode())
    return salt


def stretch(passphrase: str, salt: bytes) -> bytes:
    key = hashlib.scrypt(
        passphrase.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=128 * SCRYPT_R * SCRYPT_N * 2,
        dklen=32,
    )
    return base64.urlsafe_b64encode(key)


def _legacy_keys(passphrase: str) -> list[bytes]:
    """The keys older versions derived: one SHA-256 of the whole value and of each comma part."""
    candidates = [passphrase, *(part.strip() for part in passphrase.split(","))]
    keys: list[bytes] = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        keys.append(base64.urlsafe_b64encode(hashlib.sha256(candidate.encode()).digest()))
    return keys


class SecretBox:
    def __init__(
        self, keys: str | None, *, salt_dir: Path | None = None, previous: str | None = None
    ) -> None:
        self._keys, self._passphrase = split_keys(keys)
        self._salt_dir = salt_dir
        # PREVIOUS_SECRET_KEY (keys or a passphrase): decrypts only, until rotate-secrets has
        # re-encrypted everything with SECRET_KEY.
        self._previous = SecretBox(previous, salt_dir=salt_dir) if previous else None
        self._multi: MultiFernet | None = None

    @property
    def available(self) -> bool:
        return bool(self._keys or self._passphrase)

    @property
    def uses_passphrase(self) -> bool:
        return self._passphrase is not None

    def _fernets(self) -> list[Fernet]:
        from cryptography.fernet import Fernet

        older = self._previous._fernets() if self._previous and self._previous.available else []
        if self._keys:
            return [*(Fernet(key.encode()) for key in self._keys), *older]
        assert self._passphrase is not None
        if self._salt_dir is None:
            raise SecretsUnavailableError("a passphrase SECRET_KEY needs a directory for its salt")
        salt = read_or_create_salt(self._salt_dir)
        primary = Fernet(stretch(self._passphrase, salt))
        return [primary, *(Fernet(key) for key in _legacy_keys(self._passphrase)), *older]

    @property
    def _fernet(self) -> MultiFernet:
        if not self.available:
            raise SecretsUnavailableError("SECRET_KEY is not set")
        if self._multi is None:
            from cryptography.fernet import MultiFernet

            self._multi = MultiFernet(self._fernets())
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
        """The same secret encrypted with the first key (readable without the others)."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretsUnavailableError("stored credentials cannot be decrypted") from exc
