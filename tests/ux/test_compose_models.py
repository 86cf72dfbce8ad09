"""The new-post dialog's typed data: post options, the draft in the FSM state, and the
bounds of its buttons' callback data."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData
from pydantic import ValidationError

from handlers.compose.callbacks import DraftCb, OptionCb, TargetPickCb, TimeCb
from handlers.compose.confirm import parse_url_buttons
from handlers.compose.draft import ComposeDraft
from handlers.posts.callbacks import PostCb, PostListCb
from services.posts import MAX_URL_BUTTONS, PostOptions, UrlButton


def test_options_store_only_what_differs_from_the_defaults() -> None:
    assert PostOptions().stored() == {}
    options = PostOptions(silent=True, buttons=(UrlButton(text="Docs", url="https://e.com"),))
    assert options.stored() == {
        "silent": True,
        "buttons": [{"text": "Docs", "url": "https://e.com"}],
    }
    assert PostOptions.from_stored(options.stored()) == options


def test_options_refuse_what_telegram_would_refuse() -> None:
    button = UrlButton(text="Docs", url="https://e.com")
    with pytest.raises(ValidationError):
        PostOptions(buttons=(button,) * (MAX_URL_BUTTONS + 1))
    with pytest.raises(ValidationError):
        UrlButton(text="x" * 65, url="https://e.com")
    with pytest.raises(ValidationError):
        UrlButton(text="Docs", url="javascript:alert(1)")
    # A row stored before options were validated still reads: the flags survive.
    old = {"pin": True, "buttons": [{"text": "", "url": "nope"}]}
    assert PostOptions.from_stored(old) == PostOptions(pin=True)


def test_url_buttons_are_parsed_line_by_line() -> None:
    parsed = parse_url_buttons("Download - https://e.com/dl\n\nDocs — https://e.com/docs")
    assert parsed is not None
    assert [(b.text, b.url) for b in parsed] == [
        ("Download", "https://e.com/dl"),
        ("Docs", "https://e.com/docs"),
    ]
    assert parse_url_buttons("not a button") is None
    assert parse_url_buttons("\n".join(["A - https://e.com"] * (MAX_URL_BUTTONS + 1))) is None


def test_the_draft_keeps_other_features_keys_and_drops_its_defaults() -> None:
    stored = {"text": "Hello", "chosen": [3], "linking": {"return_to_picker": True}}
    draft = ComposeDraft.model_validate(stored)
    draft.with_options(x_thread=True)
    assert draft.model_dump(mode="json", exclude_defaults=True) == {
        "text": "Hello",
        "chosen": [3],
        "options": {"x_thread": True},
        "linking": {"return_to_picker": True},
    }
    with pytest.raises(ValidationError):
        draft.chosen = [0]
    with pytest.raises(ValidationError):
        ComposeDraft.model_validate({"when": "2026-12-01T09:00:00"})  # no zone: refused


@pytest.mark.parametrize(
    "forged",
    [
        "tpick:99999999999999999999",
        "tpick:-1",
        "time:yesterday",
        "draft:drop_tables",
        "opt:x_thread",
        "post:view:99999999999999999999",
        "post:explode:1",
        "posts:all:-1",
        "posts:deleted:0",
    ],
)
def test_forged_callback_data_does_not_unpack(forged: str) -> None:
    factories: dict[str, type[CallbackData]] = {
        "tpick": TargetPickCb,
        "time": TimeCb,
        "draft": DraftCb,
        "opt": OptionCb,
        "post": PostCb,
        "posts": PostListCb,
    }
    factory = factories[forged.split(":")[0]]
    with pytest.raises(ValueError):
        factory.unpack(forged)
