from aiogram.fsm.state import State, StatesGroup


class QueueStates(StatesGroup):
    slots = State()  # typing a target's slots; the data holds `queue_target`
