"""Submitting, waiting, results, errors, cancel and listing against the real server."""

from __future__ import annotations

import uuid

import pytest

import initlab
from conftest import BLOCKER, SMALL, Server, running_server


def test_submit_wait_result(client: initlab.Client) -> None:
    exp = client.submit(SMALL)
    assert exp.job is not None and exp.job["status"] in ("queued", "running", "succeeded")
    assert exp.wait(timeout=30) is exp
    assert exp.job["status"] == "succeeded"
    assert exp.status() == "succeeded"
    result = exp.result()
    assert [layer["index"] for layer in result["layers"]] == list(range(1, SMALL["depth"] + 1))
    assert result["summary"]["forward_verdict"] == "stable"
    assert exp.label == "kaiming_normal · relu"


def test_run_returns_the_result(client: initlab.Client) -> None:
    result = client.run(SMALL, seed=3, timeout=30)
    assert result["spec"]["seed"] == 3
    assert len(result["layers"]) == SMALL["depth"]


def test_keyword_fields_and_dict_give_the_same_spec(client: initlab.Client) -> None:
    by_dict = client.submit(dict(SMALL, seed=11))
    by_keywords = client.submit(**SMALL, seed=11)
    mixed = client.submit(dict(SMALL, seed=99), seed=11)  # keywords override the dict
    assert by_dict.id != by_keywords.id
    assert by_dict.spec == by_keywords.spec == mixed.spec
    assert by_dict.spec["seed"] == 11
    # Deterministic given the seed: the same statistics, whichever way the spec was written.
    assert by_dict.wait(30).result()["layers"] == by_keywords.wait(30).result()["layers"]


def test_idempotency_key_reuse_gives_the_same_experiment(client: initlab.Client) -> None:
    key = str(uuid.uuid4())
    first = client.submit(SMALL, idempotency_key=key, seed=5)
    again = client.submit(SMALL, idempotency_key=key, seed=5)
    assert again.id == first.id
    with pytest.raises(initlab.InitLabError) as info:
        client.submit(SMALL, idempotency_key=key, seed=6)  # same key, another spec
    assert info.value.status == 422


def test_each_submission_gets_its_own_key(client: initlab.Client) -> None:
    """Without an explicit key, two identical submissions are two experiments."""
    assert client.submit(SMALL).id != client.submit(SMALL).id


def test_invalid_spec_raises_with_field_pointers(client: initlab.Client) -> None:
    with pytest.raises(initlab.InitLabError) as info:
        client.submit(SMALL, depth=0)
    error = info.value
    assert error.status == 422
    assert error.code == "invalid_spec"
    assert error.title
    assert error.detail
    assert error.pointers == ["/depth"]
    assert error.errors[0] == initlab.FieldError("/depth", error.errors[0].detail)
    assert error.instance == "/v1/experiments"
    assert error.request_id
    assert "/depth" in str(error)


def test_unknown_field_points_at_it(client: initlab.Client) -> None:
    with pytest.raises(initlab.InitLabError) as info:
        client.submit(SMALL, dropout=0.5)
    assert info.value.status == 422
    assert "/dropout" in info.value.pointers


def test_unknown_experiment_is_a_404(client: initlab.Client) -> None:
    with pytest.raises(initlab.InitLabError) as info:
        client.experiment(str(uuid.uuid4())).status()
    assert info.value.status == 404
    assert info.value.code == "not_found"


def test_token_is_sent_and_comes_from_the_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INITLAB_TOKEN", raising=False)
    with pytest.raises(initlab.InitLabError) as info:
        initlab.Client(server.url).submit(SMALL)
    assert info.value.status == 401
    monkeypatch.setenv("INITLAB_TOKEN", server.token)
    assert initlab.Client(server.url).submit(SMALL).wait(30).job["status"] == "succeeded"


def test_cancel_queued_and_running_jobs(client: initlab.Client) -> None:
    """One worker: the blocker runs, so the next job stays queued until cancelled."""
    blocker = client.submit(BLOCKER)
    queued = client.submit(SMALL, seed=77)
    try:
        with pytest.raises(initlab.WaitTimeout) as info:
            queued.wait(timeout=1)
        assert info.value.last is not None and info.value.last["status"] == "queued"
        with pytest.raises(initlab.InitLabError) as not_finished:
            queued.result()
        assert not_finished.value.status == 409 and not_finished.value.code == "not_finished"

        assert queued.cancel()["status"] == "cancelled"
        assert queued.status() == "cancelled"
        with pytest.raises(initlab.InitLabError) as cancelled:
            queued.result()
        assert cancelled.value.status == 409 and cancelled.value.code == "cancelled"
    finally:
        job = blocker.cancel()
    assert job["status"] == "cancelled"
    assert blocker.wait(timeout=30).job["status"] == "cancelled"
    # A terminal job is returned unchanged.
    assert queued.cancel()["status"] == "cancelled"


def test_experiments_iterates_every_page(client: initlab.Client) -> None:
    submitted = {client.submit(SMALL, seed=1000 + i).id for i in range(7)}
    pages = list(client.pages(page_size=3))
    assert len(pages) >= 3
    assert all(len(page["experiments"]) <= 3 for page in pages)
    assert all("next_page_token" in page for page in pages[:-1])
    assert "next_page_token" not in pages[-1]
    listed = [exp.id for exp in client.experiments(page_size=3)]
    assert len(listed) == len(set(listed)), "an experiment came twice"
    assert submitted <= set(listed)
    assert len(listed) == sum(len(page["experiments"]) for page in pages)


def test_experiments_filters_by_status(client: initlab.Client) -> None:
    exp = client.submit(SMALL, seed=2000)
    exp.wait(30)
    succeeded = list(client.experiments(status="succeeded", page_size=2))
    assert succeeded and all(e.job is not None and e.job["status"] == "succeeded" for e in succeeded)
    assert exp.id in {e.id for e in succeeded}


def test_wait_long_polls_one_request_per_change(client: initlab.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """wait() sends ?wait= with the last ETag, and each answer is a change (a new ETag), not a polling tick."""
    exp = client.submit(SMALL, depth=40, width=128, batch=64)
    calls = []
    once = client._transport.once

    def spy(method, path, **kwargs):
        resp = once(method, path, **kwargs)
        calls.append((kwargs.get("query"), kwargs.get("headers"), resp.status, resp.header("ETag")))
        return resp

    monkeypatch.setattr(client._transport, "once", spy)
    exp.wait(timeout=60)
    assert exp.job["status"] == "succeeded"
    assert calls, "the job finished before the first long-poll: make it bigger"
    assert all(query == {"wait": client.long_poll} for query, _, _, _ in calls)
    assert all(headers and headers.get("If-None-Match") for _, headers, _, _ in calls)
    assert [status for _, _, status, _ in calls] == [200] * len(calls), "a long-poll timed out unchanged"
    etags = [etag for _, _, _, etag in calls]
    assert len(set(etags)) == len(etags), "two answers for the same state"


def test_schemes(client: initlab.Client) -> None:
    catalog = client.schemes()
    names = {s["name"] for s in catalog["initializers"]}
    assert {"xavier_normal", "kaiming_normal", "orthogonal"} <= names
    assert {s["name"] for s in catalog["activations"]} >= {"relu", "tanh"}
    assert all(s["kind"] == "init" for s in catalog["initializers"])


def test_wait_adapts_to_a_server_with_a_shorter_long_poll() -> None:
    """A server started with --max-wait 2 refuses ?wait=30 (400 naming its limit); wait() then asks for 2."""
    with running_server("--max-wait", "2") as srv:
        client = initlab.Client(srv.url, token=srv.token)
        blocker = client.submit(BLOCKER)
        queued = client.submit(SMALL)
        try:
            with pytest.raises(initlab.WaitTimeout):
                queued.wait(timeout=4.5)  # asks for ?wait=4 first
            assert client.long_poll == 2
        finally:
            queued.cancel()
            blocker.cancel()
        assert queued.wait(timeout=10).job["status"] == "cancelled"
