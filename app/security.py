"""Security headers on every response, and the locale of each request."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n

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
