"""A handle on a sweep: one experiment per combination of the varied values."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ._routes import ROUTES, SWEEP_TERMINAL
from .errors import InitLabError, WaitTimeout
from .experiment import Experiment, svg_img
from .types import Sweep as SweepObject

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client


class Sweep:
    """A sweep on the server. ``data`` is the last Sweep object seen (``refresh()`` fetches it again)."""

    def __init__(self, client: "Client", data: SweepObject) -> None:
        self._client = client
        self.id: str = data["id"]
        self.data: SweepObject = data
        self._experiments: Dict[str, Experiment] = {}

    def __repr__(self) -> str:
        return f"<initlab.Sweep {self.id} {self.data.get('status')} {self.data.get('counts')}>"

    def refresh(self) -> SweepObject:
        resp = self._client._transport.request("GET", ROUTES["sweep"].format(id=self.id), retry=True)
        self.data = resp.json()
        return self.data

    @property
    def status(self) -> str:
        """``running`` while any experiment is queued or running, else ``done`` (as last seen)."""
        return self.data["status"]

    @property
    def experiments(self) -> List[Experiment]:
        """The sweep's experiments in the server's order (the first varied key changes slowest)."""
        out = []
        for item in self.data["experiments"]:
            exp = self._experiments.get(item["id"])
            if exp is None:
                exp = self._experiments[item["id"]] = Experiment(self._client, item["id"])
            out.append(exp)
        return out

    def wait(self, timeout: Optional[float] = None) -> "Sweep":
        """Blocks until every experiment is terminal and returns self; long-polls each unfinished experiment
        in turn (no busy polling). Raises :class:`WaitTimeout` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pending = [
                (item, exp)
                for item, exp in zip(self.data["experiments"], self.experiments)
                if item["status"] not in SWEEP_TERMINAL
            ]
            if not pending and self.data["status"] == "done":
                return self
            for _, exp in pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WaitTimeout(f"sweep {self.id} still running after {timeout} s", dict(self.data))
                try:
                    exp.wait(remaining)
                except WaitTimeout:
                    raise WaitTimeout(f"sweep {self.id} still running after {timeout} s", dict(self.data)) from None
                except InitLabError as e:
                    if e.status != 404:  # pruned meanwhile: the sweep will say so
                        raise
            self.refresh()

    def to_pandas(self) -> Any:
        """Every succeeded experiment's rows (see ``Experiment.to_pandas``), with the sweep's ``label`` and one
        column per varied key (``init``, ``activation``, ``width``, ``depth``, ``seed``; a scheme given as an
        object shows as its name with parameters)."""
        from .frames import frame, result_records

        keys = list((self.data.get("vary") or {}).keys())
        records = []
        for item, exp in zip(self.data["experiments"], self.experiments):
            if item["status"] != "succeeded":
                continue
            values = item.get("values") or {}
            extra = {"sweep_id": self.id, "label": item.get("label")}
            extra.update({k: _value_text(values.get(k)) for k in keys})
            for row in result_records(exp.result(), exp.id):
                row.update(extra)
                records.append(row)
        return frame(records, extra_columns=["sweep_id", "label"] + keys)

    def plot(self, metric: str = "std", pass_: str = "forward", ax: Any = None, *, scale: Optional[str] = None) -> Any:
        """The succeeded experiments overlaid, labelled as in the sweep (theory lines for up to 4 runs)."""
        from .plotting import plot_runs

        runs = [
            (item.get("label") or exp.id, exp.result())
            for item, exp in zip(self.data["experiments"], self.experiments)
            if item["status"] == "succeeded"
        ]
        return plot_runs(runs, metric=metric, pass_=pass_, ax=ax, scale=scale)

    def svg(self, metric: str = "std", pass_: str = "forward", scale: Optional[str] = None) -> str:
        """The server's overlay chart of the sweep's finished experiments."""
        resp = self._client._transport.request(
            "GET", ROUTES["sweep_plot"].format(id=self.id), query={"metric": metric, "pass": pass_, "scale": scale}
        )
        return resp.body.decode("utf-8")

    def _repr_html_(self) -> str:
        head = (
            f"<div>sweep <code>{html.escape(self.id)}</code> · <b>{html.escape(str(self.data.get('status')))}</b>"
            f" · {html.escape(str(self.data.get('counts')))}"
        )
        try:
            return head + "<br>" + svg_img(self.svg(), "sweep: std per layer") + "</div>"
        except (InitLabError, OSError) as e:
            return head + f"<br>chart unavailable: {html.escape(str(e))}</div>"


def _value_text(value: Any) -> Any:
    if isinstance(value, dict):
        params = ", ".join(f"{k}={v}" for k, v in value.items() if k != "name")
        return f"{value.get('name')}({params})" if params else str(value.get("name"))
    return value
