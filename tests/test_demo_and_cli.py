"""The local run: the `devex` commands on a fresh SQLite file, served over real HTTP."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli import cli
from app.config import Settings
from app.demo import load_demo_data
from app.models import Opportunity, OpportunityState, Team
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parent.parent
DEVEX = [sys.executable, "-m", "app"]


def test_demo_data_covers_every_state_and_is_idempotent(db: Session, settings: Settings) -> None:
    assert load_demo_data(db, settings) > 0
    db.commit()
    assert load_demo_data(db, settings) == 0  # running it again creates nothing
    db.commit()
    assert int(db.scalar(select(func.count()).select_from(Team)) or 0) >= 3
    states = db.scalars(select(Opportunity.state)).all()
    assert len(states) >= 20
    assert set(states) == {s.value for s in OpportunityState}


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVEX_")}
    env.update(
        {
            "DEVEX_ENV": "local",
            "DEVEX_DEMO_SIGN_IN": "true",
            "DEVEX_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'devex.sqlite3'}",
        }
    )
    return env


@pytest.fixture
def served(local_env: dict[str, str]) -> Iterator[str]:
    for command in (["db", "upgrade"], ["demo-data"], ["demo-data"]):
        result = subprocess.run(
            [*DEVEX, *command],
            env=local_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert "0 new records" in result.stdout
    port = free_port()
    process = subprocess.Popen(
        [*DEVEX, "serve", "--port", str(port)],
        env=local_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{base}/healthz", timeout=1)
                break
            except httpx2.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_local_run_serves_every_entry_point_over_http(served: str) -> None:
    listing = httpx2.get(f"{served}/api/v1/opportunities").json()
    first_id = listing["items"][0]["id"]
    for path in (
        "/",
        "/opportunities",
        f"/opportunities/{first_id}",
        "/api/v1/opportunities",
        "/api/v1/openapi.json",
        "/healthz",
        "/readyz",
        "/demo-sign-in",
    ):
        response = httpx2.get(f"{served}{path}")
        assert response.status_code == 200, path
    assert httpx2.get(f"{served}/readyz").json()["status"] == "ok"


def _readyz(env: dict[str, str]) -> tuple[int, str]:
    code = (
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "with TestClient(create_app()) as c:\n"
        "    r = c.get('/readyz'); print(r.status_code, r.json().get('database', 'answers'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    status, database = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), database


def test_readyz_turns_traffic_away_until_every_migration_of_the_code_is_applied(
    local_env: dict[str, str],
) -> None:
    """A pod of a new release waits for the migration job; a pod of the release before keeps
    serving once it ran (a rollout without a 503 window): migrations are written so that the
    previous release runs against them (README, production checklist)."""
    scripts = ScriptDirectory(str(ROOT / "migrations"))
    head = scripts.get_current_head()
    assert head is not None
    before_head = scripts.get_revision(head).down_revision
    assert isinstance(before_head, str)
    subprocess.run([*DEVEX, "db", "upgrade"], env=local_env, check=True, timeout=120)
    assert _readyz(local_env) == (200, "answers")

    subprocess.run([*DEVEX, "db", "downgrade", before_head], env=local_env, check=True, timeout=120)
    assert _readyz(local_env) == (503, "migrations pending")
    subprocess.run([*DEVEX, "db", "downgrade", "base"], env=local_env, check=True, timeout=120)
    assert _readyz(local_env) == (503, "migrations pending")

    subprocess.run([*DEVEX, "db", "upgrade"], env=local_env, check=True, timeout=120)
    next_release = f"{int(head) + 1:04d}"  # the next release's migration, run before its rollout
    database = local_env["DEVEX_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (next_release,))
    assert _readyz(local_env) == (200, "answers")


def test_cli_creates_an_admin_and_a_token_that_works(local_env: dict[str, str]) -> None:
    subprocess.run([*DEVEX, "db", "upgrade"], env=local_env, check=True, timeout=120)
    admin = subprocess.run(
        [*DEVEX, "users", "create-admin", "--github-id", "9001", "--login", "root-admin"],
        env=local_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "is an administrator" in admin.stdout
    token = subprocess.run(
        [*DEVEX, "tokens", "create", "--github-id", "9001", "--scope", "read"],
        env=local_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert token.startswith("dvx_")
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "with TestClient(create_app()) as c:\n"
        "    r = c.get('/api/v1/me', headers={'authorization': 'Bearer ' + sys.argv[1]})\n"
        "    print(r.status_code, r.json()['is_admin'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, token],
        env=local_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip().endswith("200 True")
    unknown = subprocess.run(
        [*DEVEX, "tokens", "create", "--github-id", "1"],
        env=local_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert unknown.returncode == 1
    assert "sign in once first" in unknown.stderr


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["worker", "--queue", "money", "--queue", "payroll"], "'payroll' is not one of"),
        (["worker", "--concurrency", "0"], "'--concurrency': 0 is not in the range"),
        (["users", "create-admin", "--login", "someone"], "Missing option '--github-id'"),
        (["tokens", "create", "--github-id", "octocat"], "'octocat' is not a valid integer"),
        (["db", "downgrade"], "Missing argument 'REVISION'"),
    ],
)
def test_a_mistyped_command_is_refused_before_it_runs_and_says_why(
    arguments: list[str], says: str
) -> None:
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 2
    assert says in result.output
