"""A small GitHub REST client. The base URL is a setting: github.com, GHES or a local fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx2

from app.config import Settings

API_VERSION = "2022-11-28"


# Paging stops here: a hundred pages of a hundred closed pull requests since the work started
# is not a repository we can follow this way, and a job must end.
MAX_PAGES = 100


def _json_of(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubError("GitHub answered with something that is not JSON") from exc


def _github_time(value: object) -> datetime:
    """GitHub's ISO 8601 UTC time; a missing one sorts as the oldest."""
    if not isinstance(value, str) or not value:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GitHubError(Exception):
    """GitHub could not be reached or answered with an error we cannot act on."""


class GitHubNotFound(GitHubError):
    """The repository or issue does not exist, or is not visible to our credentials."""


# The issues a pull request will close, whether by keyword or linked by hand in its sidebar;
# only GraphQL answers this.
_CLOSING_ISSUES = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      closingIssuesReferences(first: 50) { nodes { number repository { nameWithOwner } } }
    }
  }
}
"""


def graphql_url(api_url: str) -> str:
    """github.com answers GraphQL at api.github.com/graphql; GitHub Enterprise Server at
    /api/graphql beside its REST API at /api/v3."""
    base = api_url.rstrip("/")
    return base.removesuffix("/v3") + "/graphql"


class RepositoryTokens(Protocol):
    """Where a repository's calls get their token: the installation token of the GitHub App
    installation that holds the repository, or None (the platform token, if any, is used)."""

    def for_repository(self, full_name: str) -> str | None: ...


class GitHubClient:
    def __init__(self, api_url: str, token: str = "", *, timeout: float = 10.0) -> None:
        self.has_token = bool(token)
        self._graphql_url = graphql_url(api_url)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "dev-exchange",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx2.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubClient:
        return cls(settings.github_api_url, settings.github_token.get_secret_value())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(
        self, path: str, access_token: str | None = None, *, json: dict[str, Any] | None = None
    ) -> Any:
        return _json_of(self._send(path, access_token, json=json))

    def _send(
        self, path: str, access_token: str | None = None, *, json: dict[str, Any] | None = None
    ) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
        try:
            if json is None:
                response = self._http.get(path, headers=headers)
            else:
                response = self._http.post(path, headers=headers, json=json)
        except httpx2.HTTPError as exc:
            raise GitHubError(type(exc).__name__) from exc
        if response.status_code == 404:
            raise GitHubNotFound(path)
        if response.status_code >= 400:
            raise GitHubError(f"GitHub answered {response.status_code}")
        return response

    def _get(self, path: str, access_token: str | None = None) -> dict[str, Any]:
        body = self._request(path, access_token)
        if not isinstance(body, dict):
            raise GitHubError("unexpected response shape")
        return body

    def get_as_user(self, path: str, access_token: str) -> dict[str, Any]:
        """A call made with a person's OAuth token rather than the platform's credentials."""
        return self._get(path, access_token)

    def get_list_as_user(self, path: str, access_token: str) -> list[dict[str, Any]]:
        body = self._request(path, access_token)
        if not isinstance(body, list):
            raise GitHubError("unexpected response shape")
        return [item for item in body if isinstance(item, dict)]

    def get_repository(self, full_name: str) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}")

    def get_pull_request(self, full_name: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/pulls/{number}")

    def closed_pull_requests_since(
        self, full_name: str, since: datetime
    ) -> Iterator[dict[str, Any]]:
        """The repository's closed pull requests updated since ``since``, most recent first,
        page after page (GitHub's Link header): a merge is never older than its last update,
        so none merged since then is missed, however busy the repository or long the worker
        was down."""
        path: str | None = (
            f"/repos/{full_name}/pulls?state=closed&sort=updated&direction=desc&per_page=100"
        )
        for _page in range(MAX_PAGES):
            if path is None:
                return
            response = self._send(path)
            pulls = _json_of(response)
            if not isinstance(pulls, list):
                raise GitHubError("unexpected response shape")
            for pull in pulls:
                if not isinstance(pull, dict):
                    continue
                if _github_time(pull.get("updated_at")) < since:
                    return
                yield pull
            path = (response.links.get("next") or {}).get("url")
        raise GitHubError(f"more than {MAX_PAGES} pages of closed pull requests")

    def check_runs(self, full_name: str, sha: str) -> list[dict[str, Any]]:
        runs = self._get(f"/repos/{full_name}/commits/{sha}/check-runs?per_page=100")
        return [run for run in runs.get("check_runs") or [] if isinstance(run, dict)]

    def combined_status(self, full_name: str, sha: str) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/commits/{sha}/status")

    def closing_issues(self, full_name: str, number: int) -> set[tuple[str, int]]:
        """The issues GitHub will close with this pull request, lower-cased repository names.
        GraphQL needs a token: without one, only the closing keywords count."""
        if not self.has_token:
            return set()
        owner, _, name = full_name.partition("/")
        variables = {"owner": owner, "name": name, "number": number}
        answer = self._request(
            self._graphql_url, json={"query": _CLOSING_ISSUES, "variables": variables}
        )
        try:
            pull = answer["data"]["repository"]["pullRequest"]
            nodes = pull["closingIssuesReferences"]["nodes"] if pull else []
            return {
                (str(node["repository"]["nameWithOwner"]).lower(), int(node["number"]))
                for node in nodes
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError("unexpected GraphQL answer") from exc

    def find_comment(
        self, full_name: str, number: int, marker: str, *, since: datetime
    ) -> int | None:
        """The id of a comment on the issue, updated since ``since``, that contains ``marker``."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found = self._request(
            f"/repos/{full_name}/issues/{number}/comments?since={stamp}&per_page=100"
        )
        if not isinstance(found, list):
            raise GitHubError("unexpected response shape")
        for comment in found:
            if isinstance(comment, dict) and marker in str(comment.get("body") or ""):
                return int(comment["id"])
        return None

    def get_issue(self, full_name: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/issues/{number}")

    def comment_on_issue(self, full_name: str, number: int, body: str) -> int:
        created = self._request(f"/repos/{full_name}/issues/{number}/comments", json={"body": body})
        if not isinstance(created, dict) or not isinstance(created.get("id"), int):
            raise GitHubError("unexpected response shape")
        return int(created["id"])
