"""A forwarded post waits here while its channel is offered for linking. The class name is
part of the stored state ("ForwardedPost:offer"): renaming it strands users mid-way."""

from aiogram.fsm.state import State, StatesGroup


class ForwardedPost(StatesGroup):
    offer = State()
