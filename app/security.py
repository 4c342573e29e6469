"""Security headers on every response, CSRF tokens bound to the session, the locale of each
request, and CORS for public reads."""

from __future__ import annotations

import hmac
from hashlib import sha256
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from asgi_csrf import DEFAULT_COOKIE_NAME, DEFAULT_SIGNING_NAMESPACE
from fastapi.responses import Response
from itsdangerous.url_safe import URLSafeSerializer
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.config import Settings
from app.deps import session_cookie_name

CSRF_COOKIE = DEFAULT_COOKIE_NAME

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https://avatars.githubusercontent.com; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=63072000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def session_csrf_token(secret: str, session_token: str) -> str:
    """The one CSRF token of a session, derived from its cookie and signed as asgi-csrf signs its
    own: a token from another session, or one handed out before sign-in, never equals it."""
    digest = hmac.new(secret.encode(), b"csrf:" + session_token.encode(), sha256).hexdigest()
    return str(URLSafeSerializer(secret).dumps(digest, DEFAULT_SIGNING_NAMESPACE))


def set_session_csrf_cookie(response: Response, settings: Settings, session_token: str) -> None:
    """Hand the new session's token out with the sign-in itself (scripts read the cookie)."""
    response.set_cookie(
        CSRF_COOKIE,
        session_csrf_token(settings.secret_key.get_secret_value(), session_token),
        path="/",
        samesite="lax",
        secure=settings.secure_cookies,
    )


class SessionBoundCSRFMiddleware:
    """Binds asgi-csrf's tokens to the session. asgi-csrf accepts any signed token that matches
    the csrftoken cookie, so a pair copied from one browser would pass in another. In front of
    it, a request that carries a session has its csrftoken cookie replaced by that session's
    token, so only that token passes; the browser is given it when it held another."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.secret = settings.secret_key
        self.session_cookie = session_cookie_name(settings)
        self.cookie_attributes = "; Path=/; SameSite=Lax" + (
            "; Secure" if settings.secure_cookies else ""
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = "; ".join(
            value.decode("latin-1") for name, value in scope["headers"] if name == b"cookie"
        )
        cookies = cookie_parser(raw)
        session = cookies.get(self.session_cookie)
        if not session:
            await self.app(scope, receive, send)
            return
        expected = session_csrf_token(self.secret.get_secret_value(), session)
        if cookies.get(CSRF_COOKIE) == expected:
            await self.app(scope, receive, send)
            return
        others = [part.strip() for part in raw.split(";") if _cookie_name(part) != CSRF_COOKIE]
        cookie = "; ".join([*filter(None, others), f"{CSRF_COOKIE}={expected}"])
        headers = [(name, value) for name, value in scope["headers"] if name != b"cookie"]
        scope = {**scope, "headers": [*headers, (b"cookie", cookie.encode("latin-1"))]}
        set_cookie = f"{CSRF_COOKIE}={expected}{self.cookie_attributes}".encode("latin-1")

        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = message.get("headers", [])
                # A sign-in or sign-out response sets the next session's cookie itself.
                if not any(
                    name == b"set-cookie" and value.startswith(CSRF_COOKIE.encode() + b"=")
                    for name, value in sent
                ):
                    message = {**message, "headers": [*sent, (b"set-cookie", set_cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_token)


def _cookie_name(pair: str) -> str:
    return pair.partition("=")[0].strip()


class LocaleMiddleware:
    """Picks English or French: ``?lang=`` (remembered in a cookie), the cookie, the browser."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        query_lang = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[
            0
        ]
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        cookie = cookies.get(i18n.LANG_COOKIE)
        cookie_lang = cookie.value if cookie else None
        locale = i18n.negotiate_locale(
            query_lang, cookie_lang, headers.get(b"accept-language", b"").decode("latin-1")
        )
        i18n.set_locale(locale)
        remember = query_lang in i18n.LOCALES and query_lang != cookie_lang

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-language", locale.encode())]
                if remember:
                    extra.append(
                        (
                            b"set-cookie",
                            f"{i18n.LANG_COOKIE}={locale}; Path=/; Max-Age=31536000; "
                            "SameSite=Lax".encode(),
                        )
                    )
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_language)


# What anyone may read, other sites' scripts may read too: the API's public reads, the open-data
# files and catalogues, the feeds and the metrics' figures.
CORS_READ_PATHS = (
    "/api/v1/",
    "/opendata/",
    "/data.json",
    "/code.json",
    "/opportunities.atom",
    "/metrics/participation.csv",
)
CORS_READ_METHODS = ("GET", "HEAD")


class ReadOnlyCORSMiddleware:
    """CORS for reading only: GET and HEAD on the paths above, and their preflight, from any
    origin and never with credentials (no cookie, no Authorization header), so another site's
    script only ever reads what it could read signed out. Every other request, a POST above all,
    passes by without a CORS header, so browsers keep other sites from writing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=CORS_READ_METHODS,
            allow_credentials=False,
            max_age=86400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _readable_across_origins(scope):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _readable_across_origins(scope: Scope) -> bool:
    if not str(scope["path"]).startswith(CORS_READ_PATHS):
        return False
    method = str(scope["method"])
    if method == "OPTIONS":
        method = Headers(scope=scope).get("access-control-request-method", "")
    return method in CORS_READ_METHODS
