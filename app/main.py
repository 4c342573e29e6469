"""create_app(): middleware, routers and error handlers, assembled in one place."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from anyio import to_thread
from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import openapi
from app.accounts import api as accounts_api
from app.accounts import pages as accounts_pages
from app.admin import pages as admin_pages
from app.admin.labels import event_label
from app.attention import pages as attention_pages
from app.claims import api as claims_api
from app.claims import pages as claims_pages
from app.config import Settings, get_settings
from app.db import REQUEST_THREADS, PostgresInbox, make_engine, make_session_factory
from app.delivery import api as delivery_api
from app.delivery import pages as delivery_pages
from app.errors import Forbidden, install_error_handlers, render_app_error
from app.evaluations import api as evaluations_api
from app.evaluations import pages as evaluations_pages
from app.github import api as github_api
from app.github import installations
from app.github import pages as github_pages
from app.github.api import GitHubWebhookFastPath
from app.i18n import gettext as _
from app.logging import RequestLogMiddleware, configure_logging
from app.metrics import api as metrics_api
from app.metrics import pages as metrics_pages
from app.metrics.prometheus import PrometheusMiddleware
from app.notifications import pages as notifications_pages
from app.opendata import api as opendata_api
from app.opendata import pages as opendata_pages
from app.opportunities import api as opportunities_api
from app.opportunities import feed as opportunities_feed
from app.opportunities import pages as opportunities_pages
from app.opportunities.labels import state_label as opportunity_state_label
from app.payments import api as payments_api
from app.payments import pages as payments_pages
from app.payonpull import api as payonpull_api
from app.payonpull import pages as payonpull_pages
from app.proposals import api as proposals_api
from app.proposals import pages as proposals_pages
from app.proposals.labels import proposal_state_label
from app.questions import api as questions_api
from app.questions import pages as questions_pages
from app.ratelimit import RateLimitMiddleware
from app.reviews import api as reviews_api
from app.reviews import pages as reviews_pages
from app.security import (
    LocaleMiddleware,
    ReadOnlyCORSMiddleware,
    SecurityHeadersMiddleware,
    SessionBoundCSRFMiddleware,
)
from app.site import pages as site_pages
from app.subscriptions import pages as subscriptions_pages
from app.teams import api as teams_api
from app.teams import pages as teams_pages
from app.teams.labels import role_label, signoff_label
from app.templating import environment as templates
from app.templating import render
from app.work import api as work_api
from app.work import pages as work_pages

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Webhooks authenticate by signature, not by cookie; they are the only CSRF exemptions.
CSRF_EXEMPT_PREFIXES = ("/webhooks/",)


def _csrf_exempt(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(CSRF_EXEMPT_PREFIXES)


async def _csrf_failed(scope: Scope, send: Send, _reason: Any) -> None:
    """A refused form gets a page that says what happened and what to do, not a bare 403."""
    error = Forbidden(
        _(
            "This form has expired or was sent from another site. Go back, reload the page "
            "and send it again."
        )
    )
    response = await render_app_error(Request(scope), error)
    await response(scope, _noop_receive, send)


def _error_page(request: Request, context: dict[str, Any], status: int) -> Response:
    return render(request, "errors/error.html", context, status_code=status)


async def _noop_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, secret: str, secure: bool) -> None:
        self.app = asgi_csrf(
            app,
            signing_secret=secret,
            skip_if_scope=_csrf_exempt,
            cookie_secure=secure,
            send_csrf_failed=_csrf_failed,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
    stop = threading.Event()
    worker = None
    if settings.run_jobs_in_process:
        # Imported here: a web process that leaves the jobs to workers (PostgreSQL) never
        # loads the job queue's library and the jobs' modules.
        from app import jobs

        worker = threading.Thread(
            target=jobs.run_forever,
            args=(app.state.session_factory, settings, stop),
            name="devex-jobs",
            daemon=True,
        )
        worker.start()
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        app.state.github.close()
        app.state.engine.dispose()
        if app.state.inbox is not None:
            await app.state.inbox.close()


# Each domain words its own states and roles (its labels module); audit events in words compose
# them all, so they sit above the domains (admin). The one Jinja environment, which every domain
# imports, gets them from here, the one place that sees every domain.
templates.globals.update(
    event_label=event_label,
    state_label_for=opportunity_state_label,
    proposal_state_label=proposal_state_label,
    role_label=role_label,
    signoff_label=signoff_label,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(json=settings.json_logs)
    app = FastAPI(
        title="Dev Exchange API",
        version="1",
        description="Public opportunities and team drafting. Amounts are integer cents.",
        openapi_url="/api/v1/openapi.json",
        # The reference page is ours (app/site/pages.py): Swagger UI needs a CDN and inline script.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.inbox = (
        PostgresInbox(
            settings.database_url,
            size=settings.inbox_pool_size,
            wait_seconds=settings.inbox_wait_seconds,
        )
        if settings.database_url.startswith("postgresql")
        else None
    )
    app.state.github = installations.client_for(settings, app.state.session_factory)

    app.state.layout_context = work_pages.navigation
    install_error_handlers(app, _error_page)
    openapi.install(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        site_pages.router,
        opportunities_feed.router,
        opportunities_pages.router,
        teams_pages.router,
        github_pages.router,
        accounts_pages.router,
        admin_pages.router,
        proposals_pages.router,
        evaluations_pages.router,
        notifications_pages.router,
        subscriptions_pages.router,
        questions_pages.router,
        reviews_pages.router,
        payments_pages.router,
        payonpull_pages.router,
        delivery_pages.router,
        attention_pages.router,
        claims_pages.router,
        claims_api.router,
        opendata_pages.router,
        opendata_api.router,
        metrics_pages.router,
        metrics_api.router,
        payments_api.router,
        payments_api.webhook_router,
        opportunities_api.router,
        proposals_api.router,
        evaluations_api.router,
        evaluations_api.proposals_router,
        payonpull_api.router,
        delivery_api.router,
        questions_api.router,
        questions_api.questions_router,
        github_api.router,
        reviews_api.router,
        teams_api.router,
        accounts_api.router,
        work_pages.router,
        work_api.router,
    ):
        app.include_router(router)
    if settings.demo_sign_in_enabled:
        app.include_router(accounts_pages.demo_router)

    # Added innermost first: the request id wraps everything, so every log line carries it.
    app.add_middleware(
        CSRFMiddleware,
        secret=settings.secret_key.get_secret_value(),
        secure=settings.secure_cookies,
    )
    app.add_middleware(SessionBoundCSRFMiddleware, settings=settings)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(GitHubWebhookFastPath, state=app.state)
    # A preflight is answered here, before rate limits, CSRF and the locale: it carries none.
    app.add_middleware(ReadOnlyCORSMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)
    # Outside the webhook fast path and everything that answers on its own, so every request
    # is counted; inside the request id, so a slow request's log line and its count agree.
    app.add_middleware(
        PrometheusMiddleware,
        routes=app.routes,
        settings=settings,
        session_factory=app.state.session_factory,
    )
    app.add_middleware(RequestLogMiddleware)
    if settings.forwarded_allow_ips:
        # Outermost: rate limits and logs see the client the trusted proxies name.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app
