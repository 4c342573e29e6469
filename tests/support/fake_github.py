"""A local fake of GitHub (REST API, OAuth with PKCE, and a GitHub App: its JWT, installation
tokens and install page), served over HTTP so our real client code, Authlib included, runs
against it. Like GitHub, it answers ETags and 304s, and can be told to rate-limit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

APP_ID = "424242"
APP_SLUG = "dev-exchange-test"
TOKEN_LIFETIME = timedelta(hours=1)


@cache
def app_key() -> RSAKey:
    """The fake App's RSA key pair, made once per process (2048-bit keys take a moment)."""
    return RSAKey.generate_key(2048)


class Call(NamedTuple):
    """One request as the fake answered it; a 304 is recorded as 304. ``token`` is the
    Authorization's token ("" for none): the fake may see tokens, it is not our code."""

    method: str
    path: str
    status: int
    token: str


@dataclass
class FakeInstallation:
    id: int
    account_login: str
    account_id: int
    repositories: list[str]
    suspended: bool = False


@dataclass
class RateLimit:
    """The next ``calls`` requests are refused: 403 with X-RateLimit-Remaining 0 and
    X-RateLimit-Reset (``reset_at``), or 429 with Retry-After (``retry_after`` seconds)."""

    calls: int
    reset_at: datetime | None = None
    retry_after: int | None = None


def _token_of(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() in ("bearer", "token") else ""


def _not_found() -> JSONResponse:
    return JSONResponse({"message": "Not Found"}, status_code=404)


def _page_of(request: Request, items: list[Any], per_page: int) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` (?page=, 1-based) and GitHub's Link header to the next one."""
    page = int(request.query_params.get("page", "1"))
    per_page = min(per_page, 100)
    start = (page - 1) * per_page
    headers = {}
    if start + per_page < len(items):
        following = request.url.include_query_params(page=page + 1)
        headers["Link"] = f'<{following}>; rel="next"'
    return items[start : start + per_page], headers


@dataclass
class FakeAccount:
    github_id: int
    login: str
    name: str = ""
    email: str | None = None
    email_verified: bool = True


@dataclass
class FakeGitHub:
    repositories: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""
    client_id: str = "test-client-id"
    client_secret: str = "test-client-secret"
    # code → (account, PKCE challenge, redirect_uri); access token → account
    codes: dict[str, tuple[FakeAccount, str, str]] = field(default_factory=dict)
    tokens: dict[str, FakeAccount] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    # (repository, issue number, body) of every comment posted
    comments: list[tuple[str, int, str]] = field(default_factory=list)
    # (repository, commit sha) → check runs, and → commit statuses (the two kinds of CI result)
    check_runs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    # (repository, pull request) → issues linked in its sidebar, as (repository, number)
    linked_issues: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)
    # Who posted each comment, by comment id (its place in ``comments``, from 1): an App's
    # installation token posts as "<slug>[bot]", the platform token as "platform".
    comment_authors: dict[int, str] = field(default_factory=dict)
    # Every request, in order (the bench counts them); see Call.
    calls: list[Call] = field(default_factory=list)
    rate_limit: RateLimit | None = None
    # The GitHub App.
    app_id: str = APP_ID
    app_slug: str = APP_SLUG
    installations: dict[int, FakeInstallation] = field(default_factory=dict)
    # installation token → (installation id, expiry)
    installation_tokens: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    token_fetches: dict[int, int] = field(default_factory=dict)
    # What the install page's button installs (installation id, account login, account id,
    # repositories), and where GitHub then sends the person (our setup URL).
    pending_install: tuple[int, str, int, list[str]] | None = None
    setup_url: str = ""

    @property
    def app_private_key_pem(self) -> str:
        return app_key().as_pem(private=True).decode()

    def install_app(
        self,
        installation_id: int,
        account_login: str,
        account_id: int,
        repositories: list[str],
        suspended: bool = False,
    ) -> None:
        self.installations[installation_id] = FakeInstallation(
            installation_id, account_login, account_id, [r.lower() for r in repositories], suspended
        )

    def limit_rate(
        self, calls: int, *, reset_at: datetime | None = None, retry_after: int | None = None
    ) -> None:
        self.rate_limit = RateLimit(calls, reset_at, retry_after)

    # An unwell GitHub: every answer comes this many seconds late; how many are held now.
    answer_after_seconds: float = 0.0
    answers_held: int = 0

    def add_repository(
        self, full_name: str, repository_id: int, default_branch: str = "main"
    ) -> None:
        owner = full_name.split("/")[0]
        self.repositories[full_name.lower()] = {
            "id": repository_id,
            "full_name": full_name,
            "default_branch": default_branch,
            "owner": {"login": owner},
            "private": False,
        }

    def add_issue(self, full_name: str, number: int, *, pull_request: bool = False) -> None:
        issue: dict[str, Any] = {"number": number, "state": "open", "title": f"Issue {number}"}
        if pull_request:
            issue["pull_request"] = {"url": f"/repos/{full_name}/pulls/{number}"}
        self.issues[(full_name.lower(), number)] = issue

    def authorize(self, account: FakeAccount, code_challenge: str, redirect_uri: str) -> str:
        """What GitHub does when the person clicks "Authorize": a one-time code."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = (account, code_challenge, redirect_uri)
        return code

    def reset(self) -> None:
        self.repositories.clear()
        self.issues.clear()
        self.requests.clear()
        self.codes.clear()
        self.tokens.clear()
        self.pulls.clear()
        self.comments.clear()
        self.check_runs.clear()
        self.statuses.clear()
        self.linked_issues.clear()
        self.comment_authors.clear()
        self.calls.clear()
        self.rate_limit = None
        self.installations.clear()
        # Installation tokens outlive a test, as GitHub's outlive a restart of ours: the
        # platform's token cache lasts the process, and a test must not find its first call
        # refused for a token the previous test was given.
        self.token_fetches.clear()
        self.pending_install = None
        self.setup_url = ""
        self.answer_after_seconds = 0.0

    def add_comment(self, full_name: str, number: int, body: str, author: str) -> int:
        self.comments.append((full_name.lower(), number, body))
        self.comment_authors[len(self.comments)] = author
        return len(self.comments)

    def _account_for(self, request: Request) -> FakeAccount | None:
        return self.tokens.get(_token_of(request))

    def _author_of(self, request: Request) -> str:
        if self._installation_of(_token_of(request)) is not None:
            return f"{self.app_slug}[bot]"
        account = self._account_for(request)
        return account.login if account is not None else "platform"

    def _installation_of(self, token: str) -> FakeInstallation | None:
        """The installation whose live token this is, None for any other token."""
        found = self.installation_tokens.get(token)
        if found is None or found[1] <= datetime.now(UTC):
            return None
        return self.installations.get(found[0])

    def _app_jwt_valid(self, request: Request) -> bool:
        """An RS256 JWT signed with the App's key, issued by the App, not expired."""
        try:
            token = jwt.decode(_token_of(request), app_key(), algorithms=["RS256"])
            JWTClaimsRegistry(
                iss={"essential": True, "value": self.app_id}, exp={"essential": True}
            ).validate(token.claims)
        except (JoseError, ValueError):
            return False
        return True

    def _refused(self, request: Request) -> Response | None:
        """What GitHub answers before looking at the request: a rate limit, or for an
        installation token a 401 once it expired, a 403 while its installation is suspended,
        a 404 on a repository the installation does not hold."""
        if self.rate_limit is not None and self.rate_limit.calls > 0:
            return self._rate_limited()
        token = _token_of(request)
        if token in self.installation_tokens:
            installation = self._installation_of(token)
            if installation is None:
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            if installation.suspended:
                return JSONResponse({"message": "This installation has been suspended"}, 403)
            parts = request.url.path.split("/")
            if parts[1:2] == ["repos"] and "/".join(parts[2:4]).lower() not in (
                installation.repositories
            ):
                return _not_found()
        return None

    def _rate_limited(self) -> Response:
        assert self.rate_limit is not None
        self.rate_limit.calls -= 1
        message = {"message": "API rate limit exceeded"}
        if self.rate_limit.retry_after is not None:
            headers = {"Retry-After": str(self.rate_limit.retry_after)}
            return JSONResponse(message, status_code=429, headers=headers)
        reset_at = self.rate_limit.reset_at or datetime.now(UTC) + timedelta(hours=1)
        headers = {
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset_at.timestamp())),
        }
        return JSONResponse(message, status_code=403, headers=headers)

    async def _answer(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every request: refused first if it must be, then answered, with an ETag on a GET
        that succeeded (a 304 when the client already has that body); recorded in calls."""
        response = self._refused(request) or await call_next(request)
        if request.method == "GET" and response.status_code == 200:
            response = await self._with_etag(request, response)
        token = _token_of(request)
        self.calls.append(Call(request.method, request.url.path, response.status_code, token))
        return response

    async def _with_etag(self, request: Request, response: Response) -> Response:
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        # GitHub's ETags vary with the credentials too; a hash of the body is enough here.
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers["ETag"] = etag
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, status_code=200, headers=headers)

    def _installation_json(self, installation: FakeInstallation) -> dict[str, Any]:
        return {
            "id": installation.id,
            "account": {
                "login": installation.account_login,
                "id": installation.account_id,
                "type": "Organization",
            },
            "repository_selection": "selected",
            "suspended_at": "2026-01-01T00:00:00Z" if installation.suspended else None,
            "app_slug": self.app_slug,
        }

    def _app_routes(self, app: FastAPI) -> None:
        """The GitHub App's endpoints (JWT or installation token) and its install page."""

        def bad_credentials() -> JSONResponse:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)

        @app.post("/app/installations/{installation_id}/access_tokens")
        def access_tokens(request: Request, installation_id: int) -> JSONResponse:
            if not self._app_jwt_valid(request):
                return bad_credentials()
            installation = self.installations.get(installation_id)
            if installation is None:
                return _not_found()
            if installation.suspended:
                return JSONResponse({"message": "This installation is suspended"}, 403)
            self.token_fetches[installation_id] = self.token_fetches.get(installation_id, 0) + 1
            token = "ghs_" + secrets.token_urlsafe(24)
            expires_at = datetime.now(UTC).replace(microsecond=0) + TOKEN_LIFETIME
            self.installation_tokens[token] = (installation_id, expires_at)
            stamp = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            return JSONResponse({"token": token, "expires_at": stamp}, status_code=201)

        @app.get("/app/installations/{installation_id}")
        def installation(request: Request, installation_id: int) -> JSONResponse:
            if not self._app_jwt_valid(request):
                return bad_credentials()
            found = self.installations.get(installation_id)
            return _not_found() if found is None else JSONResponse(self._installation_json(found))

        @app.get("/app/installations")
        def all_installations(request: Request) -> JSONResponse:
            if not self._app_jwt_valid(request):
                return bad_credentials()
            return JSONResponse([self._installation_json(i) for i in self.installations.values()])

        @app.get("/installation/repositories")
        def installation_repositories(request: Request, per_page: int = 30) -> JSONResponse:
            installation = self._installation_of(_token_of(request))
            if installation is None:
                return bad_credentials()
            repositories = [
                self.repositories.get(name) or {"full_name": name}
                for name in installation.repositories
            ]
            page, headers = _page_of(request, repositories, per_page)
            body = {"total_count": len(repositories), "repositories": page}
            return JSONResponse(body, headers=headers)

        @app.get("/apps/{slug}/installations/new")
        def install_page(slug: str, state: str = "") -> HTMLResponse:
            if slug != self.app_slug:
                return HTMLResponse("Not Found", status_code=404)
            return HTMLResponse(_INSTALL_PAGE.format(slug=slug, state=html.escape(state)))

        @app.post("/apps/{slug}/installations/new")
        def install(slug: str, state: str = Form("")) -> Response:
            if slug != self.app_slug or self.pending_install is None:
                return HTMLResponse("Not Found", status_code=404)
            installation_id, login, account_id, repositories = self.pending_install
            self.install_app(installation_id, login, account_id, repositories)
            query = urlencode(
                {"installation_id": installation_id, "setup_action": "install", "state": state}
            )
            return RedirectResponse(f"{self.setup_url}?{query}", status_code=303)

    def asgi(self) -> FastAPI:
        app = FastAPI()
        app.middleware("http")(self._answer)
        self._app_routes(app)

        @app.middleware("http")
        async def answer_late(request: Request, call_next: Any) -> Any:
            answer_at = time.monotonic() + self.answer_after_seconds
            self.answers_held += 1
            try:
                while time.monotonic() < answer_at:  # in steps: others are answered meanwhile
                    await asyncio.sleep(0.05)
            finally:
                self.answers_held -= 1
            return await call_next(request)

        @app.post("/login/oauth/access_token")
        def access_token(
            code: str = Form(""),
            code_verifier: str = Form(""),
            client_id: str = Form(""),
            client_secret: str = Form(""),
            redirect_uri: str = Form(""),
        ) -> JSONResponse:
            self.requests.append("oauth token")
            found = self.codes.pop(code, None)  # codes are single-use, as on GitHub
            if found is None or client_id != self.client_id or client_secret != self.client_secret:
                return JSONResponse({"error": "bad_verification_code"})
            account, challenge, expected_redirect = found
            digest = hashlib.sha256(code_verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"})
            if redirect_uri != expected_redirect:
                return JSONResponse({"error": "redirect_uri_mismatch"})
            token = secrets.token_urlsafe(20)
            self.tokens[token] = account
            return JSONResponse({"access_token": token, "token_type": "bearer", "scope": ""})

        @app.get("/user")
        def user(request: Request) -> JSONResponse:
            account = self._account_for(request)
            if account is None:
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return JSONResponse(
                {
                    "id": account.github_id,
                    "login": account.login,
                    "name": account.name,
                    "avatar_url": "",
                }
            )

        @app.get("/user/emails")
        def emails(request: Request) -> JSONResponse:
            account = self._account_for(request)
            if account is None:
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            if account.email is None:
                return JSONResponse([])
            return JSONResponse(
                [{"email": account.email, "primary": True, "verified": account.email_verified}]
            )

        @app.get("/repos/{owner}/{repo}")
        def repository(owner: str, repo: str) -> JSONResponse:
            self.requests.append(f"repo {owner}/{repo}")
            found = self.repositories.get(f"{owner}/{repo}".lower())
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        @app.get("/repos/{owner}/{repo}/pulls")
        def pull_requests(
            request: Request, owner: str, repo: str, state: str = "open", per_page: int = 30
        ) -> JSONResponse:
            """Most recently updated first, a page at a time, with GitHub's Link header."""
            page = int(request.query_params.get("page", "1"))
            self.requests.append(f"pulls {owner}/{repo} {state} page {page}")
            full = f"{owner}/{repo}".lower()
            if full not in self.repositories:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            found = [p for (name, _n), p in self.pulls.items() if name == full]
            found.sort(key=lambda p: str(p.get("updated_at") or ""), reverse=True)
            listed, headers = _page_of(request, found, per_page)
            return JSONResponse(listed, headers=headers)

        @app.get("/repos/{owner}/{repo}/pulls/{number}")
        def pull_request(owner: str, repo: str, number: int) -> JSONResponse:
            self.requests.append(f"pull {owner}/{repo}#{number}")
            found = self.pulls.get((f"{owner}/{repo}".lower(), number))
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        @app.get("/repos/{owner}/{repo}/commits/{sha}/check-runs")
        def commit_check_runs(
            request: Request, owner: str, repo: str, sha: str, per_page: int = 30
        ) -> JSONResponse:
            runs = self.check_runs.get((f"{owner}/{repo}".lower(), sha), [])
            page, headers = _page_of(request, runs, per_page)
            return JSONResponse({"total_count": len(runs), "check_runs": page}, headers=headers)

        @app.get("/repos/{owner}/{repo}/commits/{sha}/status")
        def combined_status(owner: str, repo: str, sha: str) -> JSONResponse:
            # GitHub's rule: failure if any is error/failure, pending if any is pending or
            # there are none, success otherwise.
            statuses = self.statuses.get((f"{owner}/{repo}".lower(), sha), [])
            states = {status["state"] for status in statuses}
            state = (
                "failure"
                if states & {"error", "failure"}
                else "pending"
                if not statuses or "pending" in states
                else "success"
            )
            return JSONResponse(
                {"state": state, "total_count": len(statuses), "statuses": statuses}
            )

        @app.post("/graphql")
        async def graphql(request: Request) -> JSONResponse:
            """Only the closing-issues query; GitHub's GraphQL refuses anonymous callers."""
            if not request.headers.get("authorization"):
                return JSONResponse({"message": "Requires authentication"}, status_code=401)
            variables = (await request.json())["variables"]
            full = f"{variables['owner']}/{variables['name']}".lower()
            self.requests.append(f"graphql {full}#{variables['number']}")
            if (full, variables["number"]) not in self.pulls:
                return JSONResponse({"data": {"repository": {"pullRequest": None}}})
            nodes = [
                {"number": number, "repository": {"nameWithOwner": repository}}
                for repository, number in self.linked_issues.get((full, variables["number"]), [])
            ]
            pull = {"closingIssuesReferences": {"nodes": nodes}}
            return JSONResponse({"data": {"repository": {"pullRequest": pull}}})

        @app.get("/repos/{owner}/{repo}/issues/{number}")
        def issue(owner: str, repo: str, number: int) -> JSONResponse:
            self.requests.append(f"issue {owner}/{repo}#{number}")
            found = self.issues.get((f"{owner}/{repo}".lower(), number))
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        @app.get("/repos/{owner}/{repo}/issues/{number}/comments")
        def issue_comments(
            request: Request, owner: str, repo: str, number: int, per_page: int = 30
        ) -> JSONResponse:
            full = f"{owner}/{repo}".lower()
            if (full, number) not in self.issues:
                return _not_found()
            found = [
                {"id": n, "body": body, "user": {"login": self.comment_authors.get(n, "platform")}}
                for n, (name, issue, body) in enumerate(self.comments, start=1)
                if (name, issue) == (full, number)
            ]
            page, headers = _page_of(request, found, per_page)
            return JSONResponse(page, headers=headers)

        @app.post("/repos/{owner}/{repo}/issues/{number}/comments")
        async def comment(owner: str, repo: str, number: int, request: Request) -> JSONResponse:
            if (f"{owner}/{repo}".lower(), number) not in self.issues:
                return _not_found()
            body = (await request.json())["body"]
            created = self.add_comment(f"{owner}/{repo}", number, body, self._author_of(request))
            return JSONResponse({"id": created, "body": body}, status_code=201)

        return app


_INSTALL_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Install {slug}</title><link rel="icon" href="data:,"></head>
<body>
<main>
<h1>Install {slug}</h1>
<p>Choose where to install this GitHub App.</p>
<form method="post" action="/apps/{slug}/installations/new">
<input type="hidden" name="state" value="{state}">
<button type="submit">Install</button>
</form>
</main>
</body>
</html>
"""
