"""A small GitHub REST client. The base URL is a setting: github.com, GHES or a local fake."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx2

from app.config import Settings
from app.models.base import utcnow

API_VERSION = "2022-11-28"


# Paging stops here: a hundred pages of a hundred items (closed pull requests since the work
# started, check runs, comments) is not something we can follow this way, and a job must end.
MAX_PAGES = 100


def _json_of(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubError("GitHub answered with something that is not JSON") from exc


def github_time(value: object) -> datetime:
    """GitHub's ISO 8601 UTC time; a missing one sorts as the oldest."""
    if not isinstance(value, str) or not value:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GitHubError(Exception):
    """GitHub could not be reached or answered with an error we cannot act on."""


class GitHubNotFound(GitHubError):
    """The repository or issue does not exist, or is not visible to our credentials."""


class GitHubUnauthorized(GitHubError):
    """GitHub refused the credentials (401): a revoked or expired token, a bad App JWT. The
    owner of an installation token forgets it (InstallationTokens.forget) and fetches anew."""


class GitHubRateLimited(GitHubError):
    """GitHub asks us to wait: no call with these credentials before ``retry_at`` (UTC)."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"rate limited until {retry_at:%Y-%m-%dT%H:%M:%SZ}")
        self.retry_at = retry_at


# GitHub's advice for a secondary rate limit that names no time: wait at least a minute.
SECONDARY_LIMIT_WAIT = timedelta(minutes=1)


def _retry_at(response: httpx2.Response) -> datetime | None:
    """When a 403 or 429 says we may call again; None when it is not about rate limits (a 403
    without these headers is a plain refusal)."""
    retry_after = response.headers.get("retry-after", "")
    if retry_after.isdigit():
        return utcnow() + timedelta(seconds=int(retry_after))
    reset = response.headers.get("x-ratelimit-reset", "")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    if response.status_code == 429:
        return utcnow() + SECONDARY_LIMIT_WAIT
    return None


def credential_of(token: str) -> str:
    """Who a call is made as, for the caches below: a digest, so no token is kept or logged
    as a key."""
    if not token:
        return "anonymous"
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class RateLimits:
    """Until when GitHub told each credential to wait. GitHub counts per credential, not per
    client, so every client of the process shares one (PROCESS_RATE_LIMITS): a job run, the
    next run and a web request all stop calling until then, instead of hammering."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def wait(self, credential: str, retry_at: datetime) -> None:
        with self._lock:
            now = utcnow()
            # Past waits are dropped here, so the map holds only credentials still waiting.
            self._until = {key: until for key, until in self._until.items() if until > now}
            self._until[credential] = max(retry_at, self._until.get(credential, retry_at))

    def check(self, credential: str) -> None:
        """Raises GitHubRateLimited while the credential must wait."""
        with self._lock:
            until = self._until.get(credential)
        if until is not None and until > utcnow():
            raise GitHubRateLimited(until)


@dataclass(frozen=True)
class CachedAnswer:
    etag: str
    content: bytes
    link: str  # the pages of a list go on being followed from a remembered page

    def as_response(self, request: httpx2.Request) -> httpx2.Response:
        headers = {"Link": self.link} if self.link else {}
        return httpx2.Response(200, content=self.content, headers=headers, request=request)


class EtagCache:
    """The last answer to each GET (by URL and credential) with its ETag: sent back as
    If-None-Match, a 304 answers with the remembered body. GitHub does not count a 304 made
    with an Authorization header against the rate limit. Bounded: the oldest used go first
    past ``max_bytes`` of bodies."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[tuple[str, str], CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> CachedAnswer | None:
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], answer: CachedAnswer) -> None:
        if len(answer.content) > self.max_bytes:
            return
        with self._lock:
            replaced = self._answers.pop(key, None)
            self._bytes -= len(replaced.content) if replaced else 0
            self._answers[key] = answer
            self._bytes += len(answer.content)
            while self._bytes > self.max_bytes:
                _key, oldest = self._answers.popitem(last=False)
                self._bytes -= len(oldest.content)

    def __len__(self) -> int:
        return len(self._answers)


# Shared by the clients of the process: job runs make a client each, and the second run's
# conditional requests need the first run's ETags.
PROCESS_ETAGS = EtagCache()
PROCESS_RATE_LIMITS = RateLimits()


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

    def refused(self, token: str) -> None:
        """GitHub refused the token (401: revoked or expired early): not to be used again."""


class GitHubClient:
    """Calls about a repository carry its installation token when ``tokens`` has one (the
    GitHub App installed on it), else the platform token (``token``, may be empty: anonymous).
    ``etags=None`` turns conditional requests off."""

    def __init__(
        self,
        api_url: str,
        token: str = "",
        *,
        tokens: RepositoryTokens | None = None,
        etags: EtagCache | None = PROCESS_ETAGS,
        rate_limits: RateLimits = PROCESS_RATE_LIMITS,
        timeout: float = 10.0,
    ) -> None:
        self._token = token
        self._tokens = tokens
        self._etags = etags
        self._rate_limits = rate_limits
        self._graphql_url = graphql_url(api_url)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "dev-exchange",
        }
        self._http = httpx2.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, tokens: RepositoryTokens | None = None
    ) -> GitHubClient:
        return cls(settings.github_api_url, settings.github_token.get_secret_value(), tokens=tokens)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _token_for(self, full_name: str) -> str:
        installation = self._tokens.for_repository(full_name) if self._tokens else None
        return installation or self._token

    def _send(
        self, path: str, token: str, *, json: dict[str, Any] | None = None, remember: bool = True
    ) -> httpx2.Response:
        """One call made as ``token`` ("" for anonymous). A GET is conditional when there is
        an ETag cache and ``remember``; a rate limit is remembered for the credential."""
        credential = credential_of(token)
        self._rate_limits.check(credential)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        method = "GET" if json is None else "POST"
        request = self._http.build_request(method, path, headers=headers, json=json)
        etags = self._etags if method == "GET" and remember else None
        key = (str(request.url), credential)
        remembered = etags.get(key) if etags is not None else None
        if remembered is not None:
            request.headers["If-None-Match"] = remembered.etag
        try:
            response = self._http.send(request)
        except httpx2.HTTPError as exc:
            raise GitHubError(type(exc).__name__) from exc
        if response.status_code == 304 and remembered is not None:
            return remembered.as_response(request)
        self._raise_for_status(response, token, path)
        etag = response.headers.get("etag")
        if etags is not None and etag:
            etags.put(key, CachedAnswer(etag, response.content, response.headers.get("link", "")))
        return response

    def _raise_for_status(self, response: httpx2.Response, token: str, path: str) -> None:
        status = response.status_code
        if status == 404:
            raise GitHubNotFound(path.partition("?")[0])
        if status == 401:
            if self._tokens is not None and token and token != self._token:
                self._tokens.refused(token)  # the next call fetches the installation a new one
            raise GitHubUnauthorized(path.partition("?")[0])
        if status in (403, 429) and (retry_at := _retry_at(response)) is not None:
            self._rate_limits.wait(credential_of(token), retry_at)
            raise GitHubRateLimited(retry_at)
        if status >= 400:
            raise GitHubError(f"GitHub answered {status}")

    def _get(self, path: str, token: str) -> dict[str, Any]:
        body = _json_of(self._send(path, token))
        if not isinstance(body, dict):
            raise GitHubError("unexpected response shape")
        return body

    def _items(self, path: str, token: str, key: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page (GitHub's Link header); ``key`` names the list
        when the answer is an object (check runs, an installation's repositories)."""
        following: str | None = path
        for _page in range(MAX_PAGES):
            if following is None:
                return
            response = self._send(following, token)
            body = _json_of(response)
            items = body.get(key) if key is not None and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise GitHubError("unexpected response shape")
            yield from (item for item in items if isinstance(item, dict))
            following = (response.links.get("next") or {}).get("url")
        raise GitHubError(f"more than {MAX_PAGES} pages of {path.partition('?')[0]}")

    def get_as(self, path: str, token: str) -> dict[str, Any]:
        """A call made with other credentials than the platform's: a person's OAuth token,
        the GitHub App's JWT, an installation token. Not remembered for ETags."""
        body = _json_of(self._send(path, token, remember=False))
        if not isinstance(body, dict):
            raise GitHubError("unexpected response shape")
        return body

    def get_list_as(self, path: str, token: str) -> list[dict[str, Any]]:
        body = _json_of(self._send(path, token, remember=False))
        if not isinstance(body, list):
            raise GitHubError("unexpected response shape")
        return [item for item in body if isinstance(item, dict)]

    def post_as(self, path: str, token: str, json: dict[str, Any]) -> dict[str, Any]:
        body = _json_of(self._send(path, token, json=json))
        if not isinstance(body, dict):
            raise GitHubError("unexpected response shape")
        return body

    def items_as(self, path: str, token: str, key: str | None = None) -> list[dict[str, Any]]:
        """Every page of a list, made with other credentials (see get_as)."""
        return list(self._items(path, token, key))

    def get_repository(self, full_name: str) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}", self._token_for(full_name))

    def get_pull_request(self, full_name: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/pulls/{number}", self._token_for(full_name))

    def closed_pull_requests_since(
        self, full_name: str, since: datetime
    ) -> Iterator[dict[str, Any]]:
        """The repository's closed pull requests updated since ``since``, most recent first,
        page after page: a merge is never older than its last update, so none merged since
        then is missed, however busy the repository or long the worker was down."""
        path = f"/repos/{full_name}/pulls?state=closed&sort=updated&direction=desc&per_page=100"
        for pull in self._items(path, self._token_for(full_name)):
            if github_time(pull.get("updated_at")) < since:
                return
            yield pull

    def check_runs(self, full_name: str, sha: str) -> list[dict[str, Any]]:
        path = f"/repos/{full_name}/commits/{sha}/check-runs?per_page=100"
        return list(self._items(path, self._token_for(full_name), "check_runs"))

    def combined_status(self, full_name: str, sha: str) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/commits/{sha}/status", self._token_for(full_name))

    def closing_issues(self, full_name: str, number: int) -> set[tuple[str, int]]:
        """The issues GitHub will close with this pull request, lower-cased repository names.
        GraphQL needs a token (the installation's or the platform's): without one, only the
        closing keywords count."""
        token = self._token_for(full_name)
        if not token:
            return set()
        owner, _, name = full_name.partition("/")
        variables = {"owner": owner, "name": name, "number": number}
        answer = self.post_as(
            self._graphql_url, token, {"query": _CLOSING_ISSUES, "variables": variables}
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
        """The id of a comment on the issue, updated since ``since``, that contains ``marker``
        (on any page)."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = f"/repos/{full_name}/issues/{number}/comments?since={stamp}&per_page=100"
        for comment in self._items(path, self._token_for(full_name)):
            if marker in str(comment.get("body") or ""):
                return int(comment["id"])
        return None

    def get_issue(self, full_name: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{full_name}/issues/{number}", self._token_for(full_name))

    def comment_on_issue(self, full_name: str, number: int, body: str) -> int:
        path = f"/repos/{full_name}/issues/{number}/comments"
        created = self.post_as(path, self._token_for(full_name), {"body": body})
        if not isinstance(created.get("id"), int):
            raise GitHubError("unexpected response shape")
        return int(created["id"])
