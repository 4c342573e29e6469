"""English/French: locale negotiation and gettext for Python code and templates.

Catalogues are the ``.po`` files under ``app/translations``; they are compiled in memory at
start-up so a stale ``.mo`` can never be served.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("en", "fr")
DEFAULT_LOCALE = "en"
LANG_COOKIE = "devex_lang"

_current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations_for(locale: str) -> stdlib_gettext.NullTranslations:
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return stdlib_gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return stdlib_gettext.GNUTranslations(buffer)


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """Render something in another person's language (an email), then switch back."""
    token = _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current_locale.get()


def babel_locale() -> Locale:
    return Locale.parse(get_locale())


def gettext(message: str, **variables: object) -> str:
    translated = translations_for(get_locale()).gettext(message)
    return translated % variables if variables else translated


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Marks a message for the catalogue without translating it: it is stored (in English) and
    translated where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    translated = translations_for(get_locale()).ngettext(singular, plural, n)
    return translated % {"num": n, **variables}


def negotiate_locale(query_lang: str | None, cookie_lang: str | None, accept: str) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LOCALES:
            return candidate
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE


_ = gettext
