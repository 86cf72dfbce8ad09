"""The class name is part of the stored FSM state ("LinkChannel:waiting")."""

from aiogram.fsm.state import State, StatesGroup


class LinkChannel(StatesGroup):
    waiting = State()
