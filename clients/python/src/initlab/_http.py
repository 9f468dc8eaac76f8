"""The HTTP layer: one ``http.client`` connection per request (no dependency), JSON in and out, problem+json to
:class:`~initlab.errors.InitLabError`, and bounded retries that honour ``Retry-After``."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Type

from .errors import InitLabError

USER_AGENT = "initlab-python/0.1"

#: Statuses that mean "nothing was done, try again later" (the server sends Retry-After with them).
RETRYABLE_STATUSES = frozenset({429, 503})
#: Problem codes of a 409 that are retried the same way: the first request with this Idempotency-Key is still
#: being handled, so the repeat will be answered with its response once it is done.
RETRYABLE_CONFLICTS = frozenset({"idempotency_key_in_use"})
#: Failures of the connection itself; retried only for requests that are safe to repeat.
TRANSPORT_ERRORS: Tuple[Type[BaseException], ...] = (
    ConnectionError,
    http.client.HTTPException,
    socket.timeout,
    TimeoutError,
)


@dataclass
class Response:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Transport:
    """Sends requests to one server. ``base_url`` may carry a path prefix (a server behind a proxy)."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str],
        *,
        timeout: float,
        max_retries: int,
        max_retry_wait: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http://host[:port] or https://…, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep

    # ---- one exchange ----

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def target(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        url = self.prefix + path
        if query:
            pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        return url

    def headers_for(self, headers: Optional[Mapping[str, str]], has_body: bool) -> Dict[str, str]:
        out = {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
        if has_body:
            out["Content-Type"] = "application/json"
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(headers or {})
        return out

    def open(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends a request and returns the open connection and response (the caller reads and closes)."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        conn = self.connect(self.timeout if timeout is None else timeout)
        try:
            headers = self.headers_for(headers, payload is not None)
            conn.request(method, self.target(path, query), body=payload, headers=headers)
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def once(self, method: str, path: str, **kwargs: Any) -> Response:
        conn, resp = self.open(method, path, **kwargs)
        try:
            body = resp.read()
            return Response(resp.status, resp.reason, resp.headers, body)
        finally:
            conn.close()

    # ---- with retries ----

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        retry: bool = False,
        retry_connection_errors: bool = True,
        expect: Tuple[int, ...] = (200,),
    ) -> Response:
        """One logical request. Answers outside ``expect`` (and ≥ 400) raise InitLabError.

        With ``retry`` (a GET, or a POST that is safe to repeat because of its Idempotency-Key or because the
        server refuses it before doing anything), a 503 or 429, a 409 idempotency_key_in_use, or a broken
        connection is retried up to ``max_retries`` times, sleeping ``Retry-After`` seconds (else an exponential
        back-off from 0.5 s). The sleeps together stay within ``max_retry_wait``; a ``Retry-After`` that would
        exceed it raises at once instead of sleeping in vain. ``retry_connection_errors=False`` keeps the status
        retries but not those of a broken connection (for a POST the server may have carried out unseen).
        """
        attempts = 0
        slept = 0.0
        while True:
            attempts += 1
            delay: Optional[float] = None
            try:
                resp = self.once(method, path, query=query, body=body, headers=headers, timeout=timeout)
            except TRANSPORT_ERRORS:
                if not (retry and retry_connection_errors) or attempts > self.max_retries:
                    raise
                delay = min(0.5 * 2 ** (attempts - 1), 8.0)
                if slept + delay > self.max_retry_wait:
                    raise
            else:
                if resp.status in expect:
                    return resp
                if resp.status < 400:
                    raise InitLabError(resp.status, resp.reason, f"unexpected status {resp.status} for {method} {path}")
                retry_after = parse_retry_after(resp.header("Retry-After"))
                error = InitLabError.from_response(resp.status, resp.reason, resp.headers, resp.body, retry_after)
                retryable = resp.status in RETRYABLE_STATUSES or (
                    resp.status == 409 and error.code in RETRYABLE_CONFLICTS
                )
                if not (retry and retryable) or attempts > self.max_retries:
                    raise error
                delay = retry_after if retry_after is not None else min(0.5 * 2 ** (attempts - 1), 8.0)
                if slept + delay > self.max_retry_wait:
                    raise error
            self.sleep(delay)
            slept += delay


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
