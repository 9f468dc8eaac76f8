"""examples/lesson.ipynb runs headless (nbclient) against the real server and saves its figure."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import Server

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "lesson.ipynb"


def test_lesson_notebook(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # INITLAB_LESSON_FIGURE may name where to keep the figure (scripts/python-client-tests.sh --figure uses it
    # to refresh docs/python-client-lesson.png); else it goes to a temporary folder.
    figure = Path(os.environ.get("INITLAB_LESSON_FIGURE") or tmp_path / "lesson.png").resolve()
    if figure.exists():
        figure.unlink()
    monkeypatch.setenv("INITLAB_URL", server.url)
    monkeypatch.setenv("INITLAB_TOKEN", server.token)
    monkeypatch.setenv("INITLAB_LESSON_FIGURE", str(figure))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000
    printed = "".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "Xavier: std" in printed and "at layer 50; Kaiming:" in printed
