"""Errors raised by the client: an RFC 9457 problem from the server becomes an :class:`InitLabError`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional


@dataclass(frozen=True)
class FieldError:
    """One invalid field: an RFC 6901 JSON pointer into the request body ("" = the whole body) and why."""

    pointer: str
    detail: str


class InitLabError(Exception):
    """The server answered with an error (``application/problem+json``, RFC 9457).

    Every field of the problem is an attribute: ``status`` (the HTTP status), ``title``, ``detail``, ``code``
    (stable and machine-readable, e.g. ``invalid_spec``, ``queue_full``, ``not_finished``), ``type``,
    ``instance``, ``request_id``, ``links``, and ``errors``, a list of :class:`FieldError` with the JSON pointer
    of each invalid field (``pointers`` lists just the pointers). ``problem`` is the whole decoded body, and
    ``retry_after`` the ``Retry-After`` header in seconds when the server sent one.

    An error answer that is not a problem (say, a proxy's HTML page) still raises this, with ``title`` the HTTP
    reason and ``detail`` the start of the body.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        code: Optional[str] = None,
        type: Optional[str] = None,
        instance: Optional[str] = None,
        request_id: Optional[str] = None,
        errors: Optional[List[FieldError]] = None,
        links: Optional[Dict[str, str]] = None,
        retry_after: Optional[float] = None,
        problem: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.type = type
        self.instance = instance
        self.request_id = request_id
        self.errors: List[FieldError] = list(errors or [])
        self.links: Dict[str, str] = dict(links or {})
        self.retry_after = retry_after
        self.problem: Dict[str, Any] = dict(problem or {})
        super().__init__(str(self))

    @property
    def pointers(self) -> List[str]:
        """The JSON pointers of the invalid fields, in the server's order."""
        return [e.pointer for e in self.errors]

    def __str__(self) -> str:
        text = f"{self.status} {self.title}"
        if self.code:
            text += f" ({self.code})"
        if self.detail:
            text += f": {self.detail}"
        fields = []
        for e in self.errors:
            pointer = e.pointer or '""'  # "" points at the whole body
            fields.append(pointer if e.detail == self.detail else f"{pointer}: {e.detail}")
        if fields:
            text += " [" + "; ".join(fields) + "]"
        return text

    def __repr__(self) -> str:
        return f"InitLabError(status={self.status!r}, code={self.code!r}, title={self.title!r})"

    @classmethod
    def from_response(
        cls, status: int, reason: str, headers: Any, body: bytes, retry_after: Optional[float] = None
    ) -> "InitLabError":
        """Builds the error from an HTTP answer, decoding a problem+json (or any JSON object) body."""
        problem: Optional[Dict[str, Any]] = None
        try:
            decoded = json.loads(body.decode("utf-8")) if body else None
            if isinstance(decoded, dict):
                problem = decoded
        except (UnicodeDecodeError, ValueError):
            problem = None
        if problem is None:
            snippet = body[:300].decode("utf-8", "replace").strip()
            return cls(status, reason or "HTTP error", snippet, retry_after=retry_after)
        errors = []
        for item in problem.get("errors") or []:
            if isinstance(item, dict):
                errors.append(FieldError(str(item.get("pointer", "")), str(item.get("detail", ""))))
        links = problem.get("links") if isinstance(problem.get("links"), dict) else None
        return cls(
            int(problem.get("status") or status),
            str(problem.get("title") or reason or "HTTP error"),
            str(problem.get("detail") or ""),
            code=problem.get("code"),
            type=problem.get("type"),
            instance=problem.get("instance"),
            request_id=problem.get("request_id"),
            errors=errors,
            links=links,
            retry_after=retry_after,
            problem=problem,
        )


class WaitTimeout(TimeoutError):
    """``wait(timeout=…)`` ran out before the job (or sweep) reached a terminal state."""

    def __init__(self, message: str, last: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        #: The last state seen (a Job or a Sweep object).
        self.last = last
