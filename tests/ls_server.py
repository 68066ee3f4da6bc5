"""Servers the integration tests run as real processes: Label Studio (the
PyPI ``label-studio``, installed by ``make test`` into its own venv and named
by $KZNER_LABEL_STUDIO) and kzner's ML backend. Each listens on 127.0.0.1 on a
free port, is waited for through its /health and is stopped by its process
group, so no child outlives the tests."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    command: Sequence[str], env: dict[str, str], health: str, log_path: Path, wait_seconds: float = 300
) -> Iterator[None]:
    """``command`` running until the block ends, once ``health`` answers 200."""
    log = log_path.open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def tail() -> str:
        return log_path.read_text()[-3000:]

    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited with {process.returncode}:\n{tail()}")
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{command[0]} not healthy after {wait_seconds:.0f} s:\n{tail()}")
            time.sleep(1)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@contextmanager
def label_studio(data: Path) -> Iterator[tuple[str, str]]:
    """A fresh Label Studio with its data in ``data``: its URL and API token."""
    binary = os.environ.get("KZNER_LABEL_STUDIO")
    if not binary or not Path(binary).is_file():
        pytest.fail(
            f"$KZNER_LABEL_STUDIO must name the label-studio program (make test sets it); got {binary!r}"
        )
    port, token = free_port(), secrets.token_hex(20)
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LABEL_STUDIO_USERNAME": "annotator@example.com",
        "LABEL_STUDIO_PASSWORD": secrets.token_hex(12),
        # The ML backend under test listens on 127.0.0.1, which Label Studio refuses by default:
        # both as a backend and as the webhook it adds for one (checked whenever SSRF
        # protection is on, whatever ML_BLOCK_LOCAL_IP says).
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
        # Its 1-3 s limits on the backend's health and setup are short on a busy 2-core machine.
        "ML_CONNECTION_TIMEOUT": "10",
        "ML_TIMEOUT_HEALTH": "10",
        "ML_TIMEOUT_SETUP": "10",
    }
    command = [binary, "start", "--no-browser", "--port", str(port), "--host", url]
    command += ["--internal-host", "127.0.0.1", "--data-dir", str(data)]
    command += ["--user-token", token, "--enable-legacy-api-token", "--log-level", "WARNING"]
    with running(command, env, f"{url}/health", data / "server.log"):
        yield url, token
