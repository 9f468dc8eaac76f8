"""The client against the contract, openapi.yaml at the repository root: these fail when the two drift apart.

No server needed: they read the YAML and the client's own tables.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

import initlab
from initlab import _routes, frames, types
from initlab.errors import FieldError, InitLabError

CLIENT = Path(__file__).resolve().parents[1]
OPENAPI = CLIENT.parents[1] / "openapi.yaml"
sys.path.insert(0, str(CLIENT / "tools"))
import gen_types  # noqa: E402


@pytest.fixture(scope="module")
def doc() -> Dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def test_generated_types_are_current(doc: Dict[str, Any]) -> None:
    """types.py is exactly what the generator makes from today's openapi.yaml."""
    committed = (CLIENT / "src" / "initlab" / "types.py").read_text(encoding="utf-8")
    assert gen_types.render(doc) == committed, "openapi.yaml changed: run clients/python/tools/gen_types.py"


def test_every_object_schema_has_a_typeddict_with_its_keys(doc: Dict[str, Any]) -> None:
    """Each TypedDict's required and optional keys equal its schema's required and other properties."""
    schemas = gen_types.object_schemas(doc)
    assert sorted(types.SCHEMAS) == sorted(schemas)
    for name, schema in schemas.items():
        typed = types.SCHEMAS[name]
        required = set(schema.get("required", []))
        properties = set(schema["properties"])
        assert set(typed.__required_keys__) == required & properties, name
        assert set(typed.__optional_keys__) == properties - required, name


def _operation(doc: Dict[str, Any], route: _routes.Route) -> Dict[str, Any]:
    path_item = doc["paths"].get(route.path)
    assert path_item is not None, f"{route.path} is not in openapi.yaml"
    operation = path_item.get(route.method.lower())
    assert operation is not None, f"{route.method} {route.path} is not in openapi.yaml"
    return operation


def _parameters(doc: Dict[str, Any], route: _routes.Route) -> List[Dict[str, Any]]:
    def resolve(p: Dict[str, Any]) -> Dict[str, Any]:
        if "$ref" in p:
            node: Any = doc
            for part in p["$ref"].lstrip("#/").split("/"):
                node = node[part]
            return node
        return p

    path_item = doc["paths"][route.path]
    listed = list(path_item.get("parameters", [])) + list(_operation(doc, route).get("parameters", []))
    return [resolve(p) for p in listed]


@pytest.mark.parametrize("name", sorted(_routes.ROUTES))
def test_every_route_the_client_calls_is_in_the_contract(doc: Dict[str, Any], name: str) -> None:
    route = _routes.ROUTES[name]
    _operation(doc, route)
    params = _parameters(doc, route)
    query = {p["name"] for p in params if p.get("in") == "query"}
    headers = {p["name"].lower() for p in params if p.get("in") == "header"}
    assert route.query <= query, f"{name}: query parameters not in the contract: {route.query - query}"
    assert {h.lower() for h in route.headers} <= headers, f"{name}: headers not in the contract"
    path_params = {p["name"] for p in params if p.get("in") == "path"}
    assert path_params == set(__import__("re").findall(r"{(\w+)}", route.path)), name


def test_success_statuses_the_client_expects(doc: Dict[str, Any]) -> None:
    """submit expects 202, a sweep 201, a long-poll 200 or 304: the contract's answers."""
    assert "202" in _operation(doc, _routes.ROUTES["submit"])["responses"]
    assert "201" in _operation(doc, _routes.ROUTES["create_sweep"])["responses"]
    assert {"200", "304"} <= set(_operation(doc, _routes.ROUTES["get"])["responses"])


def test_terminal_statuses_match_the_job_schema(doc: Dict[str, Any]) -> None:
    job_statuses = set(doc["components"]["schemas"]["Job"]["properties"]["status"]["enum"])
    assert _routes.TERMINAL == job_statuses - {"queued", "running"}
    sweep_item = doc["components"]["schemas"]["Sweep"]["properties"]["experiments"]["items"]
    assert _routes.SWEEP_TERMINAL == set(sweep_item["properties"]["status"]["enum"]) - {"queued", "running"}


def test_errors_carry_every_problem_field(doc: Dict[str, Any]) -> None:
    """InitLabError has an attribute per Problem property, FieldError a field per FieldError property."""
    problem = doc["components"]["schemas"]["Problem"]["properties"]
    error = InitLabError(400, "t")
    for key in problem:
        assert hasattr(error, key), f"InitLabError lacks Problem.{key}"
    field_error = doc["components"]["schemas"]["FieldError"]["properties"]
    assert {f.name for f in dataclasses.fields(FieldError)} == set(field_error)


def test_sweep_keys_and_plot_options_match(doc: Dict[str, Any]) -> None:
    vary = doc["components"]["schemas"]["SweepRequest"]["properties"]["vary"]["properties"]
    doc_text = inspect.getdoc(initlab.Client.sweep) or ""
    for key in vary:
        assert key in doc_text, f"Client.sweep's documentation omits the varied key {key}"
    from initlab import plotting

    params = {p["name"]: p for p in _parameters(doc, _routes.ROUTES["plot"])}
    assert set(plotting.METRICS) == set(params["metric"]["schema"]["enum"])
    assert set(plotting.PASSES) == set(params["pass"]["schema"]["enum"])


def test_frame_quantities_match_the_csv_columns(doc: Dict[str, Any]) -> None:
    """to_pandas reads the statistics that result.csv documents (the result's layer objects are untyped in
    the contract; the CSV route lists their fields)."""
    description = _operation(doc, _routes.ROUTES["csv"])["description"]
    for stat in frames.STATISTICS:
        assert stat in description, stat
    for quantities in frames.QUANTITIES.values():
        for quantity in quantities:
            assert quantity in description, quantity
    snapshot_layer = doc["components"]["schemas"]["TrainingSnapshot"]["properties"]["layers"]["items"]
    assert set(frames.SNAPSHOT_VALUES) == set(snapshot_layer["properties"]) - {"index", "forward"}
    training = doc["components"]["schemas"]["TrainingResult"]["properties"]
    assert {"train_loss", "learning_rate", "evals", "snapshots"} <= set(training)
