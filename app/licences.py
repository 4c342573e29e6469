"""Open-source licences, named as SPDX licence expressions ("MIT", "Apache-2.0 OR MIT"): one rule
for an opportunity's licence and a team's default, on forms and in the API."""

from __future__ import annotations

from functools import lru_cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from app.i18n import gettext as _

SPDX_LIST_URL = "https://spdx.org/licenses/"
MAX_LENGTH = 60  # the width of the columns that keep an expression


@lru_cache(maxsize=1)
def _spdx() -> Licensing:
    return get_spdx_licensing()


def licence_problem(expression: str) -> str | None:
    """Why the text is not an SPDX licence expression, if it is not; empty text is no problem
    here (a draft may leave it for later; publishing asks for it)."""
    text = expression.strip()
    if not text:
        return None
    if len(text) > MAX_LENGTH:
        return _("Write the licence in at most %(max)s characters.", max=MAX_LENGTH)
    try:
        _spdx().parse(text, validate=True, strict=True)
    except ExpressionError:
        return _(
            "“%(licence)s” is not a licence from the SPDX list. Write its identifier, such as "
            "MIT or Apache-2.0, or an expression such as Apache-2.0 OR MIT.",
            licence=text,
        )
    return None


def normalised(expression: str) -> str:
    """The expression as SPDX spells it ("mit" is "MIT"); only for one licence_problem accepts."""
    text = expression.strip()
    return str(_spdx().parse(text, validate=True, strict=True)) if text else ""


def licence_urls(expression: str) -> list[tuple[str, str]]:
    """Each licence (and exception) the expression names, with its page on the SPDX list."""
    if licence_problem(expression) or not expression.strip():
        return []
    keys = _spdx().license_keys(_spdx().parse(expression.strip()))
    return [(key, f"{SPDX_LIST_URL}{key}.html") for key in keys]
