"""Fixtures: the real server binary on a free loopback port with a temporary database and a bearer token.

The binary comes from ``INITLAB_BIN`` (scripts/python-client-tests.sh sets it; scripts/test passes the one it
built). Without it, ``.build/debug/initlab`` at the repository root is used when present.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

import initlab

REPO = Path(__file__).resolve().parents[3]
TOKEN = "pyclient-test-token-0123456789abcdef"
START_DEADLINE = 20.0


@dataclass
class Server:
    url: str
    token: str
    process: subprocess.Popen
    workdir: Path

    def stderr_tail(self) -> str:
        try:
            return (self.workdir / "stderr").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _binary() -> str:
    path = os.environ.get("INITLAB_BIN") or str(REPO / ".build" / "debug" / "initlab")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"no server binary at {path}: set INITLAB_BIN to the built initlab executable", pytrace=False)
    return path


@contextlib.contextmanager
def running_server(*extra_args: str) -> Iterator[Server]:
    """Starts the binary on a free loopback port (printed as `listening on HOST:PORT`), waits for /readyz, and
    stops it (SIGTERM, then SIGKILL after 10 s) at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="initlab-pyclient-"))
    (workdir / "no-mnist").mkdir()
    stdout = open(workdir / "stdout", "wb")
    stderr = open(workdir / "stderr", "wb")
    # One worker, so a long experiment keeps the next one queued (the cancel tests rely on it). Datasets: an
    # empty mirror folder, so nothing ever reaches for the network.
    process = subprocess.Popen(
        [
            _binary(), "serve",
            "--host", "127.0.0.1",
            "--port", "0",
            "--database", str(workdir / "db.sqlite"),
            "--cache-dir", str(workdir / "cache"),
            "--dataset-mirror", str(workdir / "no-mnist"),
            "--token", TOKEN,
            "--workers", "1",
            "--log-level", "warning",
            *extra_args,
        ],
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
    )
    srv = None
    try:
        deadline = time.monotonic() + START_DEADLINE
        port = None
        while port is None:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{(workdir / 'stderr').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("server did not print its port in time")
            match = re.search(rb"listening on [^\s]*:(\d+)", (workdir / "stdout").read_bytes())
            if match:
                port = int(match.group(1))
            else:
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready (GET /readyz) in time")
            time.sleep(0.05)
        srv = Server(url, TOKEN, process, workdir)
        yield srv
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        stdout.close()
        stderr.close()
        if srv is not None and process.returncode not in (0, -15):
            print(f"server exit status {process.returncode}; stderr:\n{srv.stderr_tail()}")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> initlab.Client:
    return initlab.Client(server.url, token=server.token)


#: A small init-time experiment: runs in milliseconds.
SMALL = {"depth": 6, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu"}

#: A training run on the synthetic teacher task, small enough for well under a second.
TINY_TRAINING = {
    "depth": 2,
    "width": 16,
    "batch": 16,
    "init": "kaiming_normal",
    "activation": "relu",
    "train": {"dataset": "teacher", "steps": 20, "eval_every": 5, "stats_every": 10, "validation_size": 100},
}

#: Big enough to keep the single worker busy for seconds (cancelled by the tests long before it ends).
BLOCKER = {"depth": 200, "width": 1024, "batch": 1024, "init": "kaiming_normal", "activation": "relu"}


def pytest_sessionstart(session: pytest.Session) -> None:
    """The tests import the installed package (so that packaging is tested too); make sure it is this tree's."""
    installed = Path(initlab.__file__).resolve().parent
    source = Path(__file__).resolve().parents[1] / "src" / "initlab"
    if installed == source:
        return
    stale = sorted(
        p.name
        for p in source.iterdir()
        if p.is_file() and (not (installed / p.name).is_file() or (installed / p.name).read_bytes() != p.read_bytes())
    )
    if stale:
        pytest.exit(
            f"the installed initlab ({installed}) differs from clients/python/src in {', '.join(stale)}: "
            "pip install ./clients/python (scripts/python-client-tests.sh does)",
            returncode=2,
        )
