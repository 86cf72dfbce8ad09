"""The settings dialog's windows. The group's name is part of the stored dialog context
("Settings:main"), so renaming it strands dialogs open at the time of a deploy."""

from aiogram.fsm.state import State, StatesGroup


class Settings(StatesGroup):
    main = State()
    timezone = State()
