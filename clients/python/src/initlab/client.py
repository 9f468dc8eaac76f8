"""The client: submit experiments and sweeps, list jobs, read the catalog."""

from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator, Mapping, Optional, cast

from ._http import Transport
from ._routes import ROUTES
from .experiment import Experiment
from .sweep import Sweep
from .types import ExperimentResult, JobList, Readiness, SchemeCatalog

DEFAULT_URL = "http://127.0.0.1:8080"


class Client:
    """A connection to one InitLab server.

    ``token`` (else the ``INITLAB_TOKEN`` environment variable) is sent as ``Authorization: Bearer``; a server
    bound to anything but loopback requires it on every POST. ``timeout`` bounds each request (a long-poll
    adds its wait); ``max_retries`` and ``max_retry_wait`` bound the retries of requests that are safe to repeat
    (503/429 honouring Retry-After, and broken connections); ``long_poll`` is the most seconds one ``?wait=``
    request asks the server to hold (≤ 60, the server's maximum).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        token: Optional[str] = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_retry_wait: float = 60.0,
        long_poll: int = 30,
    ) -> None:
        if token is None:
            token = os.environ.get("INITLAB_TOKEN") or None
        self._transport = Transport(
            base_url, token, timeout=timeout, max_retries=max_retries, max_retry_wait=max_retry_wait
        )
        self.long_poll = long_poll

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"initlab.Client({self.base_url!r})"

    # ---- experiments ----

    def submit(
        self, spec: Optional[Mapping[str, Any]] = None, *, idempotency_key: Optional[str] = None, **fields: Any
    ) -> Experiment:
        """Validates, stores and queues an experiment; returns its handle at once.

        The spec is a dict (``spec``), keyword fields, or both (the keywords win): ``submit(depth=50,
        width=256, batch=256, init="kaiming_normal", activation="relu")``. Every submission carries an
        ``Idempotency-Key`` (a fresh UUID unless ``idempotency_key`` is given), so the retries of a 503 (queue
        full, honouring Retry-After) or of a dropped connection can never queue the experiment twice. An invalid
        spec raises :class:`InitLabError` 422 whose ``errors`` point at the fields.
        """
        body: Dict[str, Any] = dict(spec or {})
        body.update(fields)
        key = idempotency_key or str(uuid.uuid4())
        resp = self._transport.request(
            "POST", ROUTES["submit"].path, body=body, headers={"Idempotency-Key": key}, retry=True, expect=(202,)
        )
        job = resp.json()
        return Experiment(self, job["id"], job, resp.header("ETag"))

    def run(
        self, spec: Optional[Mapping[str, Any]] = None, *, timeout: Optional[float] = None, **fields: Any
    ) -> ExperimentResult:
        """Submits, waits (long-poll) and returns the result dict. A failed or cancelled run raises
        :class:`InitLabError` (409, code ``failed`` or ``cancelled``); ``timeout`` raises WaitTimeout."""
        return self.submit(spec, **fields).wait(timeout).result()

    def experiment(self, id: str) -> Experiment:
        """A handle on an existing experiment (no request until you use it)."""
        return Experiment(self, id)

    def pages(self, status: Optional[str] = None, *, page_size: Optional[int] = None) -> Iterator[JobList]:
        """Every page of ``GET /v1/experiments``, newest first, following ``next_page_token`` to the end."""
        token: Optional[str] = None
        while True:
            query = {"status": status, "page_size": page_size, "page_token": token}
            page: JobList = self._transport.request("GET", ROUTES["list"].path, query=query, retry=True).json()
            yield page
            token = page.get("next_page_token")
            if not token:
                return

    def experiments(self, status: Optional[str] = None, *, page_size: Optional[int] = None) -> Iterator[Experiment]:
        """Every experiment (optionally only those with ``status``), newest first, across all pages."""
        for page in self.pages(status, page_size=page_size):
            for job in page["experiments"]:
                yield Experiment(self, job["id"], job)

    # ---- sweeps ----

    def sweep(
        self, grid: Mapping[str, Any], base: Optional[Mapping[str, Any]] = None, **base_fields: Any
    ) -> Sweep:
        """Starts a sweep: one experiment per combination (cartesian product) of the varied values.

        ``grid`` is either the whole request, ``{"base": spec, "vary": {...}}``, or just the ``vary`` part, with
        the base spec as ``base`` and/or keyword fields: ``client.sweep({"init": ["xavier_normal",
        "kaiming_normal"], "seed": [1, 2]}, depth=30, width=128, batch=64, activation="relu")``. Varied keys:
        init, activation, width, depth, seed, and for a training run (a base with train) lr, optimizer and steps.
        The server validates the whole sweep before queuing anything, so a
        503 (no room in the queue) is retried; a dropped connection is not, since the route takes no
        Idempotency-Key and the sweep may have been created.
        """
        if set(grid) == {"base", "vary"} and base is None and not base_fields:
            body: Dict[str, Any] = {"base": dict(grid["base"]), "vary": dict(grid["vary"])}
        else:
            spec: Dict[str, Any] = dict(base or {})
            spec.update(base_fields)
            body = {"base": spec, "vary": dict(grid)}
        # No Idempotency-Key on this route: a 503 is retried (the server refused the whole sweep before queuing
        # any of it), a broken connection is not (the sweep may exist; retrying could make a second one).
        resp = self._transport.request(
            "POST", ROUTES["create_sweep"].path, body=body, retry=True, retry_connection_errors=False, expect=(201,)
        )
        return Sweep(self, resp.json())

    def get_sweep(self, id: str) -> Sweep:
        """An existing sweep."""
        resp = self._transport.request("GET", ROUTES["sweep"].format(id=id), retry=True)
        return Sweep(self, resp.json())

    # ---- catalog and operations ----

    def schemes(self) -> SchemeCatalog:
        """Every initializer and activation with its parameters and formula."""
        return cast(SchemeCatalog, self._transport.request("GET", ROUTES["schemes"].path, retry=True).json())

    def health(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._transport.request("GET", ROUTES["health"].path).json())

    def ready(self) -> Readiness:
        """Raises InitLabError 503 while the server is not ready."""
        return cast(Readiness, self._transport.request("GET", ROUTES["ready"].path).json())
