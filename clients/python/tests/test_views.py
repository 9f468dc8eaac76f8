"""pandas frames, matplotlib charts, Jupyter HTML, training runs and sweeps, against the real server."""

from __future__ import annotations

import base64
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import initlab  # noqa: E402
from conftest import BLOCKER, SMALL, TINY_TRAINING  # noqa: E402
from initlab import frames  # noqa: E402


@pytest.fixture(scope="module")
def finished(server) -> initlab.Experiment:  # type: ignore[no-untyped-def]
    client = initlab.Client(server.url, token=server.token)
    return client.submit(SMALL, seed=31).wait(30)


def test_to_pandas_is_one_row_per_layer_pass_quantity(finished: initlab.Experiment) -> None:
    df = finished.to_pandas()
    depth = SMALL["depth"]
    assert list(df.columns) == frames.COLUMNS
    assert df.shape == (depth * 4, len(frames.COLUMNS))
    assert set(df["kind"]) == {"layer"}
    assert (df["experiment_id"] == finished.id).all()
    counts = df.groupby(["pass", "quantity"]).size().to_dict()
    assert counts == {
        ("backward", "activation_grad"): depth,
        ("backward", "weight_grad"): depth,
        ("forward", "activation"): depth,
        ("forward", "preactivation"): depth,
    }
    assert sorted(df["layer"].unique().tolist()) == list(range(1, depth + 1))
    assert df["step"].isna().all()
    # The numbers are the result's, row for row.
    result = finished.result()
    row = df[(df["layer"] == 3) & (df["quantity"] == "activation")].iloc[0]
    assert row["std"] == result["layers"][2]["forward"]["activation"]["std"]
    assert row["theory_std"] == result["layers"][2]["theory"]["predicted_activation_std"]
    assert math.isnan(df[df["quantity"] == "weight_grad"]["theory_std"].iloc[0])


def test_training_run_frame_has_steps_evals_and_snapshots(client: initlab.Client) -> None:
    exp = client.submit(TINY_TRAINING)
    assert exp.job["progress"] == {"steps_done": 0, "steps_total": 20}
    exp.wait(60)
    training = exp.result()["training"]
    df = exp.to_pandas()
    depth, steps = TINY_TRAINING["depth"], TINY_TRAINING["train"]["steps"]
    kinds = df["kind"].value_counts().to_dict()
    assert kinds["layer"] == depth * 4
    assert kinds["step"] == steps
    assert kinds["eval"] == len(training["evals"]) == 4  # after steps 5, 10, 15, 20
    snapshot_layers = sum(len(s["layers"]) for s in training["snapshots"])
    assert kinds["snapshot"] == snapshot_layers * 2  # preactivation and activation
    steps_df = df[df["kind"] == "step"]
    assert steps_df["step"].tolist() == list(range(steps))
    assert steps_df["loss"].tolist() == pytest.approx(training["train_loss"])
    assert steps_df["learning_rate"].tolist() == pytest.approx(training["learning_rate"])
    evals = df[df["kind"] == "eval"]
    assert evals["step"].tolist() == [5, 10, 15, 20]
    assert evals["accuracy"].between(0, 1).all()
    snaps = df[df["kind"] == "snapshot"]
    assert sorted(snaps["step"].unique().tolist()) == [s["step"] for s in training["snapshots"]]
    assert snaps["layer"].max() == depth + 1  # the classifier
    assert snaps["weight_std"].notna().all()


def test_a_cnn_training_run_names_each_layers_shape(client: initlab.Client) -> None:
    spec = dict(TINY_TRAINING, depth=3)
    spec["architecture"] = {
        "name": "cnn",
        "input_shape": [1, 10, 10],
        "conv": [{"channels": 4, "kernel": 3, "pool": "max"}, {"channels": 6, "kernel": 3, "padding": 1}],
    }
    exp = client.submit(spec)
    exp.wait(60)
    df = exp.to_pandas()
    layers = df[(df["kind"] == "layer") & (df["quantity"] == "activation")].sort_values("layer")
    assert layers["shape"].tolist() == ["conv 4×8×8 → pool 4×4×4", "conv 6×4×4", "dense 16"]
    assert layers["fan_in"].tolist() == [9, 36, 96]
    snaps = df[(df["kind"] == "snapshot") & (df["quantity"] == "preactivation") & (df["step"] == 0)].sort_values("layer")
    # The classifier (layer depth + 1) is not one of the result's layers: no shape.
    assert snaps["shape"].tolist()[:3] == ["conv 4×8×8 → pool 4×4×4", "conv 6×4×4", "dense 16"]
    assert snaps["shape"].isna().tolist() == [False, False, False, True]
    # A conv layer's statistics count every position of every image: 16 images × 8·8 positions × 4 channels.
    assert snaps["count"].tolist()[0] == 16 * 64 * 4
    assert len(df[df["kind"] == "step"]) == 20
    # Per channel: the conv layers only (4 and 6 channels), each quantity; their mean averages to the layer's.
    channels = exp.channels_to_pandas()
    assert list(channels.columns) == frames.CHANNEL_COLUMNS
    counts = channels.groupby(["layer", "quantity"]).size().to_dict()
    assert counts == {
        (1, "activation"): 4, (1, "activation_grad"): 4, (1, "preactivation"): 4,
        (2, "activation"): 6, (2, "activation_grad"): 6, (2, "preactivation"): 6,
    }
    layer1 = exp.result()["layers"][0]["forward"]["activation"]
    means = channels[(channels["layer"] == 1) & (channels["quantity"] == "activation")]["mean"]
    assert means.mean() == pytest.approx(layer1["mean"], rel=1e-9)
    assert (channels["shape"][channels["layer"] == 2] == "conv 6×4×4").all()


def test_plot_returns_axes_with_measured_and_theory_lines(finished: initlab.Experiment) -> None:
    ax = finished.plot()
    try:
        assert isinstance(ax, Axes)
        assert ax.get_yscale() == "log"
        assert ax.get_title() == "Per-layer std of the activations (forward)"
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["kaiming_normal · relu", "kaiming_normal · relu (theory)"]
        measured = ax.get_lines()[0]
        assert list(measured.get_xdata()) == list(range(1, SMALL["depth"] + 1))
        result = finished.result()
        assert list(measured.get_ydata()) == [layer["forward"]["activation"]["std"] for layer in result["layers"]]
        assert ax.get_lines()[1].get_linestyle() == "--"
    finally:
        plt.close(ax.figure)


def test_plot_overlays_runs_on_one_axes(client: initlab.Client, finished: initlab.Experiment) -> None:
    other = client.submit(SMALL, init="xavier_normal", seed=31).wait(30)
    fig, ax = plt.subplots()
    try:
        assert finished.plot(pass_="backward", ax=ax) is ax
        assert other.plot(pass_="backward", ax=ax) is ax
        lines = ax.get_lines()
        assert len(lines) == 4
        assert lines[0].get_color() != lines[2].get_color()  # two runs, two colours
        assert ax.get_title() == "Per-layer std of the activation gradients (backward)"
        fig2, ax2 = plt.subplots()
        finished.plot(metric="dead_fraction", ax=ax2)
        assert ax2.get_yscale() == "linear" and ax2.get_ylim() == pytest.approx((-0.03, 1.03))
        assert len(ax2.get_lines()) == 1  # no theory line except for std
        fig3, ax3 = plt.subplots()
        finished.plot(metric="histogram", ax=ax3)
        assert len(ax3.get_images()) == 1
        with pytest.raises(ValueError):
            finished.plot(metric="variance")
    finally:
        plt.close("all")


def test_repr_html_inlines_the_servers_svg(finished: initlab.Experiment) -> None:
    html = finished._repr_html_()
    match = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, html[:300]
    svg = base64.b64decode(match.group(1)).decode("utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'data-kind="measured"' in svg and 'data-kind="theory"' in svg
    assert finished.id in html


def test_repr_html_of_an_unfinished_job_shows_its_status(client: initlab.Client) -> None:
    blocker = client.submit(BLOCKER)  # one worker: the next job stays queued
    exp = client.submit(SMALL, seed=32)
    try:
        html = exp._repr_html_()
        assert exp.job["status"] == "queued"
        assert "<img" not in html
        assert "<b>queued</b>" in html and "layers_done" in html
    finally:
        exp.cancel()
        blocker.cancel()
    assert "<b>cancelled</b>" in exp._repr_html_()


def test_sweep_wait_and_to_pandas(client: initlab.Client) -> None:
    sweep = client.sweep({"init": ["xavier_normal", "kaiming_normal"], "seed": [1, 2]}, SMALL)
    assert len(sweep.experiments) == 4
    assert sweep.wait(timeout=60) is sweep
    assert sweep.status == "done"
    assert sweep.data["counts"] == {"succeeded": 4}
    df = sweep.to_pandas()
    assert list(df.columns[:5]) == ["experiment_id", "sweep_id", "label", "init", "seed"]
    assert len(df) == 4 * SMALL["depth"] * 4
    assert (df["sweep_id"] == sweep.id).all()
    per_run = df.groupby(["init", "seed"]).size().to_dict()
    inits, seeds = ("kaiming_normal", "xavier_normal"), (1, 2)
    assert per_run == {(init, seed): SMALL["depth"] * 4 for init in inits for seed in seeds}
    labels = set(df["label"])
    assert labels == {f"init={i}, seed={s}" for i in ("xavier_normal", "kaiming_normal") for s in (1, 2)}
    ax = sweep.plot()
    try:
        measured = [line for line in ax.get_lines() if not line.get_label().endswith("(theory)")]
        assert len(measured) == 4
    finally:
        plt.close("all")


def test_sweep_accepts_the_whole_request_and_reports_pointers(client: initlab.Client) -> None:
    sweep = client.sweep({"base": SMALL, "vary": {"width": [8, 16]}})
    assert [e["values"] for e in sweep.data["experiments"]] == [{"width": 8}, {"width": 16}]
    sweep.wait(60)
    again = client.get_sweep(sweep.id)
    assert again.status == "done"
    with pytest.raises(initlab.InitLabError) as info:
        client.sweep({"init": ["xavier_normal", "no_such_init"]}, SMALL)
    assert info.value.status == 422
    assert any(p.startswith("/vary/init/1") for p in info.value.pointers), info.value.pointers


def test_training_curves_plot_like_the_server(client: initlab.Client) -> None:
    """metric="loss" draws the training loss of every step and the validation loss dashed, at the server's x
    (updates made before the measurement); "accuracy" the validation accuracy; an init-only run refuses."""
    exp = client.submit(TINY_TRAINING)
    exp.wait(60)
    training = exp.result()["training"]
    ax = exp.plot(metric="loss")
    try:
        training_line, validation_line = ax.get_lines()[:2]
        assert list(training_line.get_xdata()) == list(range(len(training["train_loss"])))
        assert list(validation_line.get_xdata()) == [e["step"] for e in training["evals"]]
        assert validation_line.get_linestyle() == "--"
        assert ax.get_xlabel() == "step"
    finally:
        ax.figure.clf()
    ax = exp.plot(metric="accuracy")
    try:
        (line,) = ax.get_lines()
        assert list(line.get_ydata()) == pytest.approx([e["accuracy"] for e in training["evals"]])
    finally:
        ax.figure.clf()
    plain = client.submit(depth=2, width=8, batch=4, init="kaiming_normal", activation="relu")
    plain.wait(60)
    with pytest.raises(ValueError, match="needs a training run"):
        plain.plot(metric="loss")
