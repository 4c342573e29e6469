"""Atom feeds of new opportunities: all of them, or those of any search the listing can do, so
people hear about new work in their feed reader instead of checking the site every day."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from app.access import PUBLIC, allow
from app.config import Settings
from app.deps import AppSettings, DbSession
from app.i18n import get_locale
from app.i18n import gettext as _
from app.models.base import utcnow
from app.opportunities import repository
from app.opportunities.repository import Listed
from app.opportunities.schemas import Sort, filters_from_query
from app.text import format_money, localized, render_markdown

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

router = APIRouter(include_in_schema=False)
FEED_PATH = "/opportunities.atom"
ATOM = "application/atom+xml"
# The listing's filters a feed carries; the sort and the page are the feed's own (newest first).
FILTER_PARAMS = ("q", "state", "skill", "team", "amount_min", "amount_max")
ENTRIES = 50


def feed_url(params: QueryParams) -> str:
    """The feed of the listing these query parameters show, in the reader's language: a feed
    reader sends neither the language cookie nor, often, the browser's languages."""
    kept = [(key, value) for key, value in params.multi_items() if key in FILTER_PARAMS and value]
    return f"{FEED_PATH}?{urlencode([*kept, ('lang', get_locale())])}"


@router.get(FEED_PATH, dependencies=[allow(PUBLIC)], name="opportunity_feed")
def opportunity_feed(request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Published opportunities only (the listing's own query), newest first."""
    filters, _problems = filters_from_query(request.query_params)
    newest = filters.model_copy(update={"sort": Sort.NEWEST, "cursor": "", "limit": ENTRIES})
    items = repository.list_public(db, newest).items
    feed = _feed(settings, request.url.query, items)
    return Response(feed.atom_str(pretty=True), media_type=f"{ATOM}; charset=utf-8")


def _feed(settings: Settings, query: str, items: list[Listed]) -> FeedGenerator:
    base = settings.base_url
    listing = f"{base}/opportunities?{query}" if query else f"{base}/opportunities"
    # Imported here: feedgen brings lxml (4 MB a process), which only feed requests need.
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(f"{base}{FEED_PATH}?{query}")
    feed.title(_("Dev Exchange: new opportunities"))
    feed.subtitle(_("Paid open-source work posted by government teams, newest first."))
    feed.link(href=f"{base}{FEED_PATH}?{query}", rel="self", type=ATOM)
    feed.link(href=listing, rel="alternate", type="text/html")
    feed.author(name=_("Dev Exchange"), uri=base)
    feed.language(get_locale())
    feed.updated(_newest(items))
    for item in items:
        _add_entry(feed, settings, item)
    return feed


def _newest(items: list[Listed]) -> datetime:
    return (items[0].opportunity.published_at if items else None) or utcnow()


def _add_entry(feed: FeedGenerator, settings: Settings, item: Listed) -> None:
    o = item.opportunity
    url = f"{settings.base_url}/opportunities/{o.id}"
    entry = feed.add_entry(order="append")
    entry.id(url)
    entry.title(localized(o.title, o.title_fr).text)
    entry.link(href=url, rel="alternate", type="text/html")
    entry.author(name=item.team_name)
    entry.published(o.published_at)
    entry.updated(o.published_at)
    for skill in item.skills:
        entry.category(term=skill)
    entry.summary(
        _(
            "%(team)s · %(amount)s · proposals until %(deadline)s",
            team=item.team_name,
            amount=format_money(o.amount_cents, o.currency),
            deadline=o.proposal_deadline.date().isoformat(),
        )
    )
    statement = localized(o.problem_statement, o.problem_statement_fr).text
    entry.content(str(render_markdown(statement)), type="html")
