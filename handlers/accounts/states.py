"""The three linking dialogs' states. The class names are part of the stored dialog context
("LinkX:pin"): renaming one strands users who are in the middle of it.

The first state of each (`LinkChannel.waiting`, `LinkX.pin`, `LinkInstagram.username`) is
public: another dialog may `Start` it as a subdialog and gets the linked target's id (or
None) back in its `on_process_result`."""

from aiogram.fsm.state import State, StatesGroup


class LinkChannel(StatesGroup):
    waiting = State()  # a forwarded post or the channel's @username


class LinkX(StatesGroup):
    pin = State()


class LinkInstagram(StatesGroup):
    username = State()
    password = State()
    # Instagram is answering (what the user sends now is not a code), or asks for a code.
    code = State()
