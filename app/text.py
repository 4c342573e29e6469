"""Formatting of user content and figures: Markdown (sanitised), money, dates, time left."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple
from zoneinfo import ZoneInfo

import nh3
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from markdown_it import MarkdownIt
from markupsafe import Markup

from app.i18n import babel_locale, get_locale

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


def render_markdown(source: str) -> Markup:
    """Markdown to HTML, then sanitised: user text can never carry script or styles."""
    html = _markdown.render(source or "")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 on the line above


class Localized(NamedTuple):
    """A text and the language it is written in."""

    text: str
    lang: str


def localized(english: str, french: str | None) -> Localized:
    """Of the text a team gives per language, the reader's; the English one when there is no
    French one (English is the one every opportunity must have)."""
    if get_locale() == "fr" and french and french.strip():
        return Localized(french, "fr")
    return Localized(english, "en")


def format_money(cents: int, currency: str, locale: str | None = None) -> str:
    """In the current request's language, or in ``locale`` when given (e.g. "fr")."""
    return format_currency(Decimal(cents) / 100, currency, locale=locale or babel_locale())


def parse_money_to_cents(raw: str) -> int | None:
    """'1,234.50', '1234,50 $', '$1 234.50' → 123450; None when it is not an amount."""
    cleaned = raw.strip().replace("$", "").replace("\u00a0", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned and len(cleaned.rsplit(",", 1)[1]) <= 2:
        cleaned = cleaned.replace(",", ".")  # French decimal comma
    cleaned = cleaned.replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


def parse_percent_to_basis_points(raw: str) -> int | None:
    """'33.33', '33,33 %', '25' → hundredths of a percent (3333, 3333, 2500); None when it is
    not a number with at most two decimals. Written like an amount, so read like one."""
    return parse_money_to_cents(raw.replace("%", ""))


def format_share(basis_points: int) -> str:
    """3333 → '33.33', 2500 → '25': a share as it is typed back (the form reads either)."""
    whole, hundredths = divmod(basis_points, 100)
    return f"{whole}.{hundredths:02d}" if hundredths else str(whole)


def parse_date(raw: str) -> date | None:
    """A form's yyyy-mm-dd date; None when empty or not a date."""
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def parse_local_datetime(raw: str, zone: ZoneInfo) -> datetime | None:
    """A form's datetime-local value (no zone), read in ``zone``; None when not a date-time."""
    try:
        return datetime.fromisoformat(raw.strip()).replace(tzinfo=zone)
    except ValueError:
        return None


def format_number(value: int | Decimal) -> str:
    """'19.09' / '19,09', '1,234' / '1 234': a score, a count, in the reader's language."""
    return format_decimal(value, locale=babel_locale())


def format_percent_of_100(value: float) -> str:
    """'87.5%' / '87,5 %': a share already out of 100, in the reader's language."""
    return format_percent(value / 100, locale=babel_locale(), decimal_quantization=False)


def format_long_date(value: date) -> str:
    """'January 15, 2027' / '15 janvier 2027': a calendar date, which has no time zone."""
    return format_date(value, "long", locale=babel_locale())


def _locale_for_zone(zone: ZoneInfo) -> Locale:
    """The reader's language as written where ``zone`` is. CLDR names a zone briefly only in
    the locales that use that name ('HNE' is fr_CA's; plain 'fr' knows only '-0500')."""
    territory = get_global("zone_territories").get(zone.key)
    try:
        return Locale(get_locale(), territory) if territory else babel_locale()
    except UnknownLocaleError:
        return babel_locale()


def _zone_name(local: datetime, zone: ZoneInfo, locale: Locale) -> str:
    """The zone's short name, or its long one where the locale has no short one (Babel then
    gives a bare offset such as '+0100', which names nothing)."""
    short = format_datetime(local, "zzz", tzinfo=zone, locale=locale)
    if short != format_datetime(local, "Z", tzinfo=zone, locale=locale):
        return short
    return format_datetime(local, "zzzz", tzinfo=zone, locale=locale)


def format_local_datetime(value: datetime, zone: ZoneInfo) -> str:
    """'January 15, 2027, 5:00 p.m. EST' / '15 janvier 2027, 17 h 00 HNE': no seconds."""
    locale = _locale_for_zone(zone)
    local = value.astimezone(zone)
    date_part = format_date(local, "long", locale=locale)
    time_part = format_time(local, "short", tzinfo=zone, locale=locale)
    zone_name = _zone_name(local, zone, locale)
    combined = str(locale.datetime_formats["long"]).format(time_part, date_part)
    return f"{combined} {zone_name}"


def format_time_left(deadline: datetime, now: datetime) -> str:
    return format_timedelta(
        deadline - now,
        granularity="minute",
        threshold=1.0,
        add_direction=True,
        locale=babel_locale(),
    )
