"""The test suite's own PostgreSQL is thrown away however the run ends."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
A_TEST_THAT_WAITS = """
import signal

def test_waits_until_stopped(postgres):
    print("POSTGRES", postgres.port, postgres.root, flush=True)
    signal.pause()
"""


def test_a_run_stopped_with_sigterm_stops_its_postgresql(tmp_path: Path) -> None:
    test_file = tmp_path / "test_waits.py"
    test_file.write_text(A_TEST_THAT_WAITS)
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-p", "tests.conftest", str(test_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert run.stdout is not None
    # Were the line never to come, the run would wait for its signal for ever: bound it.
    guard = threading.Timer(300, run.kill)
    guard.start()
    seen = []
    for line in run.stdout:  # ends if the run ends before its PostgreSQL is up
        seen.append(line)
        if started := re.search(r"POSTGRES (\d+) (\S+)", line):
            break
    else:
        pytest.fail("".join(seen))
    guard.cancel()
    port, root = started.groups()
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=120)
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    assert not Path(root).exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
