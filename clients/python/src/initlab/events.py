"""Server-Sent Events (the WHATWG event-stream format) with resumption by ``Last-Event-ID``."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, List, Optional

from ._http import TRANSPORT_ERRORS, parse_retry_after
from .errors import InitLabError

if TYPE_CHECKING:  # pragma: no cover
    from ._http import Transport


@dataclass(frozen=True)
class Event:
    """One event of an experiment's stream.

    ``event`` is ``status``, ``progress``, ``layer``, ``eval``, ``snapshot`` or ``done``; ``data`` the decoded
    JSON (the raw text if it is not JSON); ``id`` the event's id, or None for events sent without one (the
    opening ``status`` snapshot, and ``progress`` once layer events have started).
    """

    event: str
    data: Any
    id: Optional[int] = None


class EventStream(Iterator[Event]):
    """Iterates over ``GET /v1/experiments/{id}/events`` until the ``done`` event.

    When the connection drops (an error, a read timeout, or the end of the stream before ``done``), it
    reconnects with ``Last-Event-ID`` set to the last id received, so the server sends only later events: no
    gap and no duplicate. An event cut off by the drop is discarded, as the format requires, and comes again
    after the reconnect. The ``status`` snapshot that opens every connection is yielded once, on the first; an
    event whose id is not above the last one is never yielded twice (a guard the server makes unnecessary).

    ``reconnect_delay`` is the pause before reconnecting (default: the stream's ``retry:`` field, capped at
    ``max_reconnect_delay``); ``max_reconnects`` bounds consecutive failed reconnects (the count starts over
    whenever an event arrives). ``read_timeout`` must exceed the server's heartbeat interval (15 s by default).
    Use it as an iterator or a context manager; ``close()`` ends it early.
    """

    def __init__(
        self,
        transport: "Transport",
        path: str,
        *,
        last_event_id: Optional[int] = None,
        reconnect_delay: Optional[float] = None,
        max_reconnect_delay: float = 5.0,
        max_reconnects: int = 5,
        read_timeout: float = 60.0,
    ) -> None:
        self._transport = transport
        self._path = path
        self.last_event_id: Optional[int] = last_event_id
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.max_reconnects = max_reconnects
        self.read_timeout = read_timeout
        #: How many times the stream was reopened after a drop.
        self.reconnects = 0
        self._failures = 0
        self._retry_ms: Optional[int] = None
        self._conn: Optional[http.client.HTTPConnection] = None
        self._resp: Optional[http.client.HTTPResponse] = None
        self._connections = 0
        self._finished = False

    # ---- iterator protocol ----

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        while True:
            if self._finished:
                raise StopIteration
            if self._resp is None:
                self._connect()
            try:
                event = self._read_event()
            except TRANSPORT_ERRORS + (OSError, ValueError):
                # ValueError: http.client reading from a response closed under it.
                event = None
            if event is None:
                self._drop()
                continue
            self._failures = 0
            if event.event == "status" and event.id is None and self._connections > 1:
                continue  # the snapshot a resumed connection opens with: already seen on the first
            if event.id is not None:
                if self.last_event_id is not None and event.id <= self.last_event_id:
                    continue
                self.last_event_id = event.id
            if event.event == "done":
                self._finished = True
                self._close_connection()
            return event

    def close(self) -> None:
        """Stops the iteration and closes the connection."""
        self._finished = True
        self._close_connection()

    def drop_connection(self) -> None:
        """Closes the current connection as a network failure would; the next step resumes. For tests."""
        self._close_connection()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- connection ----

    def _connect(self) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        try:
            conn, resp = self._transport.open("GET", self._path, headers=headers, timeout=self.read_timeout)
        except TRANSPORT_ERRORS + (OSError,):
            self._failed_attempt(None)
            return
        if resp.status != 200:
            body = resp.read()
            conn.close()
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            error = InitLabError.from_response(resp.status, resp.reason, resp.headers, body, retry_after)
            if resp.status in (429, 503):
                self._failed_attempt(error)
                return
            raise error
        self._conn, self._resp = conn, resp
        self._connections += 1
        if self._connections > 1:
            self.reconnects += 1

    def _drop(self) -> None:
        self._close_connection()
        self._failed_attempt(None)

    def _failed_attempt(self, error: Optional[InitLabError]) -> None:
        self._failures += 1
        if self._failures > self.max_reconnects:
            self._finished = True
            if error is not None:
                raise error
            raise ConnectionError(
                f"event stream {self._path}: gave up after {self.max_reconnects} reconnects "
                f"(last event id {self.last_event_id})"
            )
        if self.reconnect_delay is not None:
            delay = self.reconnect_delay
        elif error is not None and error.retry_after is not None:
            delay = error.retry_after
        else:
            delay = (self._retry_ms if self._retry_ms is not None else 2000) / 1000.0
        delay = min(delay, self.max_reconnect_delay)
        if delay > 0:
            time.sleep(delay)

    def _close_connection(self) -> None:
        resp, conn = self._resp, self._conn
        self._resp = self._conn = None
        for closable in (resp, conn):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass

    # ---- parsing (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation) ----

    def _read_event(self) -> Optional[Event]:
        """The next complete event, or None at the end of the stream (an unfinished event is discarded)."""
        assert self._resp is not None
        data: List[str] = []
        name = ""
        event_id: Optional[int] = None
        has_fields = False
        while True:
            raw = self._resp.readline()
            if not raw:
                return None
            if not raw.endswith(b"\n"):
                return None  # the connection ended in the middle of a line
            line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")
            if line == "":
                if not has_fields or (not data and not name):
                    # A comment-only or id-only block dispatches nothing.
                    if event_id is not None:
                        self.last_event_id = max(self.last_event_id or 0, event_id)
                    data, name, event_id, has_fields = [], "", None, False
                    continue
                text = "\n".join(data)
                try:
                    value: Any = json.loads(text) if text else None
                except ValueError:
                    value = text
                return Event(name or "message", value, event_id)
            if line.startswith(":"):
                continue  # a comment, e.g. the heartbeat
            field, _, value_text = line.partition(":")
            if value_text.startswith(" "):
                value_text = value_text[1:]
            has_fields = True
            if field == "data":
                data.append(value_text)
            elif field == "event":
                name = value_text
            elif field == "id":
                if value_text.isdigit():
                    event_id = int(value_text)
            elif field == "retry":
                if value_text.isdigit():
                    self._retry_ms = int(value_text)
