"""initData checked as Telegram documents it; a post's HTML shown with Telegram's tags only."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature

from tests.conftest import TEST_TOKEN, USER_ID
from tests.webapp.support import NOW, init_data
from webapp.auth import InitDataError, verify_init_data
from webapp.html import safe_post_html

DAY = timedelta(days=1)


def verify(raw: str, *, now=NOW, max_age=DAY):  # type: ignore[no-untyped-def]
    return verify_init_data(raw, TEST_TOKEN, now=now, max_age=max_age)


def test_valid_init_data_names_its_user() -> None:
    raw = init_data(USER_ID)
    assert check_webapp_signature(TEST_TOKEN, raw)  # aiogram agrees: Telegram's algorithm
    identity = verify(raw)
    assert identity.user_id == USER_ID
    assert identity.language_code == "en"


def test_extra_fields_are_signed_too() -> None:
    raw = init_data(USER_ID, signature="abc", chat_instance="-42")
    assert verify(raw).user_id == USER_ID


def _altered(raw: str, key: str, value: str) -> str:
    fields = dict(parse_qsl(raw))
    fields[key] = value
    return urlencode(fields, quote_via=quote)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(init_data(USER_ID, token="999:" + "x" * 35), id="another bot's token"),
        pytest.param(
            _altered(init_data(USER_ID), "user", '{"id":222,"first_name":"B"}'), id="user swapped"
        ),
        pytest.param(_altered(init_data(USER_ID), "auth_date", "9999999999"), id="date moved"),
        pytest.param(_altered(init_data(USER_ID), "hash", "0" * 64), id="hash replaced"),
        pytest.param(init_data(USER_ID).replace("&hash=", "&x=1&hash="), id="field added"),
        pytest.param(init_data(USER_ID) + "&user=%7B%22id%22%3A1%7D", id="key repeated"),
        pytest.param("", id="empty"),
        pytest.param("not a query string", id="garbage"),
        pytest.param("a=" + "b" * 5000, id="too long"),
    ],
)
def test_forged_or_altered_init_data_is_refused(raw: str) -> None:
    with pytest.raises(InitDataError) as refused:
        verify(raw)
    assert refused.value.code in ("init_data_invalid", "init_data_missing")


def test_expired_init_data_is_refused_by_its_age() -> None:
    old = init_data(USER_ID, auth_date=NOW - DAY - timedelta(seconds=1))
    with pytest.raises(InitDataError) as refused:
        verify(old)
    assert refused.value.code == "init_data_expired"
    assert verify(old, max_age=2 * DAY).user_id == USER_ID


def test_a_date_in_the_future_is_refused() -> None:
    with pytest.raises(InitDataError):
        verify(init_data(USER_ID, auth_date=NOW + timedelta(hours=1)))


@pytest.mark.parametrize(
    ("telegram", "page"),
    [
        ("<b>bold</b> <i>it</i> <u>u</u> <s>s</s>", "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>"),
        (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del>",
            "<b>a</b><i>b</i><u>c</u><s>d</s>",
        ),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<script>alert(1)</script>", "alert(1)"),
        ('<a href="javascript:alert(1)">x</a>', "x"),
        (
            '<a href="https://e.org/?a=1&amp;b=2">x</a>',
            '<a href="https://e.org/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="https://e.org" onclick="evil()">x</a>',
            '<a href="https://e.org" target="_blank" rel="noopener noreferrer">x</a>',
        ),
        ('<img src=x onerror="alert(1)">after', "after"),
        ("<tg-spoiler>s</tg-spoiler>", '<span class="tg-spoiler">s</span>'),
        (
            '<span class="tg-spoiler">s</span><span style="x">t</span>',
            '<span class="tg-spoiler">s</span>t',
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            '<pre><code class="language-python">x = 1</code></pre>',
        ),
        ('<code class="x&quot; onmouseover=&quot;y">c</code>', "<code>c</code>"),
        ("<blockquote expandable>q</blockquote>", '<blockquote class="expandable">q</blockquote>'),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<b>unclosed <i>both", "<b>unclosed <i>both</i></b>"),
        ("</b>stray", "stray"),
        ("line 1\nline 2 &amp; more", "line 1\nline 2 &amp; more"),
        ('<a href="https://e.org/&quot;onmouseover=x">x</a>', "x"),
    ],
)
def test_post_html_keeps_telegram_tags_and_escapes_the_rest(telegram: str, page: str) -> None:
    assert safe_post_html(telegram) == page
