"""The X and Instagram linking steps. The class names are part of the stored FSM state
("LinkX:pin"): renaming one strands users who are in the middle of it."""

from aiogram.fsm.state import State, StatesGroup


class LinkX(StatesGroup):
    pin = State()


# Commands are not answers: a command sent in the middle of linking (/link_instagram while
# X waits for its PIN, /rules, /help) goes to its own handler instead of being read as a PIN,
# a username or a code. The password step takes anything: a password may start with "/".


class LinkInstagram(StatesGroup):
    username = State()
    password = State()
    code = State()
    logging_in = State()  # Instagram is answering; what the user sends now is not a code
