from aiogram.fsm.state import State, StatesGroup


class Reschedule(StatesGroup):
    time = State()
