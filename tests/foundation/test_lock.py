"""The build is locked: requirements/*.lock (pip-compile, with hashes) pin every package the
project needs, each within the range pyproject.toml allows, and every install (scripts/run,
scripts/test, CI, the Dockerfile) installs from them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if match := PIN.match(line):
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    if extra:
        listed += project["optional-dependencies"][extra]
    return [Requirement(r) for r in listed]


@pytest.mark.parametrize(("lock", "extra"), [("base.lock", None), ("test.lock", "test")])
def test_the_lock_pins_every_requirement_within_its_range(lock: str, extra: str | None) -> None:
    pinned = pins(ROOT / "requirements" / lock)
    wrong = {}
    for requirement in requirements(extra):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            wrong[requirement.name] = (str(requirement.specifier), version)
    assert wrong == {}


@pytest.mark.parametrize("lock", ["base.lock", "test.lock"])
def test_every_pinned_package_has_hashes(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert unhashed == []


def test_every_install_uses_the_lock() -> None:
    for path, lock in (
        ("scripts/run", "requirements/base.lock"),
        ("scripts/test", "requirements/test.lock"),
        ("Dockerfile", "requirements/base.lock"),
    ):
        text = (ROOT / path).read_text()
        assert f"--require-hashes -r {lock}" in text, path
        assert "--no-deps" in text, path


def test_the_base_image_is_pinned_to_a_patch_release() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (image,) = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", image), image
