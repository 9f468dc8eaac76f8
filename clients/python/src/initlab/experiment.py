"""A handle on one experiment (a job) of the server."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from ._routes import ROUTES, TERMINAL
from .errors import InitLabError, WaitTimeout
from .events import EventStream
from .types import ExperimentResult, Job

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

_MAX_WAIT_RE = re.compile(r"0\s*\.\.\.?\s*(\d+)")


class Experiment:
    """One experiment on the server, by id. Cheap to make: it asks the server only when a method needs to.

    ``job`` is the last Job object seen (None until the first request); ``status()`` refreshes it.
    """

    def __init__(self, client: "Client", id: str, job: Optional[Job] = None, etag: Optional[str] = None) -> None:
        self._client = client
        self.id = id
        self.job: Optional[Job] = job
        self._etag = etag
        self._result: Optional[ExperimentResult] = None

    def __repr__(self) -> str:
        status = self.job["status"] if self.job else "?"
        return f"<initlab.Experiment {self.id} {status}>"

    # ---- state ----

    @property
    def label(self) -> str:
        """The dashboard's label, "init · activation" (from the last job seen)."""
        from .plotting import run_label

        if self.job is None:
            self.refresh()
        return run_label(self.job["spec"] if self.job else None)

    @property
    def spec(self) -> Dict[str, Any]:
        """The canonical spec, as the server stored it."""
        if self.job is None:
            self.refresh()
        assert self.job is not None
        return self.job["spec"]

    def refresh(self) -> Job:
        """GETs the job and returns it."""
        resp = self._client._transport.request("GET", ROUTES["get"].format(id=self.id), retry=True)
        self._store(resp.json(), resp.header("ETag"))
        assert self.job is not None
        return self.job

    def status(self) -> str:
        """The job's status now: queued, running, succeeded, failed or cancelled."""
        return self.refresh()["status"]

    @property
    def done(self) -> bool:
        """Whether the last job seen is terminal (no request)."""
        return bool(self.job) and self.job["status"] in TERMINAL  # type: ignore[index]

    def _store(self, job: Job, etag: Optional[str]) -> None:
        self.job = job
        if etag:
            self._etag = etag

    def wait(self, timeout: Optional[float] = None) -> "Experiment":
        """Blocks until the job is terminal, by long-poll (``?wait=`` with ``If-None-Match``), and returns self.

        Each request waits on the server until the job changes (or ``Client.long_poll`` seconds pass), so a
        wait costs a request per state change, not a poll per second. Raises :class:`WaitTimeout` when
        ``timeout`` seconds pass first. A failed or cancelled job returns normally: check ``job["status"]``
        (``result()`` raises for it).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.job is None:
            self.refresh()
        transport = self._client._transport
        while True:
            assert self.job is not None
            if self.job["status"] in TERMINAL:
                return self
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(f"experiment {self.id} still {self.job['status']} after {timeout} s", dict(self.job))
            seconds = self._client.long_poll
            if remaining is not None:
                seconds = min(seconds, int(remaining))
            headers = {"If-None-Match": self._etag} if self._etag else None
            try:
                resp = transport.request(
                    "GET",
                    ROUTES["get"].format(id=self.id),
                    query={"wait": seconds},
                    headers=headers,
                    timeout=seconds + transport.timeout,
                    retry=True,
                    expect=(200, 304),
                )
            except InitLabError as e:
                limit = _max_wait_from(e)
                if limit is None or limit >= seconds:
                    raise
                self._client.long_poll = max(limit, 0)  # a server with a lower --max-wait
                continue
            if resp.status == 200:
                self._store(resp.json(), resp.header("ETag"))
            if seconds == 0 and resp.status == 304:
                # Under a second left (or a server without long-poll): a short pause instead of a busy loop.
                time.sleep(max(0.0, min(1.0, remaining if remaining is not None else 1.0)))

    # ---- results ----

    def result(self) -> ExperimentResult:
        """The result of a succeeded job (fetched once, then cached: results never change).

        Raises InitLabError 409 with code ``not_finished``, ``failed`` or ``cancelled`` otherwise.
        """
        if self._result is None:
            resp = self._client._transport.request("GET", ROUTES["result"].format(id=self.id), retry=True)
            self._result = resp.json()
        return self._result

    def cancel(self) -> Job:
        """Cancels the job (a running one stops at the next layer boundary) and returns the job after it."""
        resp = self._client._transport.request("POST", ROUTES["cancel"].format(id=self.id), retry=True)
        self._store(resp.json(), resp.header("ETag"))
        assert self.job is not None
        return self.job

    def events(self, **options: Any) -> EventStream:
        """The live event stream (status, progress, layer, eval, snapshot, done); see :class:`EventStream`
        for the options. It resumes after a dropped connection with ``Last-Event-ID``."""
        return EventStream(self._client._transport, ROUTES["events"].format(id=self.id), **options)

    def csv(self) -> str:
        """The result as CSV text (one row per layer, one column per statistic)."""
        resp = self._client._transport.request("GET", ROUTES["csv"].format(id=self.id), retry=True)
        return resp.body.decode("utf-8")

    def svg(self, metric: str = "std", pass_: str = "forward", scale: Optional[str] = None) -> str:
        """The server's SVG chart of a finished experiment."""
        resp = self._client._transport.request(
            "GET",
            ROUTES["plot"].format(id=self.id),
            query={"metric": metric, "pass": pass_, "scale": scale},
            retry=True,
        )
        return resp.body.decode("utf-8")

    def to_pandas(self) -> Any:
        """The result as a long DataFrame: one row per layer × pass × quantity (``kind == "layer"``), and for
        a training run one row per step, per evaluation and per snapshot layer × quantity. Columns and kinds
        are described in :data:`initlab.frames.COLUMNS`."""
        from .frames import result_frame

        return result_frame(self.result(), self.id)

    def channels_to_pandas(self) -> Any:
        """A cnn's per-channel moments as a long DataFrame: one row per conv layer × quantity × channel, with
        the channel's mean and std (:data:`initlab.frames.CHANNEL_COLUMNS`)."""
        from .frames import channel_frame

        return channel_frame(self.result(), self.id)

    def plot(
        self,
        metric: str = "std",
        pass_: str = "forward",
        ax: Any = None,
        *,
        scale: Optional[str] = None,
        label: Optional[str] = None,
        color: Optional[str] = None,
        theory: bool = True,
    ) -> Any:
        """The dashboard's chart of this run with matplotlib; returns the Axes. Calling it for several runs
        with the same ``ax`` overlays them in the dashboard's colours. See :mod:`initlab.plotting`."""
        from .plotting import plot_runs

        result = self.result()
        return plot_runs(
            [(label or self.label, result)], metric=metric, pass_=pass_, ax=ax, scale=scale, theory=theory, color=color
        )

    def _repr_html_(self) -> str:
        """Jupyter: the server's std chart inline (an SVG image) once succeeded, else the status."""
        try:
            job = self.job if self.done else self.refresh()
        except (InitLabError, OSError) as e:
            return f"<div><code>{html.escape(self.id)}</code>: {html.escape(str(e))}</div>"
        assert job is not None
        head = (
            f"<div><code>{html.escape(self.id)}</code> · {html.escape(self.label)} · "
            f"<b>{html.escape(job['status'])}</b>"
        )
        if job["status"] != "succeeded":
            progress = json.dumps(job.get("progress", {}), sort_keys=True)
            error = f" · {html.escape(job['error'])}" if job.get("error") else ""
            return head + f" · {html.escape(progress)}{error}</div>"
        try:
            svg = self.svg()
        except (InitLabError, OSError) as e:
            return head + f"<br>chart unavailable: {html.escape(str(e))}</div>"
        return head + "<br>" + svg_img(svg, f"std per layer: {self.label}") + "</div>"


def svg_img(svg: str, alt: str) -> str:
    """An ``<img>`` with the SVG inline as a data URI: several charts in one notebook cannot clash over the
    element ids inside each SVG, as pasted ``<svg>`` markup could."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _max_wait_from(error: InitLabError) -> Optional[int]:
    """The server's long-poll limit from a 400 on ``wait`` ("wait must be an integer 0...N (seconds)")."""
    if error.status != 400 or "wait" not in (error.detail or ""):
        return None
    match = _MAX_WAIT_RE.search(error.detail)
    return int(match.group(1)) if match else None
