"""The one Jinja2 environment: autoescaping, gettext, and the filters templates use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from app import i18n
from app.config import Settings
from app.models.base import utcnow
from app.text import (
    format_local_datetime,
    format_long_date,
    format_money,
    format_number,
    format_percent_of_100,
    format_time_left,
    localized,
    render_markdown,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
    i18n.gettext, i18n.ngettext, newstyle=True
)


def lang_attr(lang: str) -> Markup:
    """` lang="en"` on an element whose text is not in the page's language (WCAG 3.1.2)."""
    return Markup(' lang="{}"').format(lang) if lang != i18n.get_locale() else Markup("")


@pass_context
def _datetime_filter(context: Context, value: datetime) -> str:
    settings: Settings = context["settings"]
    return format_local_datetime(value, settings.zone)


# Every figure a page shows goes through one of these, in the reader's language.
environment.filters["markdown"] = render_markdown
environment.filters["money"] = format_money
environment.filters["number"] = format_number
environment.filters["percent"] = format_percent_of_100
environment.filters["date"] = format_long_date
environment.filters["datetime"] = _datetime_filter
environment.globals["localized"] = localized
environment.globals["lang_attr"] = lang_attr


def _url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    csrf = request.scope.get("csrftoken")
    base_context: dict[str, Any] = {
        "request": request,
        "settings": settings,
        "locale": i18n.get_locale(),
        "other_locale": "fr" if i18n.get_locale() == "en" else "en",
        "current_user": getattr(request.state, "viewer", None),
        "csrf_token": csrf() if callable(csrf) else "",
        "url_with": lambda **changes: _url_with(request, **changes),
        "time_left": lambda value: format_time_left(value, utcnow()),
        "now": utcnow(),
        "timezone_name": settings.timezone,
        "iso": datetime.isoformat,
    }
    # What the layout needs from a domain above this module (the navigation's counts): the app
    # sets it (main.py), so templating itself imports no domain.
    layout = getattr(request.app.state, "layout_context", None)
    layout_context = layout(request) if layout else {}
    html = environment.get_template(template).render({**base_context, **layout_context, **context})
    return HTMLResponse(html, status_code=status_code)
