"""`leadflow serve` as a real process: granian + the worker, the banner, supervision, stopping.

Each test starts the command in a temporary LEADFLOW_DATA_DIR on SQLite, whatever database
the rest of the suite uses, so it never touches a shared database; the PostgreSQL restart
test runs it on a PostgreSQL cluster of its own (tests/outages.py), which it restarts. So
none of them depends on the suite's database: they run once per CI run, in its SQLite leg.
"""

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.outages import (
    Installation,
    PostgresCluster,
    SubmissionLoad,
    alive,
    children_of,
    command_line,
    free_port,
    ledger,
    tasks_settled,
)

pytestmark = pytest.mark.database_independent

START_TIMEOUT = 180  # a cold start migrates a fresh database and builds the demo
STOP_TIMEOUT = 20


class Served:
    """A running `leadflow serve`, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int, **environment: str):
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "LEADFLOW_DEMO", "SECRET_KEY"}
        }
        env.update(LEADFLOW_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **environment)
        self.env = env
        self.port = port
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "leadflow", "serve", "--port", str(port)),
                *("--workers", "1", "--stream-port", str(free_port())),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> str:
        """Collect output until a line matches; returns everything collected so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if re.search(pattern, line):
                return "\n".join(self.output)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.output))

    def drain(self) -> str:
        """Everything printed so far (for a failure's message)."""
        while not self.lines.empty():
            self.output.append(self.lines.get_nowait())
        return "\n".join(self.output[-200:])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def leadflow(self, *arguments: str) -> str:
        """Run another `leadflow` command against the same installation."""
        result = subprocess.run(
            [sys.executable, "-m", "leadflow", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve_factory(tmp_path, migrated_sqlite):
    """Starts `leadflow serve` on a data directory of its own, its database migrated
    already (``cold``: an empty directory, as on a fresh machine)."""
    started: list[Served] = []

    def start(cold: bool = False, **environment: str) -> Served:
        data_dir = tmp_path / f"data-{len(started)}"
        if not cold:
            migrated_sqlite(data_dir)
        served = Served(data_dir, free_port(), **environment)
        started.append(served)
        return served

    yield start
    for served in started:  # a failed test must not leave servers behind
        served.stop()


def http(method: str, url: str, body=None, token: str | None = None):
    """(status, parsed JSON or text) of one request; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def test_serve_runs_web_and_worker_prints_the_login_and_stops_on_sigterm(serve_factory):
    served = serve_factory(cold=True, LEADFLOW_DEMO="1", LEADFLOW_DEMO_CONTACTS="200")
    output = served.wait_for(r"Press Ctrl-C to stop")
    data_dir = Path(served.env["LEADFLOW_DATA_DIR"])

    # The banner: the address, the demo login (as kept in its private file), the way out.
    assert f"http://127.0.0.1:{served.port}/" in output
    login_file = data_dir / "demo-login.txt"
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    password = re.search(r"^password: (\S+)$", login_file.read_text(), re.MULTILINE).group(1)
    assert re.search(r"email\s+demo@example\.com", output)
    assert re.search(rf"password\s+{re.escape(password)}", output)
    # The other demo logins, each with its role.
    assert re.search(r"maya\.chen@example\.com\s+Marketer", output)
    assert re.search(r"jonas\.berg@example\.com\s+Sales", output)
    assert re.search(r"priya\.nair@example\.com\s+Viewer", output)
    assert "LEADFLOW_DEMO=0" in output
    assert "200 contacts" in output
    assert "background worker: database queue" in output
    # The banner comes only once the web server answers.
    banner_at = output.index("LeadFlow is running")
    assert "Listening at" in output[:banner_at]

    assert http("GET", served.url("/healthz")) == (200, {"status": "ok"})
    status, _ = http("GET", served.url("/"))
    assert status in (200, 302)
    web_worker_and_sigterm(served)


@pytest.mark.redis
def test_serve_with_redis_runs_an_rq_worker(serve_factory, redis_server):
    # RQ forks a process for every job from the process the clock ticks in; a tick every
    # 10 ms and sweeps every second make a fork in the middle of a tick certain, which once
    # left a child waiting forever on a lock the clock thread held (core.scheduler).
    # No demo: its start queues a hundred delivery emails and follow-ups, which RQ (a fork
    # per job) takes minutes to work through before the test's task.
    served = serve_factory(
        LEADFLOW_DEMO="0",
        REDIS_URL=f"{redis_server}/13",
        LEADFLOW_CLOCK_TICK_SECONDS="0.01",
        LEADFLOW_SWEEP_SECONDS="1",
    )
    output = served.wait_for(r"Press Ctrl-C to stop")
    assert "background worker: RQ on Redis" in output
    served.leadflow("workspace", "create", "Serve Test", "--owner-email", "owner@serve.example")
    web_worker_and_sigterm(served, workspace="serve-test")


def web_worker_and_sigterm(served: Served, workspace: str = "demo") -> None:
    """Both children run; the worker does the work the web tier enqueues; SIGTERM stops
    everything, cleanly and quickly."""
    # Three children: granian (with its worker process), the background worker, and the
    # chat stream tier (granian again, the one with --backpressure).
    children = children_of(served.process.pid)
    assert len(children) == 3, [command_line(pid) for pid in children]
    web = next(pid for pid in children if web_granian(command_line(pid)))
    stream = next(pid for pid in children if "--backpressure" in command_line(pid))
    worker = next(pid for pid in children if "leadflow worker" in command_line(pid))
    granian_workers = children_of(web) + children_of(stream)
    assert granian_workers

    # Two contacts with one phone under two emails are listed as possible duplicates by the
    # task the API enqueues after each commit, which only the worker runs.
    secret = served.leadflow("apikey", "create", "--workspace", workspace)
    secret = secret.strip().splitlines()[-1]
    ids = []
    for email in ("kim.park@serve-test.example", "kim.p@private-mail.example"):
        status, body = http(
            "POST",
            served.url("/api/v1/contacts"),
            {"email": email, "first_name": "Kim", "phone": "+1 202 555 0147"},
            token=secret,
        )
        assert status == 201, body
        ids.append(body["id"])
    pair = None
    deadline = time.monotonic() + 60
    while pair is None and time.monotonic() < deadline:
        status, duplicates = http("GET", served.url("/api/v1/duplicates"), token=secret)
        assert status == 200, duplicates
        pair = next(
            (
                item
                for item in duplicates["items"]
                if [item["contact_id"], item["other_id"]] == sorted(ids)
            ),
            None,
        )
        time.sleep(0.5)
    assert pair is not None, "the worker never listed the duplicate pair:\n" + served.drain()
    assert "phone" in pair["reasons"] and pair["probability"] >= 0.5

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=STOP_TIMEOUT) == 0
    for pid in [web, worker, stream, *granian_workers]:
        assert not alive(pid), command_line(pid)


def web_granian(line: str) -> bool:
    """The web tier's granian (not the stream tier's, which runs with --backpressure)."""
    return "granian" in line and "--backpressure" not in line


def wait_for_new_child(served: Served, kind: str, old_pid: int, timeout: float = 30) -> int:
    """The id of the child (granian or the worker) that replaced ``old_pid``."""
    marker = "granian" if kind == "web" else "leadflow worker"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children_of(served.process.pid):
            line = command_line(pid)
            if pid != old_pid and marker in line and "--backpressure" not in line and alive(pid):
                return pid
        time.sleep(0.2)
    raise AssertionError(f"serve did not start the {kind} again")


def wait_healthy(served: Served, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http("GET", served.url("/healthz")) == (200, {"status": "ok"}):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the web server did not answer again")


def test_serve_starts_a_killed_worker_or_web_server_again_and_keeps_the_other_running(
    serve_factory,
):
    served = serve_factory(LEADFLOW_DEMO="0")
    output = served.wait_for(r"Press Ctrl-C to stop")
    assert "No workspace yet" in output
    assert "leadflow workspace create" in output
    assert not (Path(served.env["LEADFLOW_DATA_DIR"]) / "demo-login.txt").exists()

    children = children_of(served.process.pid)
    worker = next(pid for pid in children if "leadflow worker" in command_line(pid))
    web = next(pid for pid in children if web_granian(command_line(pid)))

    # A dead worker is started again; the web server is left alone and keeps answering.
    os.kill(worker, signal.SIGKILL)
    served.wait_for(r"the worker stopped \(killed by SIGKILL\); starting it again in 1 s")
    new_worker = wait_for_new_child(served, "worker", worker)
    assert alive(web)
    assert http("GET", served.url("/healthz")) == (200, {"status": "ok"})

    # A dead web server (kill -9 of granian's main process) is started again too, once the
    # workers it left behind are gone, so the port is free; the worker keeps running.
    granian_workers = children_of(web)
    os.kill(web, signal.SIGKILL)
    served.wait_for(r"the web server stopped \(killed by SIGKILL\); starting it again")
    wait_for_new_child(served, "web", web)
    wait_healthy(served)
    assert not [pid for pid in granian_workers if alive(pid)]
    assert alive(new_worker)
    assert served.process.poll() is None

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=STOP_TIMEOUT) == 0


def test_a_postgresql_restart_under_load_loses_no_lead_and_both_tiers_recover_by_themselves(
    tmp_path,
):
    """A PostgreSQL cluster of the test's own (never the shared server) is stopped for two
    seconds and started again while form leads arrive: the web tier answers again and the
    worker, the same process, reconnects and runs every task queued meanwhile."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        installation = Installation(cluster.create_database("leadflow"), tmp_path / "data")
        installation.prepare()
        installation.serve()
        try:
            before = installation.children()
            load = SubmissionLoad(installation, threads=2, pause=0.1)
            load.start()
            deadline = time.monotonic() + 30
            while len(load.acknowledged) < 15 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(load.acknowledged) >= 15, load.refused

            cluster.restart(pause=2)
            restarted = time.monotonic()
            while load.acknowledged_since(restarted) < 15 and time.monotonic() < restarted + 30:
                time.sleep(0.1)
            load.stop()
            assert load.acknowledged_since(restarted) >= 15, load.refused
            assert tasks_settled(installation.database_url, timeout=30) is not None
            figures = ledger(installation.database_url, load.acknowledged)
            after = installation.children()
            output = "\n".join(installation.output)
        finally:
            stopped = installation.stop()
    finally:
        cluster.remove()

    # Nothing was restarted: the worker waited for the database and reconnected.
    assert after == before, output
    assert "the database answers again" in output
    assert not re.search(r"LeadFlow: the (web server|worker) stopped", output)
    assert stopped == 0
    assert figures["lost"] == 0, figures
    assert figures["duplicate_submissions"] == figures["duplicate_leads"] == 0, figures
    assert figures["leads_missing"] == 0, figures
    assert figures["tasks_waiting"] == figures["tasks_failed"] == 0, figures
    assert figures["tasks_successful"] >= figures["acknowledged"], figures


def test_a_second_signal_stops_everything_at_once(serve_factory):
    """Ctrl-C twice (or two SIGTERMs) must not hang the supervisor."""
    served = serve_factory(LEADFLOW_DEMO="0")
    served.wait_for(r"Press Ctrl-C to stop")
    children = children_of(served.process.pid)
    family = children + [pid for child in children for pid in children_of(child)]
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the supervisor is now waiting for its children to finish
    served.process.send_signal(signal.SIGTERM)
    # It ends (cleanly, or by the second signal once its handler is gone), never hangs.
    assert served.process.wait(timeout=STOP_TIMEOUT) in (0, -signal.SIGTERM)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [command_line(pid) for pid in family if alive(pid)]


def test_children_die_with_a_killed_supervisor(serve_factory):
    served = serve_factory(LEADFLOW_DEMO="0")
    served.wait_for(r"Press Ctrl-C to stop")
    children = children_of(served.process.pid)
    family = children + [pid for child in children for pid in children_of(child)]
    assert len(family) >= 3
    served.process.kill()  # SIGKILL: the supervisor cannot clean up
    served.process.wait()
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [command_line(pid) for pid in family if alive(pid)]


def test_serve_fails_in_one_line_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update(LEADFLOW_DATA_DIR=str(tmp_path), LEADFLOW_DEMO="0")
        result = subprocess.run(
            [sys.executable, "-m", "leadflow", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"leadflow: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is LeadFlow running already? choose another --port)"
    ]
    assert "LeadFlow is running" not in result.stdout


def test_worker_command_runs_queued_tasks(tmp_path, migrated_sqlite):
    """`leadflow worker` alone: it picks up a task enqueued by another process."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(LEADFLOW_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")

    def leadflow(*arguments: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "leadflow", *arguments],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout

    migrated_sqlite(tmp_path)
    leadflow("workspace", "create", "Queue Test", "--owner-email", "q@queue-test.example")
    enqueue = (
        "from leadflow.contacts.tasks import activities_catch_up; "
        "print('task', activities_catch_up.enqueue().id)"
    )
    task_id = re.search(r"task (\S+)", leadflow("manage", "shell", "-c", enqueue)).group(1)
    worker = subprocess.Popen(
        [sys.executable, "-m", "leadflow", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        check = (
            "from django_tasks_db.models import DBTaskResult; "
            f"print('status', DBTaskResult.objects.get(id='{task_id}').status)"
        )
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline:
            status = re.search(r"status (\S+)", leadflow("manage", "shell", "-c", check)).group(1)
            if status == "SUCCESSFUL":
                break
            time.sleep(0.5)
        assert status == "SUCCESSFUL"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=STOP_TIMEOUT)
    assert code == 0
