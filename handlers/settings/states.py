"""The class name is part of the stored FSM state ("Settings:timezone")."""

from aiogram.fsm.state import State, StatesGroup


class Settings(StatesGroup):
    timezone = State()
