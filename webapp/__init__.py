"""The content calendar as a Telegram Mini App: static page and its JSON API (aiohttp).

Same layer as handlers/: it speaks to services only, never to storage."""
