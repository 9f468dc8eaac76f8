"""The dashboard's charts drawn with matplotlib (the optional extra ``initlab[plot]``).

Same data, scales and conventions as the dashboard and ``GET /v1/experiments/{id}/plot.svg``: x = layer
(1-based); forward charts the post-activation output, backward the gradient with respect to the activation;
``std`` on a log scale with the mean-field prediction dashed in the run's colour; ``mean`` and
``dead_fraction`` on a linear scale (dead fraction fixed to [0, 1]); non-finite values are gaps, with the
first such layer marked "inf/NaN from layer N"; ``histogram`` is the per-layer heat map (x = layer, y = bin
within the layer's own range, colour = log count, viridis). Okabe–Ito colours in the server's order.
For a training run, ``loss`` draws the training loss of every step (x = step) with the validation loss of
every evaluation dashed, and ``accuracy`` the validation accuracy, as ``plot.svg?metric=loss|accuracy``.
"""

from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional, Sequence, Tuple

#: Okabe–Ito, the order of the dashboard and the server's SVG.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"]
METRICS = ("std", "mean", "dead_fraction", "histogram", "loss", "accuracy")
#: The metrics of a training run's curves (x = step; ``pass_`` does not apply).
TRAINING_METRICS = ("loss", "accuracy")
PASSES = ("forward", "backward")
#: Like the server: beyond this many runs on one chart the theory lines are left out.
MAX_RUNS_WITH_THEORY = 4

_MEASURED_GID = "initlab-measured"
_METRIC_NAME = {
    "std": "std",
    "mean": "mean",
    "dead_fraction": "dead fraction",
    "histogram": "histogram",
    "loss": "loss",
    "accuracy": "validation accuracy",
}


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("plot() needs matplotlib: pip install 'initlab[plot]'") from e
    return plt


def run_label(spec: Optional[Mapping[str, Any]]) -> str:
    """The dashboard's label of a run: "init · activation"."""
    spec = spec or {}

    def name(value: Any) -> str:
        if isinstance(value, Mapping):
            value = value.get("name")
        return str(value) if value else "?"

    return f"{name(spec.get('init'))} · {name(spec.get('activation'))}"


def _stats(layer: Mapping[str, Any], pass_: str) -> Optional[Mapping[str, Any]]:
    if pass_ == "forward":
        return (layer.get("forward") or {}).get("activation")
    return (layer.get("backward") or {}).get("activation_grad")


def _finite(v: Any) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def series(
    result: Mapping[str, Any], metric: str, pass_: str
) -> Tuple[List[Any], List[Optional[float]], Optional[List[Optional[float]]], Optional[int]]:
    """(layers, measured values, theory values or None, first non-finite layer) of one line chart."""
    layers = sorted(result.get("layers") or [], key=lambda layer: layer.get("index", 0))
    xs: List[Any] = []
    ys: List[Optional[float]] = []
    theory: List[Optional[float]] = []
    first_bad: Optional[int] = None
    has_stats = False
    for layer in layers:
        stats = _stats(layer, pass_)
        value = stats.get(metric) if stats else None
        if stats:
            has_stats = True
            nonfinite = stats.get("nonfinite_fraction")
            if first_bad is None and (nonfinite is None or nonfinite > 0 or value is None):
                first_bad = layer.get("index")
        xs.append(layer.get("index"))
        ys.append(_finite(value))
        key = "predicted_activation_std" if pass_ == "forward" else "predicted_activation_grad_std"
        theory.append(_finite((layer.get("theory") or {}).get(key)))
    if not has_stats:
        return xs, [], None, None
    with_theory = metric == "std" and any(t is not None for t in theory)
    return xs, ys, (theory if with_theory else None), first_bad


def _plotted(values: Sequence[Any], scale: str) -> List[float]:
    """The values as drawn: a gap (NaN) for a missing or non-finite value, and for one ≤ 0 on a log scale."""
    out = []
    for v in values:
        f = _finite(v)
        out.append(math.nan if f is None or (scale == "log" and f <= 0) else f)
    return out


def _finish(ax: Any, title: str, xlabel: str, ylabel: str, scale: str, unit_interval: bool) -> Any:
    """The axes' common dressing: titles, the scale, [0, 1] limits for a fraction on a linear scale, grid, legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} ({scale} scale)")
    if scale == "log":
        ax.set_yscale("log")
    if unit_interval and scale == "linear":
        ax.set_ylim(-0.03, 1.03)
    ax.grid(True, color="#d8dee4", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, frameon=False)
    return ax


def _check(metric: str, pass_: str, scale: Optional[str]) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if pass_ not in PASSES:
        raise ValueError(f"pass_ must be forward or backward, not {pass_!r}")
    if scale is None:
        scale = "log" if metric == "std" else "linear"
    if scale not in ("log", "linear"):
        raise ValueError(f"scale must be log or linear, not {scale!r}")
    return scale


def plot_runs(
    runs: Sequence[Tuple[str, Mapping[str, Any]]],
    metric: str = "std",
    pass_: str = "forward",
    ax: Any = None,
    scale: Optional[str] = None,
    theory: Optional[bool] = None,
    color: Optional[str] = None,
) -> Any:
    """Draws ``(label, result)`` runs on ``ax`` (a new figure's axes when None) and returns the Axes.

    Runs already drawn on the same axes by this function keep their colours, so calling it (or
    ``Experiment.plot``) once per run overlays them as the dashboard does.
    """
    scale = _check(metric, pass_, scale)
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(7.0, 4.2))
    if metric == "histogram":
        if len(runs) != 1:
            raise ValueError("the histogram heat map shows one run")
        return _heatmap(runs[0][0], runs[0][1], pass_, ax)
    if metric in TRAINING_METRICS:
        return _curves(runs, metric, scale, ax, color)
    if theory is None:
        theory = len(runs) <= MAX_RUNS_WITH_THEORY
    already = sum(1 for line in ax.get_lines() if line.get_gid() == _MEASURED_GID)
    for i, (label, result) in enumerate(runs):
        xs, ys, predicted, first_bad = series(result, metric, pass_)
        if not ys:
            continue
        c = color or PALETTE[(already + i) % len(PALETTE)]
        (line,) = ax.plot(xs, _plotted(ys, scale), color=c, linewidth=1.8, marker="o", markersize=2.5, label=label)
        line.set_gid(_MEASURED_GID)
        if theory and predicted is not None:
            ax.plot(xs, _plotted(predicted, scale), color=c, linewidth=1.4, linestyle="--", label=f"{label} (theory)")
        if first_bad is not None:
            ax.axvline(first_bad, color=c, linestyle=":", linewidth=1)
            ax.annotate(
                f"inf/NaN from layer {first_bad}",
                xy=(first_bad, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                color=c,
                fontsize=8,
            )
    passname = "forward" if pass_ == "forward" else "backward"
    quantity = "activations" if pass_ == "forward" else "activation gradients"
    name = _METRIC_NAME[metric]
    return _finish(ax, f"Per-layer {name} of the {quantity} ({passname})", "layer", name, scale, metric == "dead_fraction")


def _curves(runs: Sequence[Tuple[str, Mapping[str, Any]]], metric: str, scale: str, ax: Any, color: Optional[str]) -> Any:
    """Training curves: the loss of every step (solid) and of every evaluation (dashed), or the accuracy."""
    already = sum(1 for line in ax.get_lines() if line.get_gid() == _MEASURED_GID)
    drawn = 0
    for i, (label, result) in enumerate(runs):
        training = result.get("training")
        if not training:
            continue
        c = color or PALETTE[(already + i) % len(PALETTE)]
        evals = training.get("evals") or []

        if metric == "loss":
            losses = training.get("train_loss") or []
            (line,) = ax.plot(range(len(losses)), _plotted(losses, scale), color=c, linewidth=1.4, label=f"{label} (training)")
            ax.plot([e.get("step") for e in evals], _plotted([e.get("loss") for e in evals], scale), color=c, linewidth=1.4,
                    linestyle="--", marker="o", markersize=3, label=f"{label} (validation)")
        else:
            (line,) = ax.plot([e.get("step") for e in evals], _plotted([e.get("accuracy") for e in evals], scale), color=c,
                              linewidth=1.8, marker="o", markersize=3, label=label)
        line.set_gid(_MEASURED_GID)
        drawn += 1
    if drawn == 0:
        raise ValueError(f"metric={metric} needs a training run (a spec with train)")
    title = (
        "Training loss per step, validation loss per evaluation (dashed)"
        if metric == "loss"
        else "Validation accuracy per evaluation"
    )
    return _finish(ax, title, "step", _METRIC_NAME[metric], scale, metric == "accuracy")


def _heatmap(label: str, result: Mapping[str, Any], pass_: str, ax: Any) -> Any:
    """x = layer, y = bin within the layer's own range, colour = log(1 + count)."""
    layers = sorted(result.get("layers") or [], key=lambda layer: layer.get("index", 0))
    columns, xs = [], []
    for layer in layers:
        stats = _stats(layer, pass_)
        histogram = (stats or {}).get("histogram") or {}
        counts = histogram.get("counts")
        if counts:
            columns.append([math.log1p(c) for c in counts])
            xs.append(layer.get("index"))
    if not columns:
        raise ValueError("this result has no histograms for the chosen pass")
    bins = max(len(c) for c in columns)
    grid = [[(col[b] if b < len(col) else math.nan) for col in columns] for b in range(bins)]
    image = ax.imshow(
        grid,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(xs[0] - 0.5, xs[-1] + 0.5, 0, bins),
        interpolation="nearest",
    )
    text = "activations" if pass_ == "forward" else "activation gradients"
    ax.set_title(f"Histogram per layer of the {text}: {label}")
    ax.set_xlabel("layer")
    ax.set_ylabel("bin within the layer's range")
    ax.figure.colorbar(image, ax=ax, label="log(1 + count)")
    return ax
