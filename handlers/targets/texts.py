from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from storage.repositories import Unlinked


def targets_list_text(has_targets: bool) -> str:
    if has_targets:
        return _("Your targets:")
    return _(
        "No targets yet. To link a channel: add me to it as an administrator with the "
        "right to post, then press the button below. X and Instagram accounts are linked "
        "with their own buttons."
    )


def not_yours_text() -> str:
    return _("That target is not yours or no longer exists.")


def unlink_question_text(label: str) -> str:
    return _(
        "Unlink {title}?\n"
        "• Its scheduled posts and drafts are cancelled.\n"
        "• Published, failed and other past posts stay in /scheduled as history.\n"
        "• Rules stop posting to it.\n"
        "Linking it again brings it back with its history."
    ).format(title=label)


def unlinked_text(unlinked: Unlinked) -> str:
    lines = [
        _("Unlinked. Scheduled posts cancelled: {count}. Its history is kept.").format(
            count=unlinked.cancelled_posts
        )
    ]
    if unlinked.rule_names:
        lines.append(
            _("These rules no longer post to it: {rules}. Check their targets in /rules.").format(
                rules=", ".join(escape(name) for name in unlinked.rule_names)
            )
        )
    return "\n".join(lines)
