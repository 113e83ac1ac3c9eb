"""The Telegram handlers, one module per feature; `register` adds them all to an Application."""

from __future__ import annotations

from handlers import (
    admin,
    articles,
    ask,
    buttons,
    digests,
    duplicates,
    errors,
    fallback,
    follows,
    forget,
    groups,
    inline,
    language,
    menus,
    start,
    subscriptions,
    summary,
    upload,
)
from handlers.common import App


def register(application: App) -> None:
    """Add every feature's handlers and the error handler."""
    # Group -2 drops an update Telegram delivered twice, before anything acts on it.
    application.add_handlers(duplicates.handlers(), group=-2)
    # Group -1 sees every update and never stops it (it only sets admin menus).
    application.add_handlers(menus.handlers(), group=-1)
    # buttons before forget: PTB hands a press with empty data to the first
    # CallbackQueryHandler whatever its pattern, and on_button answers it "expired".
    features = (
        start,
        summary,
        articles,
        admin,
        buttons,
        forget,
        language,
        subscriptions,
        digests,
        follows,
        groups,
        ask,
        inline,
        upload,
    )
    for feature in features:
        application.add_handlers(feature.handlers())
    # After every feature: in group 0 the first matching handler wins.
    application.add_handlers(fallback.handlers())
    application.add_error_handler(errors.on_error)
