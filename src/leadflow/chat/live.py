"""Live delivery's plumbing: the publish seam and the wake-ups of waiting streams.

``live_notify(conversation_id, event, data)`` is called by a service inside the transaction
that wrote the change; the notice leaves after the commit (``transaction.on_commit``), so a
stream never learns of a message the database does not hold yet, and a rolled-back write
announces nothing. A notice carries no message: it only wakes the streams watching the
conversation, which read what is new from the database (``chat.stream``), so the database
stays the one source (a lost notice costs latency, never a message) and what a visitor may
not see (internal notes) is decided by the same read as the poll's.

Two ways to wake, one per installation (docs/chat/streams.md, decision 0046):

- Redis pub/sub when ``REDIS_URL`` is set: every notice is published on one channel;
  one subscriber thread per stream process wakes the local waiters (and, after any
  reconnect to Redis, all of them: whatever was published meanwhile is read again);
- the database otherwise: one poller thread per stream process reads ``last_seq`` and
  ``status`` of the watched conversations every ``LEADFLOW_STREAM_POLL_SECONDS`` with its
  one connection and wakes the waiters of those that changed. Typing (ephemeral, never in
  the database) goes through small files under ``LEADFLOW_DATA_DIR/live-typing``, which
  the same poller scans: this mode is for one machine (scaled out means Redis).

A stream registers its ``Watch`` before it replays from the database, so a message
committed between the replay and the first wake-up is never missed (a first sight of a
conversation by the poller wakes its waiters once).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from leadflow.chat.models import Conversation

logger = logging.getLogger(__name__)

CHANNEL = "leadflow:chat:live"
EVENTS = ("message", "status", "typing")
TYPING_SECONDS = 6.0  # a typing signal older than this is stale
CHUNK = 500  # ids per query (SQLite's variable limit)


def live_notify(conversation_id: int, event: str = "message", data: dict | None = None) -> None:
    """Wake the streams of ``conversation_id`` after the current transaction commits
    (at once outside one). ``event``: "message" (new messages), "status" (the status or
    assignee changed), "typing" (``data``: who, name; never stored)."""
    if event not in EVENTS:
        raise ValueError(f"unknown live event {event!r}")
    transaction.on_commit(lambda: live_publish(conversation_id, event, data))


def live_publish(conversation_id: int, event: str, data: dict | None = None) -> None:
    """Send the notice now (after the commit). Never raises: a notice that cannot leave
    costs latency (the client's reconnect or poll replays from the database)."""
    try:
        if settings.REDIS_URL:
            payload = json.dumps({"c": conversation_id, "e": event, "d": data})
            redis_client().publish(CHANNEL, payload)
            return
        if event == "typing":
            typing_write(conversation_id, data or {})
        # Same-process waiters (the poller would find them within its interval anyway).
        HUB.dispatch(conversation_id, event, data)
    except Exception:  # best effort: the database has the truth, the replay covers it
        logger.warning("chat live: notice for %s not sent", conversation_id, exc_info=True)


_redis_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}


def redis_client() -> Any:
    """One Redis client per process and address (redis-py's pool is thread-safe)."""
    with _redis_lock:
        client = _redis_clients.get(settings.REDIS_URL)
        if client is None:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
            _redis_clients[settings.REDIS_URL] = client
        return client


# --- typing in database mode: one small file per conversation and side --------------------


def typing_dir() -> Path:
    return Path(settings.DATA_DIR) / "live-typing"


def typing_write(conversation_id: int, data: dict) -> None:
    """Leave a typing signal the poller of every stream process on this machine finds."""
    folder = typing_dir()
    folder.mkdir(exist_ok=True)
    who = "agent" if data.get("who") == "agent" else "visitor"
    target = folder / f"{int(conversation_id)}-{who}.json"
    temporary = folder / f".{int(conversation_id)}-{who}.{os.getpid()}.{threading.get_ident()}"
    temporary.write_text(json.dumps(data))
    temporary.replace(target)  # atomic: a reader never sees half a file


def typing_scan(since: float) -> list[tuple[int, dict]]:
    """Typing signals written after ``since`` (epoch seconds); removes stale files."""
    found = []
    now = time.time()
    with contextlib.suppress(FileNotFoundError), os.scandir(typing_dir()) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError, ValueError):
                modified = entry.stat().st_mtime
                if modified < now - TYPING_SECONDS:
                    os.unlink(entry.path)
                    continue
                if modified <= since:
                    continue
                conversation_id = int(entry.name.split("-", 1)[0])
                found.append((conversation_id, json.loads(Path(entry.path).read_text())))
    return found


# --- the hub: who waits for which conversation --------------------------------------------


class Watch:
    """One stream's mailbox: (event, data) pairs put by the hub's thread. ``seq`` and
    ``status`` are what the stream last read (-1 and "" until its replay is done): the
    database poller wakes only the streams behind the row."""

    def __init__(self, conversation_id: int):
        self.conversation_id = conversation_id
        self.queue: queue.SimpleQueue[tuple[str, dict | None]] = queue.SimpleQueue()
        self.seq = -1
        self.status = ""

    def behind(self, last_seq: int, status: str) -> bool:
        return self.seq < 0 or self.seq < last_seq or self.status != status


class Hub:
    """The waiters of this process by conversation, and the one thread that wakes them
    (a Redis subscriber or the database poller, started with the first watch)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.watches: dict[int, set[Watch]] = {}
        self.thread: threading.Thread | None = None
        self.seen: dict[int, tuple[int, str]] = {}

    def watch(self, conversation_id: int) -> Watch:
        watch = Watch(conversation_id)
        with self.lock:
            self.watches.setdefault(conversation_id, set()).add(watch)
            if self.thread is None or not self.thread.is_alive():
                target = self._subscribe if settings.REDIS_URL else self._poll
                self.thread = threading.Thread(target=target, name="chat-live", daemon=True)
                self.thread.start()
        return watch

    def unwatch(self, watch: Watch) -> None:
        with self.lock:
            waiting = self.watches.get(watch.conversation_id)
            if waiting is not None:
                waiting.discard(watch)
                if not waiting:
                    del self.watches[watch.conversation_id]
                    self.seen.pop(watch.conversation_id, None)

    def watched(self) -> list[int]:
        with self.lock:
            return list(self.watches)

    def dispatch(self, conversation_id: int, event: str, data: dict | None = None) -> None:
        for watch in self.waiting(conversation_id):
            watch.queue.put((event, data))

    def waiting(self, conversation_id: int) -> list[Watch]:
        with self.lock:
            return list(self.watches.get(conversation_id, ()))

    def wake_all(self) -> None:
        for conversation_id in self.watched():
            self.dispatch(conversation_id, "message")

    # Redis mode ---------------------------------------------------------------------------

    def _subscribe(self) -> None:
        while True:
            try:
                # No read timeout: the subscription waits as long as nothing is published.
                import redis

                listener = redis.Redis.from_url(settings.REDIS_URL, socket_keepalive=True)
                pubsub = listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.wake_all()  # anything published before this subscription is read again
                for item in pubsub.listen():
                    self._on_published(item.get("data"))
            except Exception:  # Redis away: retry; the wake-up after it covers the gap
                logger.warning("chat live: Redis subscription lost; retrying", exc_info=True)
                time.sleep(1.0)

    def _on_published(self, raw: Any) -> None:
        try:
            notice = json.loads(raw)
            self.dispatch(int(notice["c"]), str(notice["e"]), notice.get("d"))
        except (TypeError, ValueError, KeyError):
            logger.warning("chat live: unreadable notice %r", raw)

    # Database mode ------------------------------------------------------------------------

    def _poll(self) -> None:
        typing_since = time.time()
        while True:
            time.sleep(settings.LEADFLOW_STREAM_POLL_SECONDS)
            try:
                ids = self.watched()
                if not ids:
                    connection.close()  # no stream waits: hold nothing
                    continue
                self._poll_once(ids)
                scanned_at = time.time()
                for conversation_id, data in typing_scan(typing_since):
                    self.dispatch(conversation_id, "typing", data)
                typing_since = scanned_at
            except DatabaseError:
                logger.warning("chat live: poll failed; retrying", exc_info=True)
                with contextlib.suppress(DatabaseError):
                    connection.close()
            except Exception:  # the poller must outlive any one bad pass
                logger.exception("chat live: poll pass failed")

    def _poll_once(self, ids: list[int]) -> None:
        for start in range(0, len(ids), CHUNK):
            rows = Conversation.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
                "pk", "last_seq", "status"
            )
            for conversation_id, last_seq, status in rows:
                if self.seen.get(conversation_id) == (last_seq, status):
                    continue
                self.seen[conversation_id] = (last_seq, status)
                # Only the streams behind the row read again (a thousand streams arriving
                # at once must not all read twice).
                for watch in self.waiting(conversation_id):
                    if watch.behind(last_seq, status):
                        watch.queue.put(("message", None))


HUB = Hub()


def stream_base_url() -> str | None:
    """The stream tier's address as browsers reach it, or None when streams are off."""
    if not settings.LEADFLOW_STREAMS or not settings.LEADFLOW_CHAT_STREAM_URL:
        return None
    return settings.LEADFLOW_CHAT_STREAM_URL


def visitor_stream_url() -> str | None:
    """The widget's stream address (the start/resume answer's ``stream_url``)."""
    base = stream_base_url()
    return f"{base}/e/chat/stream" if base else None


def member_stream_url(path: str) -> str | None:
    """A member stream's address for the inbox (``path``: the reversed
    ``chat_conversation_stream`` URL), or None when streams are off (the page polls)."""
    base = stream_base_url()
    return f"{base}{path}" if base else None
