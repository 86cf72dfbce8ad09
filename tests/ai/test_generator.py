"""The OpenAI generator against the fake OpenAI-compatible server, and platform fitting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.factory import create_generator
from content.ai import OpenAIGenerator
from content.fitting import (
    X_LIMIT,
    fit_for_platform,
    fit_generated,
    limit_hashtags,
    sanitize_telegram_html,
    truncate_x,
    visible_text,
    x_weighted_length,
)
from content.generator import Brief, GenerationError, UnavailableGenerator
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI


def brief(platform: str = "telegram", **kwargs: object) -> Brief:
    values: dict[str, object] = {
        "title": "Ежедневный пост",
        "description": "Создай пост о технологиях",
        "platform": platform,
        "language": "ru",
    }
    values.update(kwargs)
    return Brief(**values)  # type: ignore[arg-type]


async def test_telegram_post_is_sanitized_to_telegram_html_and_usage_is_recorded(
    fake_ai: FakeOpenAI, ai_generator: OpenAIGenerator
) -> None:
    fake_ai.reply_with(
        '"<h1>Новости</h1><p>Это <strong>важно</strong> & <span>полезно</span>: 1 < 2.</p>'
        '<p><a href="javascript:alert(1)">клик</a> <a href="https://example.com">сайт</a></p>"'
    )
    result = await ai_generator.generate(brief(style="friendly"))
    assert result.text == (
        "Новости\nЭто <b>важно</b> &amp; полезно: 1 &lt; 2.\n"
        'клик <a href="https://example.com">сайт</a>'
    )
    assert (result.prompt_tokens, result.completion_tokens, result.model) == (
        40,
        60,
        "fake-model",
    )
    (request,) = fake_ai.requests
    assert request["model"] == "fake-model"
    assert request["_auth"] == "Bearer sk-test-secret"
    system, user = request["messages"]
    assert "Telegram HTML only" in system["content"] and "Russian" in system["content"]
    assert "Создай пост о технологиях" in user["content"]
    assert "Ежедневный пост" in user["content"] and "friendly" in user["content"]


async def test_markdown_answers_become_telegram_html(
    fake_ai: FakeOpenAI, ai_generator: OpenAIGenerator
) -> None:
    fake_ai.reply_with("## Итоги\n\n**Жирно** и *курсив*, `код` и [ссылка](https://a.b/c).")
    result = await ai_generator.generate(brief())
    assert result.text == (
        "<b>Итоги</b>\n\n<b>Жирно</b> и <i>курсив</i>, <code>код</code> и "
        '<a href="https://a.b/c">ссылка</a>.'
    )


async def test_x_answer_fits_280_weighted_characters_or_becomes_a_thread(
    fake_ai: FakeOpenAI, ai_generator: OpenAIGenerator
) -> None:
    long_text = "Квантовые компьютеры 🚀 " * 40
    fake_ai.reply_with(long_text, long_text)
    single = await ai_generator.generate(brief("x"))
    assert x_weighted_length(single.text) <= X_LIMIT and single.text.endswith("…")
    assert "single tweet" in fake_ai.system_prompts()[0]
    thread = await ai_generator.generate(brief("x", allow_thread=True))
    fit = fit_for_platform("x", thread.text, allow_thread=True)
    assert fit.ok and len(fit.parts) > 1
    assert all(x_weighted_length(part) <= X_LIMIT for part in fit.parts)
    assert fit.parts[0].endswith(f"(1/{len(fit.parts)})")
    assert "thread" in fake_ai.system_prompts()[1]


async def test_instagram_caption_keeps_the_hashtag_limit(
    fake_ai: FakeOpenAI, ai_generator: OpenAIGenerator
) -> None:
    tags = " ".join(f"#tag{i}" for i in range(40))
    fake_ai.reply_with(f"Солнце над морем 🌅\n\n{tags}")
    result = await ai_generator.generate(brief("instagram", hashtag_limit=30))
    assert result.text.count("#") == 30 and "#tag29" in result.text and "#tag30" not in result.text
    assert fit_for_platform("instagram", result.text, pictures=1).ok
    assert "Instagram caption" in fake_ai.system_prompts()[0]


@pytest.mark.parametrize(
    ("kind", "status", "transient", "reason"),
    [
        ("timeout", 500, True, "did not answer in time"),
        ("status", 500, True, "HTTP 500"),
        ("status", 503, True, "HTTP 503"),
        ("status", 429, True, "rate limiting"),
        ("malformed", 500, True, "malformed answer"),
        ("empty", 500, True, "empty answer"),
        ("blank", 500, True, "empty answer"),
        ("status", 401, False, "refused the API key"),
        ("status", 403, False, "refused the API key"),
        ("status", 400, False, "rejected the request (HTTP 400)"),
        ("status", 404, False, "rejected the request (HTTP 404)"),
    ],
)
async def test_errors_are_mapped_to_transient_or_permanent(
    fake_ai: FakeOpenAI,
    ai_generator: OpenAIGenerator,
    kind: str,
    status: int,
    transient: bool,
    reason: str,
) -> None:
    fake_ai.fail_next(kind, status=status, delay=2.0)
    with pytest.raises(GenerationError) as caught:
        await ai_generator.generate(brief())
    assert caught.value.transient is transient
    assert reason in caught.value.reason
    assert "sk-test-secret" not in caught.value.reason


async def test_settings_with_only_a_base_url_build_a_working_generator(
    fake_ai: FakeOpenAI,
) -> None:
    generator = create_generator(
        make_settings(openai_base_url=fake_ai.base_url, openai_model="llama3", openai_timeout=3)
    )
    assert isinstance(generator, OpenAIGenerator) and generator.available
    try:
        result = await generator.generate(brief())
    finally:
        await generator.close()
    assert result.text
    assert fake_ai.requests[0]["model"] == "llama3"
    assert isinstance(create_generator(make_settings()), UnavailableGenerator)
    with pytest.raises(GenerationError) as caught:
        await UnavailableGenerator().generate(brief())
    assert not caught.value.transient


def test_sanitizer_keeps_telegram_tags_balanced_and_escapes_the_rest() -> None:
    assert sanitize_telegram_html("<b>open <i>nested</b> tail") == "<b>open <i>nested</i></b> tail"
    assert sanitize_telegram_html("</b>stray") == "stray"
    assert sanitize_telegram_html("<script>x()</script>ok") == "ok"
    assert sanitize_telegram_html("<pre>a < b && c</pre>") == "<pre>a &lt; b &amp;&amp; c</pre>"
    assert sanitize_telegram_html("<blockquote>q</blockquote>") == "<blockquote>q</blockquote>"
    cut = sanitize_telegram_html("<b>" + "word " * 50 + "</b>", 30)
    assert cut.startswith("<b>") and cut.endswith("…</b>") and len(visible_text(cut)) <= 30


def test_x_truncation_and_hashtag_limit() -> None:
    assert truncate_x("short") == "short"
    assert x_weighted_length(truncate_x("漢字" * 300)) <= X_LIMIT
    assert limit_hashtags("a #one #two #three", 2) == "a #one #two"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>/&;\"'=#ibuspreacodlq\n🚀")), max_size=300))
def test_any_model_answer_becomes_valid_fitting_telegram_html(raw: str) -> None:
    from html.parser import HTMLParser

    text = fit_generated("telegram", raw)
    opened: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            assert tag in {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}
            opened.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert opened and opened.pop() == tag

    Checker().feed(text)
    assert opened == []
    assert fit_for_platform("telegram", text).length <= 4096
