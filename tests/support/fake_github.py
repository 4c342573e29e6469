"""A local fake of the GitHub REST API, served over HTTP so our real client code runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse


@dataclass
class FakeGitHub:
    repositories: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

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

    def reset(self) -> None:
        self.repositories.clear()
        self.issues.clear()
        self.requests.clear()

    def asgi(self) -> FastAPI:
        app = FastAPI()

        @app.get("/repos/{owner}/{repo}")
        def repository(owner: str, repo: str) -> JSONResponse:
            self.requests.append(f"repo {owner}/{repo}")
            found = self.repositories.get(f"{owner}/{repo}".lower())
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        @app.get("/repos/{owner}/{repo}/issues/{number}")
        def issue(owner: str, repo: str, number: int) -> JSONResponse:
            self.requests.append(f"issue {owner}/{repo}#{number}")
            found = self.issues.get((f"{owner}/{repo}".lower(), number))
            if found is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(found)

        return app
