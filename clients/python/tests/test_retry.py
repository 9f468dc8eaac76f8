"""503 with Retry-After, against a tiny local stub (the real server is hard to drive into a full queue on cue)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List, Tuple

import pytest

import initlab

JOB = {
    "id": "0f0e0d0c-0b0a-4909-8807-060504030201",
    "status": "queued",
    "spec": {"depth": 2, "width": 4, "batch": 2, "init": {"name": "zeros"}, "activation": {"name": "relu"}},
    "progress": {"layers_done": 0, "layers_total": 4},
    "attempt": 1,
    "created_at": "2026-12-06T00:00:00.000Z",
}


class Stub:
    """Answers POST /v1/experiments with ``failures`` × 503 (Retry-After: ``retry_after``), then 202. With
    ``drop``, the failures are connections closed without an answer instead."""

    def __init__(self, failures: int, retry_after: str, drop: bool = False) -> None:
        self.failures = failures
        self.drop = drop
        self.retry_after = retry_after
        self.calls: List[Tuple[float, dict, bytes]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stub.calls.append((time.monotonic(), dict(self.headers), body))
                if len(stub.calls) <= stub.failures and stub.drop:
                    self.close_connection = True  # no answer at all: http.client sees RemoteDisconnected
                    return
                if len(stub.calls) <= stub.failures:
                    problem = {
                        "type": "urn:initlab:problem:queue_full",
                        "title": "Queue full",
                        "status": 503,
                        "detail": "The queue is full; retry later.",
                        "instance": "/v1/experiments",
                        "code": "queue_full",
                        "request_id": f"stub{len(stub.calls)}",
                    }
                    self._send(503, "application/problem+json", problem, {"Retry-After": stub.retry_after})
                else:
                    self._send(202, "application/json", JOB, {"Location": f"/v1/experiments/{JOB['id']}"})

            def _send(self, status: int, ctype: str, obj: dict, headers: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub_factory() -> Iterator:
    stubs: List[Stub] = []

    def make(failures: int, retry_after: str, drop: bool = False) -> Stub:
        stubs.append(Stub(failures, retry_after, drop))
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()


def test_503_is_retried_after_retry_after_with_the_same_key(stub_factory) -> None:  # type: ignore[no-untyped-def]
    stub = stub_factory(failures=2, retry_after="1")
    exp = initlab.Client(stub.url, token="t" * 20).submit(depth=2, width=4, batch=2, init="zeros", activation="relu")
    assert exp.id == JOB["id"]
    assert len(stub.calls) == 3
    keys = {headers["Idempotency-Key"] for _, headers, _ in stub.calls}
    assert len(keys) == 1, "every retry must carry the first attempt's key"
    uuid.UUID(keys.pop())
    assert len({body for _, _, body in stub.calls}) == 1
    assert all(headers["Authorization"] == "Bearer " + "t" * 20 for _, headers, _ in stub.calls)
    gaps = [b[0] - a[0] for a, b in zip(stub.calls, stub.calls[1:])]
    assert all(gap >= 0.95 for gap in gaps), gaps  # Retry-After: 1 honoured
    assert all(gap < 5 for gap in gaps), gaps


def test_503_retries_are_bounded(stub_factory) -> None:  # type: ignore[no-untyped-def]
    stub = stub_factory(failures=100, retry_after="0")
    client = initlab.Client(stub.url, max_retries=2)
    with pytest.raises(initlab.InitLabError) as info:
        client.submit(depth=2, width=4, batch=2, init="zeros", activation="relu")
    assert len(stub.calls) == 3  # the first attempt and two retries
    assert info.value.status == 503
    assert info.value.code == "queue_full"
    assert info.value.retry_after == 0


def test_a_retry_after_beyond_the_budget_raises_at_once(stub_factory) -> None:  # type: ignore[no-untyped-def]
    stub = stub_factory(failures=100, retry_after="120")
    client = initlab.Client(stub.url, max_retry_wait=5)
    started = time.monotonic()
    with pytest.raises(initlab.InitLabError) as info:
        client.submit(depth=2, width=4, batch=2, init="zeros", activation="relu")
    assert time.monotonic() - started < 2
    assert len(stub.calls) == 1
    assert info.value.retry_after == 120


def test_a_dropped_connection_is_retried_with_the_same_key(stub_factory) -> None:  # type: ignore[no-untyped-def]
    stub = stub_factory(failures=1, retry_after="0", drop=True)
    exp = initlab.Client(stub.url).submit(depth=2, width=4, batch=2, init="zeros", activation="relu")
    assert exp.id == JOB["id"]
    assert len(stub.calls) == 2
    assert stub.calls[0][1]["Idempotency-Key"] == stub.calls[1][1]["Idempotency-Key"]


def test_a_sweep_is_not_resent_after_a_dropped_connection(stub_factory) -> None:  # type: ignore[no-untyped-def]
    """POST /v1/sweeps takes no Idempotency-Key: the first request may have created the sweep."""
    stub = stub_factory(failures=1, retry_after="0", drop=True)
    with pytest.raises(ConnectionError):
        initlab.Client(stub.url).sweep({"seed": [1, 2]}, depth=2, width=4, batch=2, init="zeros", activation="relu")
    assert len(stub.calls) == 1


def test_retry_after_as_an_http_date() -> None:
    from initlab._http import parse_retry_after

    assert parse_retry_after("7") == 7
    assert parse_retry_after("Sun, 06 Dec 2026 00:00:10 GMT", now=1796515200.0) == pytest.approx(10)
    assert parse_retry_after("soon") is None
