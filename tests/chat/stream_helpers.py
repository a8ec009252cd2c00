"""What the stream tests share: the stream tier as a real granian process on the test
database, and a server-sent events reader that can be cut mid-stream."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

from django.conf import settings
from django.db import connection

from leadflow.chat import services
from tests.outages import free_port

# A flow that hands over at once: the conversation then takes any number of messages.
HANDOVER_GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi!", "next": "person"},
        {"id": "person", "kind": "handover", "text": "Connecting you to a person."},
    ],
}


def database_url() -> str:
    """The address of the database this test runs on (the test database)."""
    current = connection.settings_dict
    if current["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{current['NAME']}"
    user = urllib.parse.quote(current.get("USER") or "")
    password = urllib.parse.quote(current.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = current.get("HOST") or "127.0.0.1"
    port = current.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{current['NAME']}"


class StreamTier:
    """``granian`` serving LeadFlow as the stream tier (LEADFLOW_STREAM_TIER=1), one
    worker with capacity + spare threads, as ``leadflow serve`` starts it."""

    def __init__(self, *, capacity: int, spare: int = 4, redis_url: str = "", **extra: str):
        self.capacity, self.spare, self.redis_url = capacity, spare, redis_url
        self.extra = extra
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.sessions_before = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(
            DATABASE_URL=database_url(),
            DATABASE_CONN_MAX_AGE="0",
            LEADFLOW_DATA_DIR=str(settings.DATA_DIR),  # the same secret key signs the tokens
            LEADFLOW_STREAM_TIER="1",
            LEADFLOW_STREAM_CAPACITY=str(self.capacity),
            LEADFLOW_STREAM_PING_SECONDS="1",
            LEADFLOW_STREAM_POLL_SECONDS="0.2",
            LEADFLOW_PUBLIC_CACHE_SECONDS="0",
            LEADFLOW_DEMO="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def start(self) -> "StreamTier":
        self.sessions_before = self.sessions()
        threads = self.capacity + self.spare
        command = [
            sys.executable, "-m", "granian", "--interface", "wsgi",
            "leadflow.config.wsgi:application", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1", "--blocking-threads", str(threads), "--backpressure", str(threads),
            "--no-ws", "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env=self.environment(), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("the stream tier stopped during start-up")
            try:
                if request("GET", self.base + "/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the stream tier did not answer /healthz")

    def stop(self) -> None:
        """Kill the tier (its worker too), and wait until its database sessions are gone,
        so the test database can be dropped after the last test."""
        if self.process is None or self.process.poll() is not None:
            return
        group = self.process.pid
        os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)  # the worker still exits
            except ProcessLookupError:
                break
            time.sleep(0.05)
        while self.sessions() > self.sessions_before and time.monotonic() < deadline:
            time.sleep(0.05)

    @staticmethod
    def sessions() -> int:
        """Other sessions on the test database (PostgreSQL; 0 on SQLite)."""
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )
            return cursor.fetchone()[0]

    def restart(self) -> "StreamTier":
        """Stop the tier (every stream cut at once) and start it again on the same port."""
        self.stop()
        return self.start()

    def pids(self) -> list[int]:
        """granian's main process and its worker (the one holding the streams)."""
        found = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        if int(handle.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            found.append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        return found


def request(method: str, url: str, body=None, headers=None, timeout: float = 10):
    """(status, headers, text) of one plain request."""
    parts = urllib.parse.urlsplit(url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = json.dumps(body) if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        client.request(method, path, body=data, headers=all_headers)
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        client.close()


class EventReader:
    """Reads one server-sent events stream in a thread; ``events`` fills as they arrive.
    ``cut()`` drops the connection the way a network failure does."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.events: list[dict] = []
        self.pings = 0
        self.ended = threading.Event()
        self.answered = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            stream = self.sock.makefile("rb")
            status_line = stream.readline().decode()
            self.status = int(status_line.split()[1])
            while (line := stream.readline().decode().rstrip("\r\n")) != "":
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
            self.answered.set()
            if self.status != 200:
                return
            chunked = self.headers.get("transfer-encoding") == "chunked"
            event: dict = {}
            for line in self._lines(stream, chunked):
                if line == "":
                    if event:
                        self.events.append(event)
                    event = {}
                elif line.startswith(":"):
                    self.pings += 1
                else:
                    name, _, value = line.partition(":")
                    event[name] = value[1:] if value.startswith(" ") else value
        except (OSError, ValueError):
            pass
        finally:
            self.answered.set()
            self.ended.set()

    @staticmethod
    def _lines(stream, chunked: bool):
        buffer = b""
        while True:
            if chunked:
                size_line = stream.readline()
                if not size_line:
                    return
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    return
                data = stream.read(size)
                stream.readline()
            else:
                data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(1)
                if not data:
                    return
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield line.decode().rstrip("\r")

    def wait_answered(self, timeout: float = 30) -> int | None:
        self.answered.wait(timeout)
        return self.status

    def messages(self) -> list[dict]:
        return [json.loads(e["data"]) for e in list(self.events) if e.get("event") == "message"]

    def seqs(self) -> list[int]:
        return [message["seq"] for message in self.messages()]

    def wait_for(self, predicate, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            if self.ended.is_set():
                return predicate(self)
            time.sleep(0.02)
        return False

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.ended.wait(5)


def visitor_stream_url(base: str, workspace, token: str, after: int = 0) -> str:
    query = urllib.parse.urlencode({"key": workspace.public_key, "token": token, "after": after})
    return f"{base}/e/chat/stream?{query}"


def handover_conversation(workspace, actor):
    """A published hand-over flow and a conversation waiting for a person."""
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Live", "graph": HANDOVER_GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    return services.conversation_start(workspace=workspace, page_url="https://site.test/")
