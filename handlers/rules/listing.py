"""The rule list and one rule: view, Pause/Resume, Run now, Try it (dry run), Edit, Delete.
Every rule is loaded for the user who pressed the button: a forged or stale button gets a
refusal and changes nothing."""

from __future__ import annotations

from html import escape

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager, StartMode

from handlers.failures import ai_quota_text, failure_text
from handlers.render import platform_label
from handlers.rules.callbacks import RulesCb
from handlers.rules.keyboards import delete_keyboard, rule_view_keyboard, rules_list_keyboard
from handlers.rules.states import RuleDialog, RuleDialogStart
from handlers.rules.texts import (
    draft_html,
    local_moment,
    not_yours,
    rule_details,
    rule_error_text,
    rules_list_text,
    try_again,
)
from services.container import Services
from services.rules import AiQuotaExceeded, DryRun, RuleDraft, RuleError
from storage.models import AutoPostingRule, User


def message_of(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


async def leave_dialogs(state: FSMContext, dialog_manager: DialogManager) -> None:
    """The list and a rule's view replace whatever dialog was open (the rule dialog, or the
    new text of a draft awaiting approval)."""
    await state.clear()
    if dialog_manager.has_context():
        await dialog_manager.reset_stack()


async def show_rules_list(message: Message, services: Services, user: User) -> None:
    rules = await services.rules.list(user.id)
    await message.answer(
        rules_list_text(rules, user.timezone), reply_markup=rules_list_keyboard(rules)
    )


async def show_rule(message: Message, rule: AutoPostingRule, user: User) -> None:
    await message.answer(rule_details(rule, user.timezone), reply_markup=rule_view_keyboard(rule))


async def send_dry_run(message: Message, result: DryRun, timezone: str) -> None:
    runs = "\n".join(f"• {local_moment(run, timezone)}" for run in result.runs)
    await message.answer(
        _("🧪 Dry run: nothing is published.\nNext runs ({zone}):\n{runs}").format(
            zone=timezone, runs=runs or "—"
        )
    )
    if result.error is not None:
        await message.answer(
            _("The sample could not be written: {reason}").format(
                reason=escape(failure_text(result.error.code))
            )
        )
        return
    assert result.output is not None
    for item in result.output.texts:
        header = _("Sample for {platform}:").format(platform=platform_label(item.platform))
        if item.duplicate_of is not None:
            header += "\n" + _("⚠️ It repeats a recent post, so the rule would not publish it.")
        await message.answer(header)
        await message.answer(draft_html(item.platform, item.generated.title, item.generated.text))


async def _owned_rule(
    query: CallbackQuery, callback_data: RulesCb, services: Services, user: User
) -> AutoPostingRule | None:
    try:
        return await services.rules.get(user.id, callback_data.rule_id)
    except RuleError:
        await query.answer(not_yours(), show_alert=True)
        return None


async def cmd_rules(
    message: Message,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    db_user: User,
) -> None:
    await leave_dialogs(state, dialog_manager)
    await show_rules_list(message, services, db_user)


async def on_rules_list(
    query: CallbackQuery,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    db_user: User,
) -> None:
    await leave_dialogs(state, dialog_manager)
    await query.answer()
    if (message := message_of(query)) is not None:
        await show_rules_list(message, services, db_user)


async def on_rule_view(
    query: CallbackQuery,
    callback_data: RulesCb,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    db_user: User,
) -> None:
    if (rule := await _owned_rule(query, callback_data, services, db_user)) is None:
        return
    await leave_dialogs(state, dialog_manager)
    await query.answer()
    if (message := message_of(query)) is not None:
        await show_rule(message, rule, db_user)


async def on_rule_pause_resume(
    query: CallbackQuery, callback_data: RulesCb, services: Services, db_user: User
) -> None:
    active = callback_data.action == "resume"
    try:
        rule = await services.rules.set_active(db_user.id, callback_data.rule_id, active)
    except RuleError as exc:
        if exc.code == "not_found":
            await query.answer(not_yours(), show_alert=True)
        else:
            await query.answer(try_again(), show_alert=True)
        return
    await query.answer(_("Resumed") if active else _("Paused"))
    if (message := message_of(query)) is not None:
        await show_rule(message, rule, db_user)


async def on_rule_run_now(
    query: CallbackQuery, callback_data: RulesCb, services: Services, db_user: User
) -> None:
    try:
        await services.rules.run_now(db_user.id, callback_data.rule_id)
    except RuleError as exc:
        await query.answer(rule_error_text(exc), show_alert=True)
        return
    await query.answer(_("Running"))
    if (message := message_of(query)) is not None:
        await message.answer(
            _("⚡ The rule runs now; its post follows shortly. Its schedule stays as it is.")
        )


async def on_rule_delete(
    query: CallbackQuery, callback_data: RulesCb, services: Services, db_user: User
) -> None:
    if (rule := await _owned_rule(query, callback_data, services, db_user)) is None:
        return
    await query.answer()
    if (message := message_of(query)) is not None:
        await message.answer(
            _("Delete the rule <b>{name}</b>? Posts it already created stay as they are.").format(
                name=escape(rule.name)
            ),
            reply_markup=delete_keyboard(rule.id),
        )


async def on_rule_delete_confirmed(
    query: CallbackQuery, callback_data: RulesCb, services: Services, db_user: User
) -> None:
    if not await services.rules.delete(db_user.id, callback_data.rule_id):
        await query.answer(not_yours(), show_alert=True)
        return
    await query.answer(_("Deleted"))
    if (message := message_of(query)) is not None:
        await message.answer(_("The rule was deleted."))
        await show_rules_list(message, services, db_user)


async def on_rule_dry_run(
    query: CallbackQuery, callback_data: RulesCb, services: Services, db_user: User
) -> None:
    if (rule := await _owned_rule(query, callback_data, services, db_user)) is None:
        return
    await query.answer(_("Generating a sample…"))
    if (message := message_of(query)) is None:
        return
    try:
        result = await services.rules.dry_run(
            db_user.id, RuleDraft.from_rule(rule), services.generator, rule_id=rule.id
        )
    except RuleError as exc:
        await message.answer(rule_error_text(exc))
        return
    except AiQuotaExceeded as exc:
        await message.answer(ai_quota_text(exc))
        return
    await send_dry_run(message, result, rule.timezone)


async def on_rule_new(
    query: CallbackQuery,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    db_user: User,
) -> None:
    try:
        # Told before the first question, not after the whole dialog (save checks again).
        await services.rules.check_room(db_user.id)
    except RuleError as exc:
        await query.answer(rule_error_text(exc), show_alert=True)
        return
    await state.clear()
    await query.answer()
    await dialog_manager.start(RuleDialog.name, mode=StartMode.RESET_STACK)


async def on_rule_edit(
    query: CallbackQuery,
    callback_data: RulesCb,
    state: FSMContext,
    dialog_manager: DialogManager,
    services: Services,
    db_user: User,
) -> None:
    """The rule dialog with the rule's draft, on its summary."""
    if (rule := await _owned_rule(query, callback_data, services, db_user)) is None:
        return
    await state.clear()
    await query.answer()
    start = RuleDialogStart(rule_id=rule.id)
    await dialog_manager.start(
        RuleDialog.summary, data=start.model_dump(mode="json"), mode=StartMode.RESET_STACK
    )
