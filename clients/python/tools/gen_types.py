#!/usr/bin/env python3
"""Generates ``src/initlab/types.py`` (TypedDicts) from the contract, ``openapi.yaml`` at the repository root.

    python3 clients/python/tools/gen_types.py            # rewrite src/initlab/types.py
    python3 clients/python/tools/gen_types.py --check    # exit 1 if the committed file is stale

One TypedDict per object schema in ``components/schemas`` (those with ``properties``): required keys in a base
class, the others in a ``total=False`` subclass, so the result works on Python 3.9 without typing_extensions.
Enums and consts become ``Literal``; ``oneOf`` a ``Union``; inline objects ``Dict[str, Any]``. The output is
deterministic (schemas and keys in document order), so ``--check`` and the test suite can compare it byte for
byte. Needs PyYAML (a test and development dependency, never a runtime one).
"""

from __future__ import annotations

import argparse
import keyword
import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parents[2] / "openapi.yaml"
DEFAULT_OUT = HERE.parent / "src" / "initlab" / "types.py"

HEADER = '''\
"""Request and result types of the InitLab API, generated from openapi.yaml by tools/gen_types.py.

Do not edit: run ``python3 clients/python/tools/gen_types.py`` after changing the contract. The test
``tests/test_contract.py`` fails when this file and openapi.yaml drift apart.
"""

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union


'''


def load(spec_path: Path) -> Dict[str, Any]:
    with open(spec_path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def object_schemas(doc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The named schemas that are objects with declared properties, in document order."""
    schemas = doc["components"]["schemas"]
    return {name: s for name, s in schemas.items() if isinstance(s, dict) and isinstance(s.get("properties"), dict)}


def literal(values: List[Any]) -> str:
    non_null = [v for v in values if v is not None]
    parts = ", ".join(repr(v) for v in non_null)
    text = f"Literal[{parts}]" if non_null else "None"
    if len(non_null) != len(values) and non_null:
        text = f"Optional[{text}]"
    return text


class Mapper:
    def __init__(self, names: set) -> None:
        self.names = names

    def type_of(self, s: Any) -> str:
        if not isinstance(s, dict):
            return "Any"
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[-1]
            return f'"{name}"' if name in self.names else "Dict[str, Any]"
        if "const" in s:
            return literal([s["const"]])
        if "enum" in s:
            return literal(list(s["enum"]))
        if "oneOf" in s or "anyOf" in s:
            options = [self.type_of(o) for o in s.get("oneOf", s.get("anyOf"))]
            unique: List[str] = []
            for o in options:
                if o not in unique:
                    unique.append(o)
            nullable = "None" in unique
            unique = [u for u in unique if u != "None"]
            text = unique[0] if len(unique) == 1 else f"Union[{', '.join(unique)}]"
            return f"Optional[{text}]" if nullable else text
        t = s.get("type")
        if isinstance(t, list):
            nullable = "null" in t
            rest = [x for x in t if x != "null"]
            inner = [self.scalar(x, s) for x in rest]
            text = inner[0] if len(inner) == 1 else f"Union[{', '.join(inner)}]"
            return f"Optional[{text}]" if nullable else text
        if t is None:
            return "Any"
        return self.scalar(t, s)

    def scalar(self, t: str, s: Dict[str, Any]) -> str:
        if t == "string":
            return "str"
        if t == "integer":
            return "int"
        if t == "number":
            return "float"
        if t == "boolean":
            return "bool"
        if t == "null":
            return "None"
        if t == "array":
            return f"List[{self.type_of(s.get('items', {}))}]"
        if t == "object":
            extra = s.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"Dict[str, {self.type_of(extra)}]"
            return "Dict[str, Any]"
        return "Any"


def render(doc: Dict[str, Any]) -> str:
    schemas = object_schemas(doc)
    mapper = Mapper(set(schemas))
    out = [HEADER]
    for name, s in schemas.items():
        props: Dict[str, Any] = s["properties"]
        required = [k for k in props if k in set(s.get("required", []))]
        optional = [k for k in props if k not in set(required)]
        for k in props:
            if not k.isidentifier() or keyword.iskeyword(k):
                raise SystemExit(f"{name}.{k}: not a Python identifier; extend the generator")
        # The docstring names the schema rather than copying its description, so that rewording the contract's
        # prose never makes this file stale: only keys, requiredness, types and enums do.
        summary = f"components/schemas/{name} in openapi.yaml."
        base = f"_{name}Required"
        out.append(f"class {base}(TypedDict):\n")
        if required:
            for k in required:
                out.append(f"    {k}: {mapper.type_of(props[k])}\n")
        else:
            out.append("    pass\n")
        out.append("\n\n")
        out.append(f"class {name}({base}, total=False):\n")
        out.append(f'    """{summary}"""\n')
        if optional:
            out.append("\n")
        for k in optional:
            out.append(f"    {k}: {mapper.type_of(props[k])}\n")
        out.append("\n\n")
    out.append("#: Every generated type by schema name (components/schemas in openapi.yaml).\n")
    out.append("SCHEMAS: Dict[str, Any] = {\n")
    for name in schemas:
        out.append(f'    "{name}": {name},\n')
    out.append("}\n")
    return "".join(out).rstrip() + "\n"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the output file differs")
    args = parser.parse_args(argv)
    text = render(load(args.spec))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
