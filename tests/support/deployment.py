"""The image's Dockerfile as tests read it, and the app's processes started as the image starts
them: a test that runs a web process runs the one production runs (its interpreter options
included), not a variant of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from app.config import Settings
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

Stage = list[tuple[str, str]]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def stages() -> list[Stage]:
    """The build stages, each from its FROM; what comes before the first FROM is dropped."""
    found: list[Stage] = []
    for instruction, arguments in dockerfile():
        if instruction == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction, arguments))
    return found


def arguments(stage: Stage, instruction: str) -> list[str]:
    return [given for name, given in stage if name == instruction]


def image_command() -> list[str]:
    """The image's CMD: the web process."""
    [command] = arguments(stages()[-1], "CMD")
    parsed: list[str] = json.loads(command)
    return parsed


def as_devex(command: list[str]) -> list[str]:
    """A deployment's command as `devex …`: `python [options] -m app …` is the same CLI."""
    if command[0] == "python" and "-m" in command:
        module_at = command.index("-m") + 1
        if command[module_at] == "app":
            return ["devex", *command[module_at + 1 :]]
    return command


def environment(settings: Settings) -> dict[str, str]:
    """A child process's environment: the test's settings as DEVEX_ variables."""
    values = {
        "ENV": "test",
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "GITHUB_API_URL": settings.github_api_url,
        "GITHUB_WEBHOOK_SECRET": settings.github_webhook_secret.get_secret_value(),
        "STRIPE_SECRET_KEY": settings.stripe_secret_key.get_secret_value(),
        "STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret.get_secret_value(),
        "STRIPE_API_BASE": settings.stripe_api_base,
    }
    return {**os.environ, **{f"DEVEX_{k}": v for k, v in values.items()}}


def web_command(port: int, interpreter: str = sys.executable) -> list[str]:
    """The image's web command on a loopback port, run by this interpreter (or another)."""
    image_interpreter, *rest = image_command()
    assert image_interpreter == "python", "the image's CMD no longer starts the interpreter itself"
    rest[rest.index("--host") + 1] = "127.0.0.1"
    rest[rest.index("--port") + 1] = str(port)
    return [interpreter, *rest]


def serve(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    """A web process as the image starts it, with the test's settings, once it answers."""
    port = free_port()
    process = subprocess.Popen(web_command(port), cwd=ROOT, env=environment(settings))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx2.get(f"{url}/healthz", timeout=5)
            return process, url
        except httpx2.TransportError:
            assert process.poll() is None, "the web process stopped"
            assert time.monotonic() < deadline, "the web process did not start"
            time.sleep(0.1)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=120)
