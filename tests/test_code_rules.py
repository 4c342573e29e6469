"""Rules of the code base that a reviewer would otherwise have to remember (issue 15)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# The only waits in tests/: each polls a real process or thread for a condition, against a
# deadline read from time.monotonic(). Waiting for time to pass is never one of them: a test
# moves the clock (time_machine) instead. Keyed by file and function, with why it must wait.
REAL_PROCESS_WAITS = {
    ("support/server.py", "ThreadedServer.start"): "a uvicorn server thread starting to listen",
    ("test_demo_and_cli.py", "served"): "a `devex serve` process starting to answer",
    ("support/deployment.py", "serve"): "a web process, as the image starts it, starting to answer",
    ("test_exactly_once.py", "_wait_until_paid"): "`devex worker` processes paying the payout",
    ("test_job_queue.py", "_wait_for"): "`devex worker` processes running the queue's jobs",
    ("support/fake_github.py", "FakeGitHub.asgi.answer_late"): (
        "the fake GitHub answering late, as an unwell GitHub does"
    ),
    ("test_after_the_merge.py", "_wait_until_it_waits_for_a_lock"): (
        "PostgreSQL reporting that another thread's transaction waits for the payout's row lock"
    ),
    (
        "e2e/test_payment_journey.py",
        "test_finance_funds_a_merge_is_simulated_and_the_work_is_paid",
    ): "the served app's in-process job worker releasing the payment",
    ("e2e/test_github_app_journey.py", "wait_until"): (
        "the served app's in-process jobs reading GitHub's events and paying the work"
    ),
    ("test_database_away.py", "wait_until"): (
        "the served app answering the load's requests while PostgreSQL stops and starts again"
    ),
    ("test_database_away.py", "test_postgresql_away_for_seconds_under_load"): (
        "PostgreSQL kept stopped for the issue's five seconds: the outage itself is real time"
    ),
}


def _is_wait(call: ast.Call) -> bool:
    """time.sleep(…), asyncio.sleep(…), a bare sleep(…) imported from either, or Playwright's
    page.wait_for_timeout(…)."""
    function = call.func
    if isinstance(function, ast.Name):
        return function.id == "sleep"
    if isinstance(function, ast.Attribute):
        return function.attr == "wait_for_timeout" or (
            function.attr == "sleep"
            and isinstance(function.value, ast.Name)
            and function.value.id in {"time", "asyncio"}
        )
    return False


def _reads_the_monotonic_clock(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr == "monotonic" for node in ast.walk(function)
    )


def waits(source: str) -> Iterator[tuple[str, bool]]:
    """(qualified name of the enclosing function, whether it has a deadline) for each wait."""

    def visit(
        node: ast.AST, scope: list[str], function: ast.AST | None
    ) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = function if isinstance(child, ast.ClassDef) else child
                yield from visit(child, [*scope, child.name], inner)
                continue
            if isinstance(child, ast.Call) and _is_wait(child):
                bounded = function is not None and _reads_the_monotonic_clock(function)
                yield ".".join(scope) or "<module>", bounded
            yield from visit(child, scope, function)

    yield from visit(ast.parse(source), [], None)


def test_tests_wait_only_for_real_processes_and_always_with_a_deadline() -> None:
    found: dict[tuple[str, str], bool] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for function, bounded in waits(path.read_text()):
            found[(path.relative_to(TESTS).as_posix(), function)] = bounded
    unlisted = sorted(key for key in found if key not in REAL_PROCESS_WAITS)
    assert unlisted == [], (
        "a test waits in real time; move the clock (time_machine) or wait on a condition, or, "
        "if a real process must be waited for, list it in REAL_PROCESS_WAITS with why"
    )
    assert sorted(key for key, bounded in found.items() if not bounded) == [], (
        "a wait without a deadline (time.monotonic()) can hang the suite"
    )
    assert sorted(key for key in REAL_PROCESS_WAITS if key not in found) == [], (
        "REAL_PROCESS_WAITS lists a wait that is gone: remove its line"
    )


def test_every_kind_of_real_time_wait_is_found() -> None:
    source = '''
import asyncio, time
from time import sleep

def polls_with_a_deadline():
    deadline = time.monotonic() + 5
    time.sleep(0.1)

class Journey:
    def waits_for_time(self, page):
        page.wait_for_timeout(500)
        sleep(1)

async def naps():
    await asyncio.sleep(1)

time.sleep(2)
"""time.sleep(3) in a string is not a wait"""
'''
    assert list(waits(source)) == [
        ("polls_with_a_deadline", True),
        ("Journey.waits_for_time", False),
        ("Journey.waits_for_time", False),
        ("naps", False),
        ("<module>", False),
    ]
