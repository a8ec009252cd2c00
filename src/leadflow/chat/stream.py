"""The body of a live chat stream (server-sent events) and the gates in front of it.

Guarantees (docs/chat/streams.md, decision 0046):

- on connect, everything after the client's last seq (``?after=`` or the Last-Event-ID
  header, the larger) is replayed from the database, then every new message follows in seq
  order, each once (``id: <seq>``): a stream never skips a seq, whatever the wake-ups do;
- a stream holds no database connection while it waits: each read opens one and closes it
  (``django.db.connection.close()``) before the stream waits again;
- a stream process holds at most ``LEADFLOW_STREAM_CAPACITY`` streams: the one beyond
  answers 503 with Retry-After at once (its threads are capacity + spare, so the refusal
  and the other requests always find a thread); only the stream tier
  (``LEADFLOW_STREAM_TIER``) holds streams, a web process answers them 503 at once;
- a stream ends after ``LEADFLOW_STREAM_SECONDS`` (the client reconnects from its last
  seq) and says ``: ping`` every ``LEADFLOW_STREAM_PING_SECONDS`` (a dead client is found
  by the failed write, and proxies keep the connection).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from leadflow.chat.live import HUB
from leadflow.core.problems import problem_response

RETRY_AFTER_FULL = "10"  # seconds a refused client polls before it tries a stream again
RETRY_AFTER_WRONG_TIER = "60"
RECONNECT_MILLISECONDS = 3000


def connection_release() -> None:
    """Close this thread's database connection (a request never runs inside a transaction
    here; a caller's transaction, a test's say, keeps its connection)."""
    if not connection.in_atomic_block:
        connection.close()


class Slots:
    """The streams this process holds, counted against its capacity."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held = 0

    def take(self) -> bool:
        with self.lock:
            if self.held >= settings.LEADFLOW_STREAM_CAPACITY:
                return False
            self.held += 1
            return True

    def give(self) -> None:
        with self.lock:
            self.held = max(0, self.held - 1)


SLOTS = Slots()


def stream_refusal(request: HttpRequest) -> HttpResponse | None:
    """404 when streams are off; 503 on a web process (streams belong to the stream tier:
    a web worker's thread must never wait minutes); None on the stream tier."""
    if not settings.LEADFLOW_STREAMS:
        return problem_response(404, "Live streams are off here; poll.", code="streams_off")
    if not settings.LEADFLOW_STREAM_TIER:
        return problem_response(
            503,
            "Streams are served by the stream tier (docs/chat/streams.md); poll meanwhile.",
            code="stream_tier_only",
            headers={"Retry-After": RETRY_AFTER_WRONG_TIER},
        )
    return None


def stream_full() -> HttpResponse:
    return problem_response(
        503,
        "This stream server is full; poll and try again later.",
        code="streams_full",
        headers={"Retry-After": RETRY_AFTER_FULL},
    )


def last_seq_asked(request: HttpRequest) -> int | None:
    """The larger of ``?after=`` and the Last-Event-ID header (a browser's own reconnect
    sends the latter with the first address); None when either is not a whole number."""
    values = [request.GET.get("after", "0") or "0", request.headers.get("Last-Event-ID", "0")]
    seen = 0
    for value in values:
        value = value.strip() or "0"
        if not value.isascii() or not value.isdigit() or len(value) > 12:
            return None
        seen = max(seen, int(value))
    return seen


@dataclass
class Snapshot:
    """What one read found: the status event's data and the messages after the seq asked."""

    status: dict[str, Any]
    messages: list[dict[str, Any]]
    more: bool = False  # the read stopped at its limit: read again at once


# Reads what is new after a seq; raises NotFound when the reader may no longer see it.
Reader = Callable[[int], Snapshot]


def sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


@dataclass
class EventStream:
    """One stream's body, handed to StreamingHttpResponse (which calls ``close``, releasing
    the slot, also when the body was never read)."""

    conversation_id: int
    read: Reader
    after: int
    # Typing events from this side are not sent back to it ("agent" or "visitor").
    me: str
    _released: bool = False
    _body: Iterator[bytes] | None = None
    _watch: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __iter__(self) -> Iterator[bytes]:
        self._body = self._events()
        return self._body

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
        self._release()

    def _release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        if self._watch is not None:
            HUB.unwatch(self._watch)
        SLOTS.give()

    def _snapshot(self) -> Snapshot:
        try:
            return self.read(self.after)
        finally:
            connection_release()  # never hold a connection while waiting

    def _events(self) -> Iterator[bytes]:
        # Watch first, then replay: a message committed in between still wakes this stream.
        self._watch = HUB.watch(self.conversation_id)
        try:
            yield f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
            status: dict[str, Any] | None = None
            started = time.monotonic()
            ping_due = started + settings.LEADFLOW_STREAM_PING_SECONDS
            deadline = started + settings.LEADFLOW_STREAM_SECONDS
            stale = True
            while True:
                if stale:
                    try:
                        snapshot = self._snapshot()
                    except Exception:  # gone, no longer visible, database away: end
                        yield b"event: end\ndata: {}\n\n"
                        return
                    for message in snapshot.messages:
                        if message["seq"] > self.after:
                            self.after = message["seq"]
                            yield sse("message", message, message["seq"])
                    # A new status, or who has it, is sent; the seq it was read at rides
                    # along so that a client with a newer answer from elsewhere keeps it.
                    if not _same_status(snapshot.status, status):
                        status = snapshot.status
                        yield sse("status", status)
                    self._watch.seq, self._watch.status = self.after, status["status"]
                    stale = snapshot.more
                    if stale:
                        continue
                now = time.monotonic()
                if now >= deadline:
                    return
                try:
                    wait = max(0.0, min(ping_due, deadline) - now)
                    event, data = self._watch.queue.get(timeout=wait)
                except queue.Empty:
                    if time.monotonic() >= ping_due:
                        ping_due = time.monotonic() + settings.LEADFLOW_STREAM_PING_SECONDS
                        yield b": ping\n\n"
                    continue
                pending = [(event, data)]
                while True:  # several notices at once: one read serves them all
                    try:
                        pending.append(self._watch.queue.get_nowait())
                    except queue.Empty:
                        break
                for event, data in pending:
                    if event == "typing":
                        if isinstance(data, dict) and data.get("who") != self.me:
                            yield sse("typing", {"who": data.get("who"), "name": data.get("name")})
                    else:
                        stale = True
        finally:
            self._release()


def status_json(conversation: Any) -> dict[str, Any]:
    """The status event's data: the status, who has the conversation (once handed over) and
    the conversation's last seq when it was read. A client that hears of the conversation
    from two places (the stream, a post's answer, a poll) keeps the status read at the
    higher seq: an older read delivered late does not undo a newer one."""
    assignee = getattr(conversation, "assignee", None)
    name = assignee.display_name if assignee is not None else ""
    return {
        "status": conversation.status,
        "assignee": {"name": name} if name else None,
        "seq": conversation.last_seq,
    }


def _same_status(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    return old is not None and (new["status"], new["assignee"]) == (
        old["status"],
        old["assignee"],
    )


def same_site_cors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """Let the app's own pages read a member's stream with their session cookie when the
    stream tier listens on another port of the same host (``leadflow serve``: web port + 1):
    an Origin whose host name equals this request's may read, with credentials; no other."""
    origin = request.headers.get("Origin", "")
    if origin and urlsplit(origin).hostname == request.get_host().rsplit(":", 1)[0].strip("[]"):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Access-Control-Expose-Headers"] = "Retry-After"
    response["Vary"] = "Origin"
    return response


def event_stream_response(stream: EventStream) -> HttpResponse:
    """The streaming answer, or 503 at once when this process is full."""
    # The view's reads are done: granian may iterate the body on another thread, so this
    # thread's connection would otherwise stay open until the stream ends.
    connection_release()
    if not SLOTS.take():
        return stream_full()
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
