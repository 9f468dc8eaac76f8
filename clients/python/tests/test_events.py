"""The SSE iterator: a live run, and resumption with Last-Event-ID after a connection dies mid-event."""

from __future__ import annotations

import urllib.parse

import initlab
from conftest import SMALL, Server
from proxy import CuttingProxy, request_header


def test_events_of_a_live_run(client: initlab.Client) -> None:
    depth = 30
    exp = client.submit(SMALL, depth=depth, width=128, batch=64, seed=21)
    events = list(exp.events())
    assert events[0].event == "status" and events[0].id is None
    assert events[-1].event == "done"
    assert events[-1].data["status"] == "succeeded"
    ids = [e.id for e in events if e.id is not None]
    assert ids == sorted(ids) and len(ids) == len(set(ids)), "ids must strictly increase"
    layers = [e for e in events if e.event == "layer"]
    assert [e.data["index"] for e in layers] == list(range(1, depth + 1))
    # Ids are deterministic: layer k has id layers_total + k, done layers_total + depth + 1.
    total = 2 * depth
    assert [e.id for e in layers] == [total + k for k in range(1, depth + 1)]
    assert events[-1].id == total + depth + 1


def test_events_resume_after_a_dropped_connection(server: Server) -> None:
    client = initlab.Client(server.url, token=server.token)
    exp = client.submit(SMALL, depth=12, seed=22).wait(30)
    reference = [(e.event, e.id, e.data) for e in exp.events()]
    layer_ids = [id_ for event, id_, _ in reference if event == "layer"]
    cut_at = layer_ids[4]  # the 5th layer event's id line gets through, then the connection dies

    host, port = urllib.parse.urlsplit(server.url).hostname, urllib.parse.urlsplit(server.url).port
    with CuttingProxy((host, port), cut_path="/events", marker=f"\nid: {cut_at}\n".encode()) as proxy:
        through = initlab.Client(proxy.url, token=server.token)
        stream = through.experiment(exp.id).events(reconnect_delay=0)
        received = [(e.event, e.id, e.data) for e in stream]

        assert proxy.cuts == 1
        assert stream.reconnects == 1
        event_requests = [head for head in proxy.requests if b"/events" in head.split(b"\r\n", 1)[0]]
        assert len(event_requests) == 2
        assert request_header(event_requests[0], "Last-Event-ID") is None
        # The cut event (id cut_at) was incomplete, so the resume asks for everything after the one before.
        assert request_header(event_requests[1], "Last-Event-ID") == str(layer_ids[3])
    # Nothing lost, nothing twice: exactly the uninterrupted stream.
    assert received == reference


def test_events_resume_after_closing_the_response(client: initlab.Client) -> None:
    exp = client.submit(SMALL, seed=23).wait(30)
    reference = [(e.event, e.id) for e in exp.events()]
    stream = exp.events(reconnect_delay=0)
    received = []
    for event in stream:
        received.append((event.event, event.id))
        if len(received) == 3:
            stream.drop_connection()
    assert stream.reconnects == 1
    assert received == reference


def test_events_start_after_a_given_id(client: initlab.Client) -> None:
    exp = client.submit(SMALL, seed=24).wait(30)
    everything = [e for e in exp.events()]
    last_layer = [e for e in everything if e.event == "layer"][-1]
    tail = list(exp.events(last_event_id=last_layer.id - 1))
    assert [(e.event, e.id) for e in tail] == [("status", None), ("layer", last_layer.id), ("done", everything[-1].id)]
