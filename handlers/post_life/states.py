from aiogram.fsm.state import State, StatesGroup


class EditPublished(StatesGroup):
    text = State()
    buttons = State()
