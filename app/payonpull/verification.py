"""Pay-on-pull rule 2: never trust the payload. The pull request and the repository are fetched
again from the GitHub API, and every check below must hold; anything else puts the
opportunity on hold with a reason for an administrator, and never pays. Pure: it reads GitHub
and decides, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.github.client import GitHubClient
from app.github.webhooks import closed_issues
from app.i18n import N_
from app.models import Opportunity


@dataclass(frozen=True)
class Verdict:
    relevant: bool  # does this pull request (say it does) close the opportunity's issue?
    problems: list[str]
    evidence: dict[str, Any]


def verify_merge(
    github: GitHubClient,
    opportunity: Opportunity,
    awardee_id: int | None,
    number: int,
    *,
    claims_issue: bool = False,
    co_author_ids: frozenset[int] = frozenset(),
) -> Verdict:
    """Checks one pull request of the opportunity's repository, as the API reports it, and,
    when the opportunity asks for it, the merged commit's checks (the quality gate).
    ``claims_issue``: what GitHub sent us (a delivery, a listing) said it closes the issue.
    With co-authors sharing the payment, the author may be any one of the members (the
    awardee and the co-authors), and none of them may have merged it."""
    members = (co_author_ids | {awardee_id}) if awardee_id is not None else frozenset()
    full_name = opportunity.github_repository_full_name
    pull = github.get_pull_request(full_name, number)
    repository = github.get_repository(full_name)
    author_id = (pull.get("user") or {}).get("id")
    merger_id = (pull.get("merged_by") or {}).get("id")
    base = pull.get("base") or {}
    issue = (full_name.lower(), opportunity.github_issue_number)
    links_issue = closes_issue_of(pull.get("body"), opportunity) or issue in (
        github.closing_issues(full_name, number)
    )
    evidence = {
        "pull_request": number,
        "author_id": author_id,
        "merged_by_id": merger_id,
        "base_repository_id": (base.get("repo") or {}).get("id"),
        "base_ref": base.get("ref"),
        "default_branch": repository.get("default_branch"),
        "merged": pull.get("merged"),
    }
    # A pull request concerns the opportunity when it closes its issue, or when it is the
    # awardee's and GitHub's delivery said it closed it (an answer that now disagrees is a
    # reason to look); the awardee's work for another issue of the same repository is none
    # of this opportunity's business, and a delivery alone (forged?) moves nothing.
    relevant = links_issue or (claims_issue and author_id is not None and author_id in members)
    problems = []
    if pull.get("merged") is not True:
        problems.append(N_("the pull request is not merged"))
    if evidence["base_repository_id"] != opportunity.github_repository_id:
        problems.append(N_("the pull request is not in the opportunity's repository"))
    if base.get("ref") != repository.get("default_branch"):
        problems.append(N_("the pull request was not merged into the default branch"))
    if author_id not in members:
        problems.append(
            N_("the pull request's author is neither the awardee nor a co-author")
            if co_author_ids
            else N_("the pull request's author is not the awardee")
        )
    if not links_issue:
        problems.append(N_("the pull request does not close the opportunity's issue"))
    if merger_id is None or merger_id in members:
        problems.append(
            N_("the pull request was merged by the awardee or a co-author")
            if co_author_ids
            else N_("the pull request was merged by its author, the awardee")
        )
    if opportunity.require_passing_checks and relevant:
        checks, problem = quality_gate(github, full_name, str(pull.get("merge_commit_sha") or ""))
        evidence["checks"] = checks
        problems += [problem] if problem else []
    return Verdict(relevant, problems, evidence)


PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


def quality_gate(github: GitHubClient, full_name: str, sha: str) -> tuple[dict[str, str], str]:
    """The merged commit's check runs and commit statuses, each name with its result, and what
    stops the payment, if anything: a check that did not pass, or one still running."""
    if not sha:
        return {}, N_("the merged commit is unknown, so its checks cannot be read")
    results = {
        str(run.get("name")): str(run.get("conclusion") or run.get("status"))
        for run in github.check_runs(full_name, sha)
    }
    combined = github.combined_status(full_name, sha)
    statuses = [s for s in combined.get("statuses") or [] if isinstance(s, dict)]
    results |= {str(status.get("context")): str(status.get("state")) for status in statuses}
    failed = sorted(name for name, result in results.items() if result not in PASSING_CONCLUSIONS)
    if not results:
        return results, N_("no check ran on the merged commit")
    if failed:
        return results, N_("a required check did not pass") + ": " + ", ".join(failed)
    return results, ""


def closes_issue_of(body: Any, opportunity: Opportunity) -> bool:
    """Does this pull request text close the opportunity's issue (a closing keyword)?"""
    full_name = opportunity.github_repository_full_name
    issue = (full_name.lower(), opportunity.github_issue_number)
    return issue in closed_issues(body, full_name)
