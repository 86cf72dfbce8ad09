"""SECRET_KEY (issue 11): Fernet keys or one passphrase stretched with scrypt and a stored
salt; `python -m bot rotate-secrets` re-encrypts every stored credential with the first key."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.__main__ import main, reencrypt_credentials
from platforms.credentials import SALT_FILE, SecretBox, SecretsUnavailableError, split_keys
from storage.repositories import CredentialRepository, TargetRepository, UserRepository
from storage.uow import Database

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
SECRET = {"access_token": "plain-access-token-42", "username": "anna"}


def test_a_comma_inside_a_passphrase_keeps_it_one_passphrase(tmp_path: Path) -> None:
    passphrase = "correct horse, battery staple"
    assert split_keys(passphrase) == ([], passphrase)
    box = SecretBox(passphrase, salt_dir=tmp_path)
    token = box.encrypt(SECRET)

    # The whole passphrase opens it; either half (which the old code made keys of) does not.
    assert SecretBox(passphrase, salt_dir=tmp_path).decrypt(token) == SECRET
    for half in ("correct horse", "battery staple"):
        with pytest.raises(SecretsUnavailableError):
            SecretBox(half, salt_dir=tmp_path).decrypt(token)


def test_a_passphrase_is_stretched_with_a_stored_random_salt(tmp_path: Path) -> None:
    box = SecretBox("one passphrase", salt_dir=tmp_path / "a")
    token = box.encrypt(SECRET)
    salt_file = tmp_path / "a" / SALT_FILE
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    # Another installation (another salt) with the same passphrase cannot read it.
    with pytest.raises(SecretsUnavailableError):
        SecretBox("one passphrase", salt_dir=tmp_path / "b").decrypt(token)
    assert SecretBox("one passphrase", salt_dir=tmp_path / "a").decrypt(token) == SECRET


def test_credentials_of_the_old_sha256_derivation_still_open(tmp_path: Path) -> None:
    import base64
    import hashlib
    import json

    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"old pass").digest()))
    token = legacy.encrypt(json.dumps(SECRET).encode()).decode()
    assert SecretBox("old pass", salt_dir=tmp_path).decrypt(token) == SECRET


def test_comma_separated_fernet_keys_rotate(tmp_path: Path) -> None:
    assert split_keys(f"{NEW_KEY}, {OLD_KEY}") == ([NEW_KEY, OLD_KEY], None)
    token = SecretBox(OLD_KEY).encrypt(SECRET)
    assert SecretBox(f"{NEW_KEY},{OLD_KEY}").decrypt(token) == SECRET
    # One part that is not a key makes the whole value a passphrase.
    assert split_keys(f"{NEW_KEY},not-a-key")[1] == f"{NEW_KEY},not-a-key"


async def _store(uow: Database, box: SecretBox, count: int) -> None:
    async with uow.write() as session:
        await UserRepository(session).upsert(
            1, username=None, first_name="A", language="en", timezone="UTC", is_admin=False
        )
        for index in range(count):
            target = await TargetRepository(session).link(1, "x", str(index), f"@x{index}")
            await CredentialRepository(session).put(target.id, "x", box.encrypt(SECRET))


async def _ciphertexts(uow: Database) -> list[str]:
    async with uow.read() as session:
        rows = await session.execute(text("SELECT ciphertext FROM credentials ORDER BY id"))
        return [row[0] for row in rows.all()]


async def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(uow: Database) -> None:
    await _store(uow, SecretBox(OLD_KEY), 3)

    done, skipped = await reencrypt_credentials(uow, SecretBox(f"{NEW_KEY},{OLD_KEY}"))

    assert (done, skipped) == (3, 0)
    stored = await _ciphertexts(uow)
    assert all(SecretBox(NEW_KEY).decrypt(token) == SECRET for token in stored)
    with pytest.raises(SecretsUnavailableError):
        SecretBox(OLD_KEY).decrypt(stored[0])
    # Raw SQL finds no plaintext.
    async with uow.read() as session:
        dump = " ".join(
            str(row) for row in (await session.execute(text("SELECT * FROM credentials"))).all()
        )
    assert "plain-access-token-42" not in dump and "anna" not in dump


async def test_rotation_with_a_missing_old_key_changes_nothing(uow: Database) -> None:
    await _store(uow, SecretBox(OLD_KEY), 2)
    before = await _ciphertexts(uow)
    with pytest.raises(SecretsUnavailableError):
        await reencrypt_credentials(uow, SecretBox(NEW_KEY))
    assert await _ciphertexts(uow) == before


def test_rotate_secrets_command_from_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import asyncio

    from storage.db import create_engine
    from tests.conftest import TEST_TOKEN

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_FILE", "")
    monkeypatch.setenv("SECRET_KEY", "my old passphrase, with a comma")

    async def seed() -> None:
        from storage.db import ensure_schema

        await ensure_schema(url)
        engine = create_engine(url)
        await _store(
            Database(engine), SecretBox("my old passphrase, with a comma", salt_dir=tmp_path), 1
        )
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("SECRET_KEY", f"{NEW_KEY},my old passphrase, with a comma")
    # Not every part is a key: this is ONE passphrase, which cannot open the credential.
    with pytest.raises(SystemExit) as refused:
        main(["rotate-secrets"])
    assert refused.value.code == 1

    # From a passphrase to a key: the old value moves to PREVIOUS_SECRET_KEY.
    monkeypatch.setenv("SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("PREVIOUS_SECRET_KEY", "my old passphrase, with a comma")
    with pytest.raises(SystemExit) as done:
        main(["rotate-secrets"])
    assert done.value.code == 0
    assert "Re-encrypted 1 credential(s)" in capsys.readouterr().out

    async def stored() -> list[str]:
        engine = create_engine(url)
        try:
            return await _ciphertexts(Database(engine))
        finally:
            await engine.dispose()

    (token,) = asyncio.run(stored())
    assert SecretBox(NEW_KEY).decrypt(token) == SECRET  # the passphrase can be dropped
