"""Instagram: linking (2FA, challenge), photo, album and card posts, relogin, error classes."""

from __future__ import annotations

import asyncio
import io

import pytest
from instagrapi import exceptions as ig
from PIL import Image

from content.cards import CARD_SIZE, render_card
from platforms.base import ErrorClass, MediaItem, PublishError, PublishRequest
from platforms.instagram import (
    FEEDBACK_RETRY,
    InstagramLogin,
    InstagramPublisher,
    Linked,
    LinkFailed,
    NeedCode,
)
from tests.fakes.instagram_client import FakeInstagram, connection_refused, connection_reset

PASSWORD = "correct horse battery staple"


def jpeg(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="JPEG")
    return buffer.getvalue()


PICTURES = {"red": jpeg("red"), "blue": jpeg("blue"), "green": jpeg("green")}


async def load_media(item: MediaItem) -> bytes:
    return PICTURES[item.telegram_file_id or ""]


def login(world: FakeInstagram, **kwargs: object) -> InstagramLogin:
    return InstagramLogin(world.client_factory, delay_range=(0.0, 0.0), **kwargs)  # type: ignore[arg-type]


async def linked_credentials(world: FakeInstagram, username: str = "anna.shop") -> dict:
    if username not in world.accounts:
        world.add_account(username, PASSWORD, full_name="Anna's shop")
    event = await login(world).start(username, PASSWORD)
    assert isinstance(event, Linked)
    return event.account.credentials()


def ig_publisher(world: FakeInstagram, **kwargs: object) -> InstagramPublisher:
    return InstagramPublisher(world.client_factory, delay_range=(0.5, 1.5), **kwargs)  # type: ignore[arg-type]


# ---------- linking ----------


async def test_plain_login_links_and_keeps_the_session_never_the_password() -> None:
    world = FakeInstagram()
    account = world.add_account("anna.shop", PASSWORD, full_name="Anna's shop")

    event = await login(world).start("anna.shop", PASSWORD)

    assert isinstance(event, Linked)
    assert event.account.user_id == account.pk
    assert event.account.username == "anna.shop"
    assert event.account.settings["authorization_data"]["sessionid"] == account.session_id
    assert PASSWORD not in repr(event.account.credentials())


async def test_two_factor_code_is_asked_for_and_a_wrong_one_may_be_retried() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD, two_factor_code="246810")
    flow = login(world)

    event = await flow.start("anna.shop", PASSWORD)
    assert event == NeedCode("two_factor")
    event = await flow.submit_code("111111")
    assert event == NeedCode("two_factor", retry=True)
    event = await flow.submit_code("246 810")

    assert isinstance(event, Linked)
    codes = [c.args["verification_code"] for c in world.calls_to("login")]
    assert codes == ["", "111111", "246810"]


async def test_challenge_code_is_asked_for_in_the_chat() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD, challenge_code="135790")
    flow = login(world)

    event = await flow.start("anna.shop", PASSWORD)
    assert event == NeedCode("challenge")
    event = await flow.submit_code("135790")

    assert isinstance(event, Linked)


async def test_a_challenge_only_a_person_can_pass_fails_with_a_clear_code() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD, manual_challenge=True)
    event = await login(world).start("anna.shop", PASSWORD)
    assert event == LinkFailed("challenge_manual")


async def test_wrong_password() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD)
    assert await login(world).start("anna.shop", "nope") == LinkFailed("bad_password")


async def test_a_code_that_never_comes_times_out() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD, two_factor_code="246810")
    flow = login(world, code_timeout=0.2)
    assert await flow.start("anna.shop", PASSWORD) == NeedCode("two_factor")
    assert await asyncio.wait_for(flow.next_event(), 5) == LinkFailed("timeout")


async def test_cancelling_ends_the_waiting_login() -> None:
    world = FakeInstagram()
    world.add_account("anna.shop", PASSWORD, two_factor_code="246810")
    flow = login(world)
    assert await flow.start("anna.shop", PASSWORD) == NeedCode("two_factor")
    flow.cancel()
    assert await asyncio.wait_for(flow.next_event(), 5) == LinkFailed("cancelled")


async def test_relinking_reuses_the_stored_device() -> None:
    world = FakeInstagram()
    first = await linked_credentials(world)
    event = await login(world, previous_settings=first["settings"]).start("anna.shop", PASSWORD)
    assert isinstance(event, Linked)
    assert event.account.settings["uuids"] == first["settings"]["uuids"]
    assert world.calls_to("set_uuids")[-1].args["uuids"] == first["settings"]["uuids"]


# ---------- publishing ----------


async def test_photo_post_with_caption_and_delay_range() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)

    result = await ig_publisher(world).publish(
        PublishRequest(
            7,
            "1",
            "Fresh <b>bread</b> today #bakery",
            title="Morning",
            media=(MediaItem("photo", "red"),),
            credentials=creds,
            load_media=load_media,
        )
    )

    (post,) = world.published
    assert post.kind == "photo"
    assert post.caption == "Morning\n\nFresh bread today #bakery"
    assert post.pictures == [PICTURES["red"]]
    assert result.external_id == post.pk
    assert result.url == f"https://www.instagram.com/p/{post.code}/"
    assert result.updated_credentials is None
    (upload,) = world.calls_to("photo_upload")
    assert upload.args["delay_range"] == [0.5, 1.5]
    assert world.calls_to("set_settings")[-1].args["settings"] == creds["settings"]


async def test_album_post_keeps_the_order_of_the_pictures() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    media = tuple(MediaItem("photo", c) for c in ("blue", "red", "green"))
    await ig_publisher(world).publish(
        PublishRequest(
            7, "1", "Three colours", media=media, credentials=creds, load_media=load_media
        )
    )
    (post,) = world.published
    assert post.kind == "album"
    assert post.pictures == [PICTURES["blue"], PICTURES["red"], PICTURES["green"]]


async def test_text_post_gets_a_generated_card() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    await ig_publisher(world).publish(
        PublishRequest(7, "1", "Только текст, без картинки", title="Новости", credentials=creds)
    )
    (post,) = world.published
    assert post.kind == "photo"
    assert post.caption == "Новости\n\nТолько текст, без картинки"
    with Image.open(io.BytesIO(post.pictures[0])) as card:
        assert card.size == (CARD_SIZE, CARD_SIZE)
        assert card.format == "JPEG"


async def test_expired_login_is_renewed_from_the_stored_session() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.expire_authorization("anna.shop")

    result = await ig_publisher(world).publish(
        PublishRequest(7, "1", "After relogin", credentials=creds)
    )

    assert len(world.published) == 1
    (relogin,) = world.calls_to("login_by_sessionid")
    assert relogin.args["sessionid"] == creds["settings"]["authorization_data"]["sessionid"]
    assert result.updated_credentials is not None
    fresh = result.updated_credentials["settings"]
    assert fresh["authorization_data"]["authorization_token"] == (
        world.accounts["anna.shop"].auth_token
    )
    assert fresh["uuids"] == creds["settings"]["uuids"]  # the same device
    assert len(world.calls_to("login")) == 1  # only the linking; no password is kept


async def test_a_session_instagram_ended_breaks_the_target() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.log_out("anna.shop")
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert error.value.target_broken
    assert world.published == []


async def test_a_challenge_while_publishing_pauses_the_account_with_a_clear_reason() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.fail_next_upload(ig.ChallengeRequired(message="challenge_required"))
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert error.value.target_broken
    assert "open the Instagram app, confirm it's you" in error.value.reason


@pytest.mark.parametrize(
    ("exception", "minimum_wait"),
    [
        (ig.PleaseWaitFewMinutes("Please wait a few minutes before you try again."), 600),
        (ig.FeedbackRequired("feedback_required"), FEEDBACK_RETRY),
        (ig.ClientThrottledError("429 Too Many Requests"), 600),
        (ig.RateLimitError("rate limited"), 600),
    ],
)
async def test_throttling_backs_off_generously(
    exception: BaseException, minimum_wait: float
) -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.fail_next_upload(exception)
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.TRANSIENT
    assert error.value.retry_after is not None and error.value.retry_after >= minimum_wait


async def test_a_timeout_while_publishing_is_ambiguous() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.fail_next_upload(ig.ClientRequestTimeout("read timed out"))
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS


async def test_a_refused_connection_is_transient_nothing_was_sent() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.fail_next_upload(connection_refused())
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.TRANSIENT
    assert error.value.code == "network"
    assert world.published == []


async def test_a_reset_after_sending_is_ambiguous_though_its_text_says_connection() -> None:
    """ "Connection aborted… reset" names a connection, yet the request had left and the post
    exists: it must not be sent again by itself."""
    world = FakeInstagram()
    creds = await linked_credentials(world)
    reset = connection_reset()
    assert "connection" in str(reset).lower()
    world.fail_next_answer(reset)
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    assert len(world.published) == 1


async def test_a_server_error_after_sending_is_ambiguous() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.fail_next_answer(ig.ClientError("500 Server Error", code=500))
    with pytest.raises(PublishError) as error:
        await ig_publisher(world).publish(PublishRequest(7, "1", "x", credentials=creds))
    assert error.value.error_class == ErrorClass.AMBIGUOUS
    assert error.value.code == "server_error_sent"
    assert len(world.published) == 1


async def test_caption_and_hashtag_limits_are_checked_before_anything_is_sent() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    publisher = ig_publisher(world, hashtag_limit=3)
    with pytest.raises(PublishError) as error:
        await publisher.publish(PublishRequest(7, "1", "#a #b #c #d", credentials=creds))
    assert error.value.error_class == ErrorClass.PERMANENT
    assert "hashtags" in error.value.reason
    with pytest.raises(PublishError) as error:
        await publisher.publish(PublishRequest(7, "1", "x" * 2201, credentials=creds))
    assert "2201 of 2200" in error.value.reason
    assert world.calls_to("photo_upload") == []


async def test_missing_session_breaks_the_target() -> None:
    with pytest.raises(PublishError) as error:
        await ig_publisher(FakeInstagram()).publish(PublishRequest(7, "1", "x", credentials={}))
    assert error.value.target_broken


# ---------- the card ----------


def test_card_is_square_readable_and_fits_long_text() -> None:
    for title, text in [("Title only", ""), (None, "word " * 800), ("Заголовок", "Текст " * 30)]:
        data = render_card(title, text)
        with Image.open(io.BytesIO(data)) as card:
            assert card.size == (1080, 1080)
            gray = card.convert("L")
            # Dark ink on a light background, and something was drawn.
            darkest, _lightest = gray.getextrema()
            background = gray.getpixel((5, 5))
            assert isinstance(background, int) and background > 230
            assert isinstance(darkest, int) and darkest < 80  # the ink


def test_card_needs_some_text() -> None:
    with pytest.raises(ValueError):
        render_card(None, "  ")


async def test_one_account_uploads_one_post_at_a_time() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    world.upload_seconds = 0.2
    publisher = ig_publisher(world)
    await asyncio.gather(
        *(
            publisher.publish(PublishRequest(i, "1", f"post {i}", credentials=creds))
            for i in range(3)
        )
    )
    steps = [c.method for c in world.calls if c.method in ("photo_upload", "uploaded")]
    assert steps == ["photo_upload", "uploaded"] * 3


async def test_pictures_in_other_formats_are_converted_and_broken_ones_refused() -> None:
    world = FakeInstagram()
    creds = await linked_credentials(world)
    png = io.BytesIO()
    Image.new("RGB", (30, 20), "orange").save(png, format="PNG")
    pictures = {"png": png.getvalue(), "junk": b"not an image at all"}

    async def load(item: MediaItem) -> bytes:
        return pictures[item.telegram_file_id or ""]

    publisher = ig_publisher(world)
    await publisher.publish(
        PublishRequest(
            7, "1", "png", media=(MediaItem("photo", "png"),), credentials=creds, load_media=load
        )
    )
    assert world.published[0].pictures[0].startswith(b"\xff\xd8")
    with pytest.raises(PublishError) as error:
        await publisher.publish(
            PublishRequest(
                8,
                "1",
                "junk",
                media=(MediaItem("photo", "junk"),),
                credentials=creds,
                load_media=load,
            )
        )
    assert error.value.error_class == ErrorClass.PERMANENT


def test_the_real_instagrapi_client_takes_the_calls_the_fake_stands_in_for() -> None:
    """Offline: keeps the fake honest about instagrapi's API (names, arguments, settings)."""
    import inspect

    from platforms.instagram import _configure, default_client_factory

    client = default_client_factory()
    _configure(client, (1.0, 3.0))
    assert client.delay_range == [1.0, 3.0]
    stored = client.get_settings()
    same_device = default_client_factory()
    same_device.set_uuids(dict(stored["uuids"]))
    same_device.set_device(dict(stored["device_settings"]))
    assert same_device.get_settings()["uuids"] == stored["uuids"]
    restored = default_client_factory()
    restored.set_settings(stored)
    assert restored.get_settings()["uuids"] == stored["uuids"]
    for name, arguments in {
        "login": ["username", "password", "relogin", "verification_code"],
        "login_by_sessionid": ["sessionid"],
        "photo_upload": ["path", "caption"],
        "album_upload": ["paths", "caption"],
        "account_info": [],
    }.items():
        parameters = list(inspect.signature(getattr(client, name)).parameters)
        assert parameters[: len(arguments)] == arguments, name
