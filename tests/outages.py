"""Outages for real: a throwaway PostgreSQL cluster, `leadflow serve` on it, a stream of form
leads, and the ledger that says whether any acknowledged lead was lost or stored twice.

Shared by tests/test_serve.py (a short PostgreSQL restart under load) and
bench/bench_outages.py (kill -9 of the web server and PostgreSQL restarts, with figures).
The cluster is Debian's PostgreSQL binaries on a free port in a directory of its own, so
restarting it never disturbs the PostgreSQL other test runs share.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """The ids of a process's direct children (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        text = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


def http_status(url: str, timeout: float = 2) -> int | None:
    """The status of GET ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# --- a throwaway PostgreSQL cluster ---------------------------------------------------------


def postgres_bin_dir() -> Path:
    """Where Debian keeps initdb and pg_ctl (the newest installed version), or
    LEADFLOW_POSTGRES_BIN; fails with the package to install when there is none."""
    configured = os.environ.get("LEADFLOW_POSTGRES_BIN")
    candidates = [configured] if configured else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2])
    )[::-1]
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
        "apt-get install postgresql (or set LEADFLOW_POSTGRES_BIN)"
    )


class PostgresCluster:
    """A PostgreSQL cluster of its own: initdb in a fresh directory, trust authentication,
    listening on 127.0.0.1 at a free port. Run as the ``postgres`` user when we are root
    (initdb refuses root). ``remove()`` stops it and deletes its files."""

    def __init__(self, *, durable: bool = False):
        self.bin = postgres_bin_dir()
        self.directory = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"]
        initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]
        if not durable:
            initdb.append("--no-sync")
        self._run(initdb)
        settings = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.directory}'",
            "max_connections = 100",
        ]
        if not durable:  # a test's data need not survive a power cut (restarts keep it)
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")

    def _run(self, command: list[str], timeout: float = 60) -> None:
        result = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")

    def _pg_ctl(self, *arguments: str) -> None:
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w"]
        self._run([*pg_ctl, *arguments])

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast", pause: float = 0.0) -> float:
        """Stop (``fast``: roll back and disconnect every session; ``immediate``: as after a
        crash, recovery from the WAL), wait ``pause`` seconds, start again; the seconds
        during which the database could not be reached."""
        started = time.monotonic()
        self.stop(mode)
        time.sleep(pause)
        self.start()
        return time.monotonic() - started

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


# --- an installation served by `leadflow serve` ---------------------------------------------

PREPARE = """
import json
from leadflow.capture.antispam import form_token_issue
from leadflow.capture.services import form_create
from leadflow.core.actors import Actor
from leadflow.core.services import workspace_create
workspace, owner = workspace_create(name="Outage Test", owner_email="owner@outage-test.example")
form = form_create(workspace=workspace, actor=Actor.system(), data={
    "name": "Demo request", "min_fill_seconds": 0, "lifecycle_stage": "lead",
    "notify_user_ids": [owner.id],
    "fields": [
        {"name": "email", "type": "email", "required": True, "maps_to": "email"},
        {"name": "first_name", "type": "text", "maps_to": "first_name"},
        {"name": "company", "type": "text", "maps_to": "company"}]})
print("FORM", json.dumps([form.key, form_token_issue(form)]))
"""


class Installation:
    """A LeadFlow installation on ``database_url``: migrated, one workspace with one form,
    then run by ``leadflow serve`` (web tier + worker) on a free port."""

    def __init__(self, database_url: str, data_dir: Path, *, web_workers: int = 1):
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        }
        self.env.update(
            DATABASE_URL=database_url,
            LEADFLOW_DATA_DIR=str(data_dir),
            LEADFLOW_DEMO="0",
            PYTHONUNBUFFERED="1",
            LEADFLOW_FORM_RATE_PER_IP="0",
            LEADFLOW_FORM_RATE_PER_FORM="0",
            DATABASE_CONNECT_TIMEOUT="2",
        )
        self.database_url = database_url
        self.data_dir = data_dir
        self.web_workers = web_workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self.form_key = ""
        self.token = ""

    def leadflow(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "leadflow", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(f"leadflow {arguments[0]} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        self.leadflow("migrate")
        out = self.leadflow("manage", "shell", "-c", PREPARE)
        line = next(line for line in out.splitlines() if line.startswith("FORM "))
        self.form_key, self.token = json.loads(line[5:])

    def serve(self, timeout: float = 120) -> None:
        """Start `leadflow serve`; return once its banner is printed."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadflow",
                "serve",
                "--port",
                str(self.port),
                "--stream-port",
                str(free_port()),
                "--workers",
                str(self.web_workers),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any("Press Ctrl-C to stop" in line for line in list(self.output)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("leadflow serve did not start:\n" + "\n".join(self.output))
            time.sleep(0.2)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def children(self) -> dict[str, int]:
        """The process ids of serve's children: ``web`` (granian), ``worker`` and
        ``stream`` (the chat stream tier's granian, the one with --backpressure)."""
        found = {}
        for pid in children_of(self.process.pid):
            line = command_line(pid)
            if "granian" in line:
                found["stream" if "--backpressure" in line else "web"] = pid
            elif "leadflow worker" in line:
                found["worker"] = pid
        return found

    def web_workers_pids(self) -> list[int]:
        web = self.children().get("web")
        return children_of(web) if web else []

    def wait_healthy(self, timeout: float) -> float | None:
        """Seconds until /healthz answers 200 (None if it did not within ``timeout``)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if http_status(self.url("/healthz"), timeout=1) == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


# --- a stream of form leads -----------------------------------------------------------------


@dataclass
class Submission:
    submission_id: str
    email: str
    first_answer_at: float | None = None  # monotonic time of the 2xx
    attempts: int = 0


@dataclass
class SubmissionLoad:
    """Threads that each send form leads one after another, as the embed script does: a
    new lead has a client submission id; a failed send (refused connection, 5xx, timeout) is
    sent again with the same id until a 2xx acknowledges it."""

    installation: Installation
    threads: int = 4
    pause: float = 0.0  # seconds each thread waits between two acknowledged leads
    acknowledged: list[Submission] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)  # non-2xx answers and errors, by kind
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._send_leads, args=(number,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, grace: float = 30) -> None:
        """Stop sending new leads; the lead each thread is sending is sent until
        acknowledged (or ``grace`` seconds pass)."""
        self._stop.set()
        deadline = time.monotonic() + grace
        for thread in self._workers:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))

    def acknowledged_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for lead in self.acknowledged if lead.first_answer_at >= moment)

    def _send_leads(self, number: int) -> None:
        url = self.installation.url(f"/f/{self.installation.form_key}")
        count = 0
        while not self._stop.is_set():
            count += 1
            lead = Submission(str(uuid.uuid4()), f"lead-{number}-{count}@outage-test.example")
            body = json.dumps(
                {
                    "submission_id": lead.submission_id,
                    "token": self.installation.token,
                    "fields": {"email": lead.email, "first_name": "Lead", "company": "Globex"},
                    "context": {"page_url": "https://www.example.com/demo"},
                }
            ).encode()
            give_up = None
            while True:
                if self._stop.is_set() and give_up is None:
                    give_up = time.monotonic() + 25
                if give_up is not None and time.monotonic() > give_up:
                    break
                lead.attempts += 1
                kind = self._send(url, body)
                if kind is None:
                    lead.first_answer_at = time.monotonic()
                    with self._lock:
                        self.acknowledged.append(lead)
                    self._stop.wait(self.pause)
                    break
                with self._lock:
                    self.refused[kind] += 1
                time.sleep(0.1)

    @staticmethod
    def _send(url: str, body: bytes) -> str | None:
        """None when acknowledged (2xx), else what went wrong."""
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                return None if 200 <= response.status < 300 else str(response.status)
        except urllib.error.HTTPError as error:
            return str(error.code)
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return type(reason).__name__


# --- the ledger -----------------------------------------------------------------------------


def ledger(database_url: str, acknowledged: list[Submission]) -> dict[str, int]:
    """Every acknowledged submission id looked up in the database: how many are stored,
    lost, stored twice, and whether their leads exist once each; the background tasks
    still waiting or running, and the failed ones."""
    import psycopg

    ids = [lead.submission_id for lead in acknowledged]
    emails = [lead.email for lead in acknowledged]
    with psycopg.connect(database_url) as connection:
        stored = dict(
            connection.execute(
                "SELECT submission_id::text, count(*) FROM capture_submission "
                "WHERE submission_id::text = ANY(%s) GROUP BY 1",
                [ids],
            ).fetchall()
        )
        contacts = dict(
            connection.execute(
                "SELECT lower(email), count(*) FROM contacts_contact "
                "WHERE lower(email) = ANY(%s) GROUP BY 1",
                [[email.lower() for email in emails]],
            ).fetchall()
        )
        tasks = dict(
            connection.execute(
                "SELECT status, count(*) FROM django_tasks_database_dbtaskresult GROUP BY 1"
            ).fetchall()
        )
    return {
        "acknowledged": len(ids),
        "stored": sum(1 for submission_id in ids if stored.get(submission_id)),
        "lost": sum(1 for submission_id in ids if not stored.get(submission_id)),
        "duplicate_submissions": sum(count - 1 for count in stored.values() if count > 1),
        "leads_missing": sum(1 for email in emails if not contacts.get(email.lower())),
        "duplicate_leads": sum(count - 1 for count in contacts.values() if count > 1),
        "tasks_waiting": tasks.get("READY", 0) + tasks.get("RUNNING", 0),
        "tasks_failed": tasks.get("FAILED", 0),
        "tasks_successful": tasks.get("SUCCESSFUL", 0),
    }


def tasks_settled(database_url: str, timeout: float) -> float | None:
    """Seconds until no background task is waiting or running (None: not within timeout)."""
    import psycopg

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with psycopg.connect(database_url, connect_timeout=2) as connection:
                (waiting,) = connection.execute(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                    "WHERE status IN ('READY', 'RUNNING')"
                ).fetchone()
            if waiting == 0:
                return time.monotonic() - started
        except psycopg.OperationalError:
            pass
        time.sleep(0.25)
    return None
