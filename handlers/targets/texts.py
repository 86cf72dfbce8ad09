from __future__ import annotations

from aiogram.utils.i18n import gettext as _


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
