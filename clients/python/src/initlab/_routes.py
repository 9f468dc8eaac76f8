"""Every route the client calls, with the query parameters and headers it sends.

The code builds its requests from this table, and ``tests/test_contract.py`` checks each entry against
``openapi.yaml``: a route, method, query parameter or header that the contract does not declare fails it.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, NamedTuple


class Route(NamedTuple):
    method: str
    path: str
    query: FrozenSet[str] = frozenset()
    headers: FrozenSet[str] = frozenset()

    def format(self, **params: str) -> str:
        return self.path.format(**params)


ROUTES: Dict[str, Route] = {
    "submit": Route("POST", "/v1/experiments", headers=frozenset({"Idempotency-Key"})),
    "list": Route("GET", "/v1/experiments", query=frozenset({"status", "page_size", "page_token"})),
    "get": Route("GET", "/v1/experiments/{id}", query=frozenset({"wait"}), headers=frozenset({"If-None-Match"})),
    "result": Route("GET", "/v1/experiments/{id}/result"),
    "cancel": Route("POST", "/v1/experiments/{id}/cancel"),
    "events": Route("GET", "/v1/experiments/{id}/events", headers=frozenset({"Last-Event-ID"})),
    "plot": Route("GET", "/v1/experiments/{id}/plot.svg", query=frozenset({"metric", "pass", "scale"})),
    "csv": Route("GET", "/v1/experiments/{id}/result.csv"),
    "schemes": Route("GET", "/v1/schemes"),
    "create_sweep": Route("POST", "/v1/sweeps"),
    "sweep": Route("GET", "/v1/sweeps/{id}"),
    "sweep_plot": Route("GET", "/v1/sweeps/{id}/plot.svg", query=frozenset({"metric", "pass", "scale"})),
    "health": Route("GET", "/healthz"),
    "ready": Route("GET", "/readyz"),
}

#: Job statuses after which nothing changes (openapi.yaml: Job.status).
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
#: A sweep's experiment may also have been pruned after the retention period (openapi.yaml: Sweep).
SWEEP_TERMINAL = TERMINAL | {"pruned"}
