"""Formatting of user content and figures: Markdown (sanitised), money, dates, time left."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import nh3
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.numbers import format_currency
from markdown_it import MarkdownIt
from markupsafe import Markup

from app.i18n import babel_locale

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


def format_local_datetime(value: datetime, zone: ZoneInfo) -> str:
    """'December 9, 2026 at 5:00 PM EST' / '9 décembre 2026 à 17 h 00 HNE': no seconds."""
    locale = babel_locale()
    local = value.astimezone(zone)
    date_part = format_date(local, "long", locale=locale)
    time_part = format_time(local, "short", tzinfo=zone, locale=locale)
    zone_name = format_datetime(local, "zzz", tzinfo=zone, locale=locale)
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
