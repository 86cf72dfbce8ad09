"""The auto-delete option at the new post's confirmation (issue 12): it cycles through the
delays the chosen platforms can honour (no 7 days for a Telegram channel: Telegram deletes
only within 48 hours) and the post is published with it."""

from __future__ import annotations

from tests.conftest import USER_ID
from tests.post_life.conftest import Life


async def test_the_confirmation_offers_auto_delete_within_telegrams_window(life: Life) -> None:
    chat = life.chat
    await chat.send("/new")
    await chat.send("Short-lived news")
    await chat.tap("Publish now")
    await chat.tap("Tech news")
    await chat.tap("Done")
    confirm = life.fake.last_message_with_button(USER_ID, "Auto-delete")
    seen = []
    for _ in range(6):
        label = next(
            b["text"]
            for row in confirm["reply_markup"]["inline_keyboard"]
            for b in row
            if "Auto-delete" in b["text"]
        )
        seen.append(label)
        await chat.tap("Auto-delete", confirm)
        confirm = life.fake.last_message_with_button(USER_ID, "Auto-delete")
    assert seen == [
        "⏳ Auto-delete: off",
        "⏳ Auto-delete: after 1 h",
        "⏳ Auto-delete: after 6 h",
        "⏳ Auto-delete: after 24 h",
        "⏳ Auto-delete: after 47 h",
        "⏳ Auto-delete: off",
    ]
    # The sixth tap went round to "after 1 h" again.
    assert "after 1 h" in str(confirm["reply_markup"])
    await chat.tap("Confirm")
    (post,) = (await life.services.posts.page(USER_ID))[0]
    assert post[0].options["auto_delete_after"] == 3600
