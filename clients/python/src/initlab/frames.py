"""Results as long-format pandas DataFrames (pandas is the optional extra ``initlab[pandas]``)."""

from __future__ import annotations

import importlib
from typing import Any, Dict, Iterable, List, Mapping, Optional

#: The summary statistics of every measured tensor, as in the result JSON (the histogram is left out).
STATISTICS = [
    "count",
    "mean",
    "std",
    "min",
    "max",
    "mean_abs",
    "zero_fraction",
    "dead_fraction",
    "nonfinite_fraction",
    "p1",
    "p50",
    "p99",
]

#: The tensors measured in each pass of a layer, in the order of result.csv.
QUANTITIES = {"forward": ["preactivation", "activation"], "backward": ["activation_grad", "weight_grad"]}

#: The mean-field prediction of each quantity's std (the theory object of a result layer).
THEORY_STD = {
    "preactivation": "predicted_preactivation_std",
    "activation": "predicted_activation_std",
    "activation_grad": "predicted_activation_grad_std",
}

#: Per-layer values of a training snapshot besides the forward statistics.
SNAPSHOT_VALUES = ["weight_grad_norm", "update_ratio", "weight_std", "weight_std_drift"]

#: Every column, in order. ``kind`` says which of the others a row fills:
#:   layer     one per layer × pass × quantity of the init-time analysis: the statistics and ``theory_std``;
#:   step      one per optimizer step of a training run (0-based): ``loss`` (the mini-batch loss before the
#:             update) and ``learning_rate``;
#:   eval      one per evaluation: ``loss`` and ``accuracy`` on the validation set after ``step`` steps;
#:   snapshot  one per layer × quantity of each statistics snapshot taken during step ``step`` (forward pass of
#:             that step's mini-batch; the classifier is layer depth + 1): the statistics and SNAPSHOT_VALUES.
#: ``shape`` names a cnn layer's kind and shape as result.csv does ("conv 8×26×26 → pool 8×13×13", "dense 64"),
#: on layer rows and on the snapshot rows of the same layer; it is empty for other architectures.
COLUMNS = (
    ["experiment_id", "kind", "step", "layer", "pass", "quantity", "fan_in", "fan_out", "shape"]
    + STATISTICS
    + ["theory_std", "loss", "accuracy", "learning_rate"]
    + SNAPSHOT_VALUES
)

_INTEGER_COLUMNS = ["step", "layer", "fan_in", "fan_out", "count"]
_TEXT_COLUMNS = ["experiment_id", "kind", "pass", "quantity", "shape"]


def _pandas() -> Any:
    # importlib rather than an import statement: the frames are built as Any, so the type check needs neither
    # pandas nor pandas-stubs.
    try:
        return importlib.import_module("pandas")
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("to_pandas() needs pandas: pip install 'initlab[pandas]'") from e


def _stats(values: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    values = values or {}
    return {k: values.get(k) for k in STATISTICS}


def shape_label(shape: Optional[Mapping[str, Any]]) -> Optional[str]:
    """A result layer's ``shape`` as text, the server's spelling: "conv 8×26×26 → pool 8×13×13"; None without one."""
    if not shape:
        return None

    def dims(d: Iterable[int]) -> str:
        return "×".join(str(x) for x in d)

    pooled = shape.get("pooled")
    return f"{shape.get('kind')} {dims(shape.get('output') or [])}" + (f" → pool {dims(pooled)}" if pooled else "")


def result_records(result: Mapping[str, Any], experiment_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """The rows of :func:`result_frame` as plain dicts (no pandas needed)."""
    rows: List[Dict[str, Any]] = []
    shapes = {layer.get("index"): shape_label(layer.get("shape")) for layer in result.get("layers") or []}
    for layer in result.get("layers") or []:
        theory = layer.get("theory") or {}
        for pass_, quantities in QUANTITIES.items():
            block = layer.get(pass_)
            if not block:
                continue  # backward: false, or a live layer whose backward step has not run
            for quantity in quantities:
                if block.get(quantity) is None:
                    continue
                row = {
                    "experiment_id": experiment_id,
                    "kind": "layer",
                    "layer": layer.get("index"),
                    "pass": pass_,
                    "quantity": quantity,
                    "fan_in": layer.get("fan_in"),
                    "fan_out": layer.get("fan_out"),
                    "shape": shapes.get(layer.get("index")),
                    "theory_std": theory.get(THEORY_STD[quantity]) if quantity in THEORY_STD else None,
                }
                row.update(_stats(block[quantity]))
                rows.append(row)
    training = result.get("training")
    if training:
        losses = training.get("train_loss") or []
        rates = training.get("learning_rate") or []
        for step in range(max(len(losses), len(rates))):
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "kind": "step",
                    "step": step,
                    "loss": losses[step] if step < len(losses) else None,
                    "learning_rate": rates[step] if step < len(rates) else None,
                }
            )
        for point in training.get("evals") or []:
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "kind": "eval",
                    "step": point.get("step"),
                    "loss": point.get("loss"),
                    "accuracy": point.get("accuracy"),
                }
            )
        for snapshot in training.get("snapshots") or []:
            for layer in snapshot.get("layers") or []:
                forward = layer.get("forward") or {}
                for quantity in QUANTITIES["forward"]:
                    if forward.get(quantity) is None:
                        continue
                    row = {
                        "experiment_id": experiment_id,
                        "kind": "snapshot",
                        "step": snapshot.get("step"),
                        "layer": layer.get("index"),
                        "pass": "forward",
                        "quantity": quantity,
                        "shape": shapes.get(layer.get("index")),
                    }
                    row.update(_stats(forward[quantity]))
                    row.update({k: layer.get(k) for k in SNAPSHOT_VALUES})
                    rows.append(row)
    return rows


def frame(records: Iterable[Dict[str, Any]], extra_columns: Iterable[str] = ()) -> Any:
    """A DataFrame with :data:`COLUMNS` (plus ``extra_columns`` first after experiment_id): nullable integers,
    floats with NaN for missing or non-finite values, strings for the labels."""
    pd = _pandas()
    extra = list(extra_columns)
    columns = COLUMNS[:1] + extra + COLUMNS[1:]
    df = pd.DataFrame(list(records), columns=columns)
    for column in _INTEGER_COLUMNS:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("Int64")
    for column in STATISTICS + ["theory_std", "loss", "accuracy", "learning_rate"] + SNAPSHOT_VALUES:
        if column != "count":
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    for column in _TEXT_COLUMNS:
        df[column] = df[column].astype("string")
    return df


def result_frame(result: Mapping[str, Any], experiment_id: Optional[str] = None) -> Any:
    """One experiment's result as a long DataFrame; see :data:`COLUMNS` for the rows and columns."""
    return frame(result_records(result, experiment_id))


#: The columns of :func:`channel_frame`: one row per conv layer × quantity × channel.
CHANNEL_COLUMNS = ["experiment_id", "layer", "shape", "quantity", "channel", "mean", "std"]


def channel_records(result: Mapping[str, Any], experiment_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """The rows of :func:`channel_frame` as plain dicts (no pandas needed)."""
    rows: List[Dict[str, Any]] = []
    for layer in result.get("layers") or []:
        channels = layer.get("channels")
        if not channels:
            continue  # dense layers, and every layer of the other architectures
        for quantity in ["preactivation", "activation", "activation_grad"]:
            moments = channels.get(quantity)
            if not moments:
                continue  # activation_grad without a backward pass
            for index, (mean, std) in enumerate(zip(moments.get("mean") or [], moments.get("std") or [])):
                rows.append(
                    {
                        "experiment_id": experiment_id,
                        "layer": layer.get("index"),
                        "shape": shape_label(layer.get("shape")),
                        "quantity": quantity,
                        "channel": index,
                        "mean": mean,
                        "std": std,
                    }
                )
    return rows


def channel_frame(result: Mapping[str, Any], experiment_id: Optional[str] = None) -> Any:
    """A cnn result's per-channel moments as a long DataFrame (:data:`CHANNEL_COLUMNS`): each conv layer's
    channels, for the pre-activation, the activation and (with a backward pass) its gradient. Non-finite values
    are NaN; other architectures give an empty frame."""
    pd = _pandas()
    df = pd.DataFrame(channel_records(result, experiment_id), columns=CHANNEL_COLUMNS)
    for column in ["layer", "channel"]:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("Int64")
    for column in ["mean", "std"]:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    for column in ["experiment_id", "shape", "quantity"]:
        df[column] = df[column].astype("string")
    return df
