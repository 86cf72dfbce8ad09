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
