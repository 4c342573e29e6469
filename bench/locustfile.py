"""The people bench/load.py plays, one user class per scenario; locust runs them headless.

Each simulated person sends a request as soon as the last one is answered (a closed loop at a
fixed number of users). bench/load.py names the class to run and passes what it needs in
BENCH_LOAD_* variables, and reads back what this file writes when locust quits: each request's
start time, duration, name and outcome, so that it drops the warm-up and computes the figures
over exactly the window it measures. Requests named "setup: ..." (signing in) are written too,
and left out of the figures.

Runs inside locust's gevent-patched process, so it imports nothing of the app.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import uuid
from typing import Any

from locust import FastHttpUser, events, task

OUTPUT = os.environ.get("BENCH_LOAD_OUTPUT", "")
OPPORTUNITIES = [int(n) for n in os.environ.get("BENCH_LOAD_OPPORTUNITIES", "").split()]
OPEN_OPPORTUNITIES = [int(n) for n in os.environ.get("BENCH_LOAD_OPEN", "").split()]
DEVELOPERS = [int(n) for n in os.environ.get("BENCH_LOAD_DEVELOPERS", "").split()]
WORDS = os.environ.get("BENCH_LOAD_WORDS", "").split()
WEBHOOK_SECRET = os.environ.get("BENCH_LOAD_WEBHOOK_SECRET", "").encode()
PAD = "x" * 2000
CSRF_INPUT = re.compile(r'name="csrftoken" value="([^"]+)"')

_requests: list[tuple[float, float, str, bool]] = []


def _record(
    name: str, response_time: float, exception: BaseException | None, start_time: float, **_: Any
) -> None:
    _requests.append((start_time, response_time, name, exception is None))


def _write(**_: Any) -> None:
    if OUTPUT:
        with open(OUTPUT, "w", encoding="utf-8") as out:
            json.dump(_requests, out)


# locust's event hooks carry no type hints.
events.request.add_listener(_record)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write)  # type: ignore[no-untyped-call]


# Visitors read in English and in French in turn: a web process serves both languages.
_LANGUAGES = itertools.cycle(["en-CA,en;q=0.8", "fr-CA,fr;q=0.8"])


class Browse(FastHttpUser):
    """A visitor: the home page, the list of opportunities, one opportunity."""

    def on_start(self) -> None:
        self.language = {"Accept-Language": next(_LANGUAGES)}

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="home", headers=self.language)

    @task(2)
    def listing(self) -> None:
        self.client.get("/opportunities", name="list", headers=self.language)

    @task(3)
    def opportunity(self) -> None:
        self.client.get(
            f"/opportunities/{random.choice(OPPORTUNITIES)}",
            name="opportunity",
            headers=self.language,
        )


class Search(FastHttpUser):
    """A visitor searching the list for a word found in about 1.5% of opportunities."""

    @task
    def search(self) -> None:
        self.client.get(f"/opportunities?q={random.choice(WORDS)}", name="search")


class SignInPage(FastHttpUser):
    """A visitor opening the sign-in page (the sign-in itself goes to GitHub)."""

    @task
    def sign_in_page(self) -> None:
        self.client.get("/sign-in", name="sign-in page")


class Propose(FastHttpUser):
    """A signed-in developer (each user a different one) opening the proposal form of an open
    opportunity and submitting it; submitting again updates the same proposal."""

    _next_developer = itertools.count()

    def on_start(self) -> None:
        developer = DEVELOPERS[next(Propose._next_developer) % len(DEVELOPERS)]
        page = self.client.get("/demo-sign-in", name="setup: sign-in form")
        self._post(
            "/demo-sign-in",
            {"user_id": str(developer), "next": "/", "csrftoken": _csrf(page.text)},
            name="setup: sign in",
        )

    def _post(self, path: str, data: dict[str, str], name: str) -> None:
        with self.client.post(
            path, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 303:  # post, redirect, get: anything else is a refusal
                response.failure(f"{response.status_code} instead of 303")

    @task
    def submit_proposal(self) -> None:
        path = f"/opportunities/{random.choice(OPEN_OPPORTUNITIES)}/proposal"
        form = self.client.get(path, name="proposal form")
        data = {
            "approach": "Reproduce the problem in a test, fix it, document the change.",
            "experience": "Five years of Python and accessible web forms.",
            "links": "https://github.com/example",
            "price": "50.00",
            "delivery_date": "",
            "accept_terms": "on",
            "attest_eligibility": "on",
            "action": "submit",
            "csrftoken": _csrf(form.text),
        }
        self._post(path, data, name="proposal submit")


class WebhookStorm(FastHttpUser):
    """GitHub delivering signed webhooks, each with its own delivery id."""

    @task
    def delivery(self) -> None:
        # About the size of bench/webhooks.py's deliveries; JSON is ASCII, so the text is the
        # bytes signed.
        body = json.dumps({"action": "opened", "number": random.randrange(1, 10**6), "pad": PAD})
        signature = hmac.new(WEBHOOK_SECRET, body.encode(), hashlib.sha256).hexdigest()
        self.client.post(
            "/webhooks/github",
            data=body,
            name="webhook ack",
            headers={
                "x-github-delivery": str(uuid.uuid4()),
                "x-github-event": "pull_request",
                "x-hub-signature-256": f"sha256={signature}",
                "content-type": "application/json",
            },
        )


def _csrf(html: str | None) -> str:
    match = CSRF_INPUT.search(html or "")
    return match.group(1) if match else ""
