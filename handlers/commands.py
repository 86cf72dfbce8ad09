from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.i18n import LANGUAGES


def command_list() -> list[BotCommand]:
    return [
        BotCommand(command="menu", description=_("Main menu")),
        BotCommand(command="new", description=_("Write a post")),
        BotCommand(command="scheduled", description=_("Scheduled posts")),
        BotCommand(command="calendar", description=_("This week as a picture")),
        BotCommand(command="stats", description=_("Your posts and AI use in charts")),
        BotCommand(command="rules", description=_("Auto-posting rules")),
        BotCommand(command="channels", description=_("Channels and accounts")),
        BotCommand(command="link", description=_("Link a Telegram channel")),
        BotCommand(command="link_x", description=_("Link an X account")),
        BotCommand(command="link_instagram", description=_("Link an Instagram account")),
        BotCommand(command="settings", description=_("Language and time zone")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="cancel", description=_("Leave the current dialog")),
    ]


async def set_bot_commands(bot: Bot, i18n: I18n) -> None:
    """Register the command menu in every language the bot speaks."""
    with i18n.context():
        for language in LANGUAGES:
            with i18n.use_locale(language):
                commands = command_list()
            await bot.set_my_commands(
                commands,
                scope=BotCommandScopeDefault(),
                language_code=None if language == i18n.default_locale else language,
            )
