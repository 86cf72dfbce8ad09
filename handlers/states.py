from aiogram.fsm.state import State, StatesGroup


class NewPost(StatesGroup):
    content = State()
    title = State()
    ai_prompt = State()
    add_photo = State()
    preview = State()
    targets = State()
    time = State()
    confirm = State()
    buttons = State()


class LinkChannel(StatesGroup):
    waiting = State()


class Reschedule(StatesGroup):
    time = State()


class Settings(StatesGroup):
    timezone = State()
