#!/usr/bin/env python3
"""Copies openapi.yaml into Sources/InitLabService/API/OpenAPIDocument.swift (the copy the binary serves)."""
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "openapi.yaml").read_text()
assert '"""#' not in src, "openapi.yaml must not contain the raw-string delimiter"
swift = (
    "// Generated from the top-level openapi.yaml; OpenAPIDocumentTests fails when the two differ.\n"
    "// To refresh: python3 scripts/embed-openapi.py (or copy the file between the delimiters by hand).\n\n"
    "/// The API contract, served at `GET /openapi.yaml`. Embedded so the binary needs no resource files.\n"
    "enum OpenAPIDocument {\n"
    '    static let yaml = #"""\n' + src + '\n"""#\n'
    "}\n"
)
(root / "Sources/InitLabService/API/OpenAPIDocument.swift").write_text(swift)
print("embedded", len(src), "bytes")
