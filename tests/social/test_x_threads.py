"""X threads are cut by X's weighted length (twitter-text: CJK and emoji weigh 2, any URL 23),
the number of each post included, and lose nothing but the spaces between posts."""

from __future__ import annotations

import re

import pytest

from content.fitting import X_LIMIT, fit_for_platform, split_x_thread, x_weighted_length

NUMBER = re.compile(r" \((\d+)/(\d+)\)$")

TEXTS = {
    "chinese": "人工智能正在改变我们的工作方式，也在改变我们学习的方式。" * 40,
    "chinese_unpunctuated": "数据" * 700,
    "japanese": "今日はとても良い天気ですね。散歩に行きましょう！カメラも持っていこう。" * 30,
    "emoji": "🎉🚀👨‍👩‍👧 " * 200,
    "emoji_unbroken": "😀" * 600,
    "urls": " ".join(f"https://example.org/articles/{n}?utm_source=thread" for n in range(80)),
    "urls_in_cjk": "详情见https://example.com/a/very/long/path/to/the/article 。" * 40,
    "latin": "The quick brown fox jumps over the lazy dog. " * 80,
    "cyrillic": "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 60,
    "one_long_word": "x" * 2200,
    "mixed": "Новости 新闻 news 😀 https://t.co/abc #tag\n" * 60,
}


def without_spaces(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_post_fits_numbered_and_nothing_is_lost(name: str) -> None:
    text = TEXTS[name]
    assert x_weighted_length(text) > X_LIMIT
    posts = split_x_thread(text)
    assert len(posts) > 1
    bodies = []
    for index, post in enumerate(posts, 1):
        assert x_weighted_length(post) <= X_LIMIT, (index, post)
        number = NUMBER.search(post)
        assert number is not None and number.groups() == (str(index), str(len(posts)))
        bodies.append(post[: number.start()])
    assert without_spaces("".join(bodies)) == without_spaces(text)


def test_posts_are_full_not_cut_by_characters() -> None:
    # 548 of 280 was the old failure: characters counted where X weighs CJK double.
    posts = split_x_thread("数据" * 700)  # 2,800 weighted
    assert len(posts) == 11
    assert all(x_weighted_length(post) >= 270 for post in posts[:-1])


def test_urls_are_never_cut_and_weigh_23() -> None:
    urls = [f"https://example.org/{'long-path-' * 8}{n}" for n in range(30)]
    posts = split_x_thread(" ".join(urls))
    kept = [url for post in posts for url in re.findall(r"https://\S+", post)]
    assert kept == urls
    # Each URL weighs 23 plus its space: about eleven to a post.
    assert max(len(re.findall(r"https://", post)) for post in posts) >= 10


def test_latin_words_are_not_cut_and_sentences_end_posts() -> None:
    posts = split_x_thread("The quick brown fox jumps over the lazy dog. " * 80)
    for post in posts:
        body = NUMBER.sub("", post)
        assert body.startswith("The ") and body.endswith("dog.")


def test_chinese_breaks_after_punctuation_not_before() -> None:
    posts = split_x_thread("人工智能正在改变我们的工作方式，也在改变我们学习的方式。" * 40)
    for post in posts:
        assert NUMBER.sub("", post)[0] not in "，。"


def test_japanese_prefers_the_end_of_a_sentence() -> None:
    posts = split_x_thread("今日はとても良い天気ですね。散歩に行きましょう！" * 40)
    assert all(NUMBER.sub("", post)[-1] in "。！" for post in posts)


def test_emoji_sequences_stay_whole() -> None:
    family = "👨‍👩‍👧"
    for post in split_x_thread(family * 300):
        body = NUMBER.sub("", post)
        assert body == family * (len(body) // len(family))


def test_a_short_text_is_one_unnumbered_post() -> None:
    assert split_x_thread("中文 😀 https://example.org") == ["中文 😀 https://example.org"]


def test_ten_or_more_posts_reserve_room_for_two_digit_numbers() -> None:
    posts = split_x_thread("x" * 2700)
    assert len(posts) >= 10
    assert posts[-1].endswith(f" ({len(posts)}/{len(posts)})")
    assert all(x_weighted_length(post) <= X_LIMIT for post in posts)


def test_fit_check_uses_the_weighted_parts() -> None:
    fit = fit_for_platform("x", "漢字" * 300, allow_thread=True)
    assert fit.ok and fit.parts
    assert all(x_weighted_length(part) <= X_LIMIT for part in fit.parts)
    assert not fit_for_platform("x", "漢字" * 300).ok
