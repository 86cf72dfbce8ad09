"""The rule dialog's summary and what is reached from it: Save, Try it now, edit one part,
the limits (guardrails), and Back from every step."""

from __future__ import annotations

import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.rules.callbacks import RuleWizCb
from handlers.rules.keyboards import (
    DAILY_CAPS,
    confirm_rule_keyboard,
    limits_keyboard,
    nav_only,
)
from handlers.rules.listing import send_dry_run, show_rule, show_rules_list
from handlers.rules.states import RuleWizard, load_wizard, save_wizard
from handlers.rules.steps import (
    ASK,
    BACK,
    Step,
    StepContext,
    expired,
    message_of,
    show_confirm,
    show_limits,
)
from handlers.rules.texts import rule_error_text, stale_button
from handlers.rules.wizard import with_draft
from services.container import Services
from services.rules import RuleError
from services.schedule import ScheduleError, parse_hhmm
from storage.models import User
from storage.rule_config import QuietHours

QUIET_RE = re.compile(r"^\s*(\d{1,2}[:.]\d{2})\s*[-–—]\s*(\d{1,2}[:.]\d{2})\s*$")
OFF_WORDS = {"off", "no", "none", "0", "-", "нет", "выкл", "без"}
MAX_MONTHLY_TOKENS = 100_000_000
PART_STEPS = {
    "name": Step.NAME,
    "schedule": Step.SCHEDULE_TYPE,
    "content": Step.CONTENT_TYPE,
    "targets": Step.TARGETS,
    "mode": Step.MODE,
}


def _ctx(message: Message, state: FSMContext, services: Services, user: User) -> StepContext:
    return StepContext(message, state, services, user)


async def on_rule_save(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await load_wizard(state)) is None:
        await expired(query, state)
        return
    try:
        if wizard.rule_id is not None:
            rule = await services.rules.update(db_user.id, wizard.rule_id, wizard.draft)
        else:
            rule = await services.rules.create(db_user.id, wizard.draft)
    except RuleError as exc:
        await query.answer(rule_error_text(exc), show_alert=True)
        return
    await state.clear()
    await query.answer(_("Saved"))
    if (message := message_of(query)) is not None:
        await message.answer(_("✅ The rule is saved."))
        await show_rule(message, rule, db_user)


async def on_rule_draft_dry_run(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await load_wizard(state)) is None:
        await expired(query, state)
        return
    await query.answer(_("Generating a sample…"))
    if (message := message_of(query)) is None:
        return
    try:
        result = await services.rules.dry_run(
            db_user.id, wizard.draft, services.generator, rule_id=wizard.rule_id
        )
    except RuleError as exc:
        await message.answer(rule_error_text(exc))
        return
    await send_dry_run(message, result, wizard.draft.timezone)
    await message.answer(_("Save the rule?"), reply_markup=confirm_rule_keyboard())


async def on_rule_edit_part(
    query: CallbackQuery,
    callback_data: RuleWizCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    step = PART_STEPS.get(callback_data.value)
    if step is None:
        await query.answer(stale_button(), show_alert=True)
        return
    if (wizard := await load_wizard(state)) is None:
        await expired(query, state)
        return
    await save_wizard(state, wizard.model_copy(update={"single": True}))
    await query.answer()
    if (message := message_of(query)) is not None:
        await ASK[step](_ctx(message, state, services, db_user))


# ---------- limits (guardrails) ----------


async def on_rule_limits(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if (message := message_of(query)) is not None:
        await show_limits(_ctx(message, state, services, db_user))


async def on_rule_cap(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await load_wizard(state)) is None:
        await expired(query, state)
        return
    current = wizard.draft.daily_cap
    index = DAILY_CAPS.index(current) if current in DAILY_CAPS else 0
    wizard = with_draft(wizard, daily_cap=DAILY_CAPS[(index + 1) % len(DAILY_CAPS)])
    await save_wizard(state, wizard)
    await query.answer()
    if (message := message_of(query)) is not None:
        try:
            await message.edit_reply_markup(reply_markup=limits_keyboard(wizard.draft))
        except TelegramBadRequest:
            await show_limits(_ctx(message, state, services, db_user))


async def on_rule_quiet(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(RuleWizard.quiet)
    await query.answer()
    if (message := message_of(query)) is not None:
        await message.answer(
            _(
                "Send quiet hours in your time zone as <code>22:00-08:00</code>, or "
                "<code>off</code> for none."
            ),
            reply_markup=nav_only(),
        )


def parse_quiet(text: str) -> QuietHours:
    match = QUIET_RE.match(text)
    if match is None:
        raise ScheduleError("format")
    start, end = (parse_hhmm(part.replace(".", ":")) for part in match.groups())
    if start == end:
        raise ScheduleError("empty")
    return QuietHours(start=f"{start[0]:02d}:{start[1]:02d}", end=f"{end[0]:02d}:{end[1]:02d}")


async def on_rule_quiet_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await load_wizard(state)) is None:
        await expired(message, state)
        return
    text = (message.text or "").strip().lower()
    if text in OFF_WORDS:
        quiet = QuietHours()
    else:
        try:
            quiet = parse_quiet(text)
        except ScheduleError:
            await message.answer(
                _("I could not read that. Send it as 22:00-08:00, or off."),
                reply_markup=nav_only(),
            )
            return
    await save_wizard(state, with_draft(wizard, quiet_hours=quiet))
    await show_limits(_ctx(message, state, services, db_user))


async def on_rule_budget(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(RuleWizard.budget)
    await query.answer()
    if (message := message_of(query)) is not None:
        await message.answer(
            _(
                "How many AI tokens may this rule use per month? A post takes about 500–1500. "
                "Send a number, or <code>off</code> for no limit."
            ),
            reply_markup=nav_only(),
        )


async def on_rule_budget_text(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if (wizard := await load_wizard(state)) is None:
        await expired(message, state)
        return
    text = (message.text or "").strip().lower().replace(" ", "").replace("_", "")
    budget: int | None = None
    if text not in OFF_WORDS:
        if not text.isdigit() or not 1 <= int(text) <= MAX_MONTHLY_TOKENS:
            await message.answer(
                _("Send a whole number of tokens, for example 30000, or off."),
                reply_markup=nav_only(),
            )
            return
        budget = int(text)
    await save_wizard(state, with_draft(wizard, monthly_token_budget=budget))
    await show_limits(_ctx(message, state, services, db_user))


async def on_rule_limits_done(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if (message := message_of(query)) is not None:
        await show_confirm(_ctx(message, state, services, db_user))


# ---------- Back, and text where buttons are expected ----------


async def on_rule_back_from_name(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if (message := message_of(query)) is None:
        return
    wizard = await load_wizard(state)
    if wizard is not None and wizard.single:
        await show_confirm(_ctx(message, state, services, db_user))
        return
    await state.clear()
    await show_rules_list(message, services, db_user)


async def on_rule_back(
    query: CallbackQuery,
    state: FSMContext,
    services: Services,
    db_user: User,
    raw_state: str | None = None,
) -> None:
    current = raw_state or await state.get_state()
    back = next((step for st, step in BACK.items() if st.state == current), None)
    if back is None:
        # Not this dialog: say so instead of staying silent.
        await query.answer(stale_button(), show_alert=True)
        return
    if (wizard := await load_wizard(state)) is None:
        await expired(query, state)
        return
    await query.answer()
    if (message := message_of(query)) is None:
        return
    step = back(wizard.draft)
    ctx = _ctx(message, state, services, db_user)
    # Editing one part, Back returns to the summary; but the days go back to the times (the
    # same part), and the limits' questions to the limits.
    single_part = wizard.single and current != RuleWizard.days.state
    if single_part and step not in (Step.CONFIRM, Step.LIMITS):
        step = Step.CONFIRM
    await ASK[step](ctx)


async def on_rule_unexpected_message(message: Message) -> None:
    await message.answer(
        _("Use the buttons above, or send the text I asked for. /cancel leaves the dialog.")
    )
