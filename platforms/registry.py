"""X and Instagram publishers, registered lazily: tweepy and instagrapi are imported only when
a post to that platform is first published."""

from __future__ import annotations

from typing import Any

from platforms.base import Publisher, PublisherRegistry


def secret_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.get_secret_value()) if hasattr(value, "get_secret_value") else str(value)


def instagram_delay_range(settings: Any) -> tuple[float, float]:
    low = float(getattr(settings, "instagram_delay_min", 1.0))
    high = float(getattr(settings, "instagram_delay_max", 3.0))
    return (min(low, high), max(low, high))


def register_optional_publishers(registry: PublisherRegistry, settings: Any) -> None:
    def make_x() -> Publisher:
        from platforms.x import XPublisher

        return XPublisher(
            secret_value(settings.x_consumer_key),
            secret_value(settings.x_consumer_secret),
            api_base=settings.x_api_base,
            timeout=float(getattr(settings, "publish_timeout", 30.0)),
        )

    def make_instagram() -> Publisher:
        from platforms.instagram import InstagramPublisher

        return InstagramPublisher(
            delay_range=instagram_delay_range(settings),
            hashtag_limit=int(getattr(settings, "instagram_hashtag_limit", 30)),
        )

    registry.register_lazy("x", make_x)
    registry.register_lazy("instagram", make_instagram)
