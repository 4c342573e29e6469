"""A local fake of GitHub (REST API and OAuth with PKCE), served over HTTP so our real client
code, Authlib included, runs against it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse


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
        self.answer_after_seconds = 0.0

    def _account_for(self, request: Request) -> FakeAccount | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None

    def asgi(self) -> FastAPI:
        app = FastAPI()

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
            per_page = min(per_page, 100)
            start = (page - 1) * per_page
            headers = {}
            if start + per_page < len(found):
                following = request.url.include_query_params(page=page + 1)
                headers["Link"] = f'<{following}>; rel="next"'
            return JSONResponse(found[start : start + per_page], headers=headers)

        @app.get("/repos/{owner}/{repo}/pulls/{number}")
        def pull_request(owner: str, repo: str, number: int) -> JSONResponse:
            self.requests.append(f"pull {owner}/{repo}#{number}")
            found = self.pulls.get((f"{owner}/{repo}".lower(), number))
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        @app.get("/repos/{owner}/{repo}/commits/{sha}/check-runs")
        def commit_check_runs(owner: str, repo: str, sha: str) -> JSONResponse:
            runs = self.check_runs.get((f"{owner}/{repo}".lower(), sha), [])
            return JSONResponse({"total_count": len(runs), "check_runs": runs})

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
        def issue_comments(owner: str, repo: str, number: int) -> JSONResponse:
            full = f"{owner}/{repo}".lower()
            if (full, number) not in self.issues:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(
                [
                    {"id": n, "body": body}
                    for n, (name, issue, body) in enumerate(self.comments, start=1)
                    if (name, issue) == (full, number)
                ]
            )

        @app.post("/repos/{owner}/{repo}/issues/{number}/comments")
        async def comment(owner: str, repo: str, number: int, request: Request) -> JSONResponse:
            if (f"{owner}/{repo}".lower(), number) not in self.issues:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            body = (await request.json())["body"]
            self.comments.append((f"{owner}/{repo}".lower(), number, body))
            return JSONResponse({"id": len(self.comments), "body": body}, status_code=201)

        return app
