"""Chat streams held by one stream process (target 1,000), delivery p99 (target < 250 ms).

Delivery is timed from the commit to the receipt, against a poll's round trip in the same
run.

The stream tier runs as `leadflow serve` starts it (granian WSGI, one worker, capacity +
16 threads, LEADFLOW_STREAM_TIER=1) on a fresh database (PostgreSQL with DATABASE_URL, else
SQLite). BENCH_STREAMS (default 1,000) conversations each get one visitor stream, opened
from one asyncio client process on the same two cores; then BENCH_STREAM_MESSAGES (default
300) messages are posted through the service, one every 20 ms, each to a random
conversation, and the time from the commit to its arrival on that conversation's stream is
taken. One stream more than capacity must be answered 503 at once. Baseline: the round trip
of the widget's poll (GET /e/chat/messages) on the same tier while the streams are held
(the fallback's cost per request; a polling widget waits 1.5 s on average at its 3 s
interval). Runs the database wake-ups, and Redis pub/sub as well when REDIS_URL is set.
Run alone: `.venv/bin/python bench/run.py bench_chat_streams`.
"""

import asyncio
import os
import random
import resource
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
MESSAGES = int(os.environ.get("BENCH_STREAM_MESSAGES", "300"))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share / 100))]


class Streams:
    """``count`` SSE connections in one asyncio loop (a thread of this process): records
    when each message seq arrives on each conversation."""

    def __init__(self, port: int, urls: dict[int, str]):
        self.port, self.urls = port, urls
        self.arrived: dict[tuple[int, int], float] = {}
        self.open = 0
        self.refused = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self.loop).result(timeout=600)

    async def _open_all(self) -> None:
        for conversation_id, url in self.urls.items():
            self.tasks.append(asyncio.ensure_future(self._one(conversation_id, url)))
            if len(self.tasks) % 50 == 0:
                await asyncio.sleep(0.05)  # a ramp, as browsers arrive
        deadline = time.monotonic() + 120
        while self.open + self.refused < len(self.urls) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def _one(self, conversation_id: int, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=2**20)
        path = f"{parts.path}?{parts.query}"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        if status != 200:
            self.refused += 1
            writer.close()
            return
        self.open += 1
        event_id = None
        while line := await reader.readline():
            text = line.decode().rstrip("\r\n")
            if text.startswith("id: "):
                event_id = int(text[4:])
                self.arrived.setdefault((conversation_id, event_id), time.monotonic())

    def extra_status(self, url: str) -> tuple[int, float]:
        async def one() -> tuple[int, float]:
            began = time.monotonic()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            parts = urllib.parse.urlsplit(url)
            writer.write(
                f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            writer.close()
            return status, time.monotonic() - began

        return asyncio.run_coroutine_threadsafe(one(), self.loop).result(timeout=30)

    def stop(self) -> None:
        async def cancel() -> None:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _poll_round_trips(base: str, key: str, token: str, count: int = 200) -> list[float]:
    from tests.chat.stream_helpers import request

    query = urllib.parse.urlencode({"key": key, "token": token, "after": 0})
    times = []
    for _ in range(count):
        began = time.monotonic()
        status = request("GET", f"{base}/e/chat/messages?{query}")[0]
        assert status == 200, status
        times.append(time.monotonic() - began)
        time.sleep(0.01)
    return times


def _one_mode(redis_url: str) -> dict:
    from django.conf import settings
    from tests.chat.stream_helpers import HANDOVER_GRAPH, StreamTier, visitor_stream_url

    from leadflow.chat import services
    from leadflow.chat.models import Conversation
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create

    settings.REDIS_URL = redis_url
    settings.LEADFLOW_CHAT_POLL_RATE_PER_IP = 0
    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench streams {stamp}", owner_email=f"s{stamp}@example.com", slug=f"st-{stamp}"
    )
    actor = Actor.system("bench")
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Live", "graph": HANDOVER_GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    tokens = {}
    for _ in range(STREAMS):
        started = services.conversation_start(workspace=workspace, page_url="https://s.test/")
        tokens[started.conversation.pk] = started.token
    tier = StreamTier(
        capacity=STREAMS,
        spare=16,
        redis_url=redis_url,
        LEADFLOW_CHAT_POLL_RATE_PER_IP="0",
        LEADFLOW_STREAM_PING_SECONDS="15",
        LEADFLOW_STREAM_POLL_SECONDS=os.environ.get("BENCH_STREAM_POLL_SECONDS", "0.1"),
        LEADFLOW_STREAM_SECONDS="3600",
    ).start()
    streams = None
    try:
        urls = {cid: visitor_stream_url(tier.base, workspace, t) for cid, t in tokens.items()}
        streams = Streams(tier.port, urls)
        began = time.monotonic()
        streams.start()
        opened_in = time.monotonic() - began
        first_seq = Conversation.objects.filter(workspace=workspace).first().last_seq
        expected_replays = len(urls) * first_seq
        deadline = time.monotonic() + 120
        while len(streams.arrived) < expected_replays and time.monotonic() < deadline:
            time.sleep(0.2)
        extra_status, extra_seconds = streams.extra_status(next(iter(urls.values())))
        sample = random.Random(17)
        ids = list(tokens)
        sent: list[tuple[int, int, float]] = []
        for _ in range(MESSAGES):
            conversation_id = sample.choice(ids)
            reply = services.conversation_message_post(
                workspace=workspace,
                token=tokens[conversation_id],
                text="ping",
                client_id=uuid.uuid4().hex,
            )
            sent.append((conversation_id, reply.messages[0].seq, time.monotonic()))
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all((cid, seq) in streams.arrived for cid, seq, _ in sent):
                break
            time.sleep(0.1)
        delays = [
            (streams.arrived[(cid, seq)] - at) * 1000
            for cid, seq, at in sent
            if (cid, seq) in streams.arrived
        ]
        polls = [
            t * 1000 for t in _poll_round_trips(tier.base, workspace.public_key, tokens[ids[0]])
        ]
        return {
            "streams_held": streams.open,
            "streams_refused_within_capacity": streams.refused,
            "seconds_to_open_all": round(opened_in, 1),
            "replayed_complete": len(streams.arrived) >= expected_replays,
            "stream_past_capacity": f"{extra_status} in {extra_seconds * 1000:.0f} ms",
            "messages_delivered": f"{len(delays)}/{len(sent)}",
            "delivery_p50_ms": round(statistics.median(delays), 1) if delays else None,
            "delivery_p99_ms": round(_percentile(delays, 99), 1) if delays else None,
            "baseline_poll_round_trip_p50_ms": round(statistics.median(polls), 1),
            "baseline_poll_round_trip_p99_ms": round(_percentile(polls, 99), 1),
        }
    finally:
        if streams is not None:
            streams.stop()
        tier.stop()


def run() -> dict:
    from bench_upsert import _setup_database

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8 * STREAMS)), hard))
    _setup_database()
    from django.db import connection

    results = {"database": connection.vendor, "streams_target": STREAMS}
    results["database_wakeups"] = _one_mode("")
    if os.environ.get("REDIS_URL"):
        results["redis_pubsub"] = _one_mode(os.environ["REDIS_URL"])
    return results


if __name__ == "__main__":
    import json

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(json.dumps(run(), indent=2))
