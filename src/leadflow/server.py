"""``leadflow serve``: one command that runs a whole LeadFlow installation on one machine.

It prepares the database (migrations, the demo workspace on a fresh install), then starts
two child processes and supervises them:

- the web tier: granian in WSGI mode (DESIGN.md: WSGI with a capped number of blocking
  threads measured best; one worker per core x 4 threads on PostgreSQL (bench/bench_capture.py
  compares the candidates), 2 workers on SQLite, whose
  single writer gains nothing from more);
- the background worker: ``leadflow worker`` (the database queue, or RQ with REDIS_URL);
- the stream tier (unless LEADFLOW_STREAMS=0): a granian WSGI process of its own on the web
  port + 1 for the live chat streams (docs/chat/streams.md, decision 0046), one worker with
  LEADFLOW_STREAM_CAPACITY + LEADFLOW_STREAM_SPARE_THREADS threads, run with
  LEADFLOW_STREAM_TIER=1 (only it holds streams); the web processes learn its address as
  LEADFLOW_CHAT_STREAM_URL (derived from LEADFLOW_BASE_URL or the address unless set).

Guarantees: the banner with the address and the login is printed only once the web server
answers; a child that stops before that is a failed start (the other is stopped and ``serve``
exits non-zero); a child that stops afterwards (a crash, kill -9) is started again, after 1 s,
then 2, 4 … up to 30 s while it keeps stopping within a minute, and the other child keeps
running meanwhile, so a dead worker never takes the web tier down; SIGINT (Ctrl-C) or
SIGTERM stops both children (SIGKILL after a grace period) and exits 0; the children die
with the supervisor even if it is killed outright (Linux).
"""

# Imports inside functions are deliberate: Django, its settings and the apps' models load only
# after the command line has configured Django (and ctypes only where prctl exists).

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 90.0
RESTART_FIRST_DELAY_SECONDS = 1.0
RESTART_MAX_DELAY_SECONDS = 30.0
RESTART_STEADY_SECONDS = 60.0  # a child that ran this long restarts after the first delay again
RULE = "─" * 72


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None  # None: 2 on SQLite, one per core (at least 2) on PostgreSQL
    threads: int = 4
    worker: bool = True
    stream_port: int | None = None  # None: the web port + 1


class ServeFailed(Exception):
    """Start-up could not complete (bad configuration, a child that died)."""


def serve(options: ServeOptions) -> int:
    """Prepare the database, run web + worker, print the banner, supervise until stopped."""
    from django.conf import settings
    from django.db import connections

    port_check(options.host, options.port)
    streams = settings.LEADFLOW_STREAMS
    stream_port = options.stream_port or options.port + 1
    if streams:
        port_check(options.host, stream_port)
    print_flush(f"LeadFlow: preparing the database ({database_label()})…")
    database_prepare()
    demo_prepare()
    connections.close_all()  # the children open their own connections
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    workers = options.workers or (2 if sqlite else max(2, os.cpu_count() or 2))
    children = {"web server": web_command(options, workers)}
    if options.worker:
        children["worker"] = [sys.executable, "-m", "leadflow", "worker"]
    environments: dict[str, dict[str, str]] = {}
    if streams:
        children["stream server"] = stream_command(options, stream_port)
        shared = {"LEADFLOW_CHAT_STREAM_URL": stream_url(options, stream_port)}
        environments = {name: shared for name in children}
        # A stream thread closes its connection before it waits; the tier keeps none.
        environments["stream server"] = {
            **shared,
            "LEADFLOW_STREAM_TIER": "1",
            "DATABASE_CONN_MAX_AGE": "0",
        }
    supervisor = Supervisor(children, environments)
    with supervisor.handling_signals():
        supervisor.start()
        answer = supervisor.wait_until_answering(options.host, options.port)
        if answer is not None and streams:
            answer = supervisor.wait_until_answering(options.host, stream_port) and answer
        if answer is None:
            return supervisor.abandon()
        print_flush(banner(options, workers, answer))
        return supervisor.run()


# --- preparing ------------------------------------------------------------------------------


def port_check(host: str, port: int) -> None:
    """Fail early, in one line, when the address is taken (granian would dump a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServeFailed(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(is LeadFlow running already? choose another --port)"
            ) from None


def database_label() -> str:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"SQLite, {database['NAME']}"
    return f"PostgreSQL, {database.get('HOST') or 'local'}/{database.get('NAME')}"


def database_prepare() -> None:
    """Apply every migration (quietly: one line instead of one per migration), then make
    sure the event table has its monthly partitions ahead (PostgreSQL)."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        print_flush(f"  applying {len(pending)} migrations…")
    call_command("migrate", interactive=False, verbosity=0)
    from leadflow.tracking import partitions

    partitions.ensure()


def demo_prepare() -> None:
    """Build the demo workspace when the database holds no workspace and the demo is on."""
    from django.conf import settings

    from leadflow import demo
    from leadflow.core.models import Workspace

    if not settings.LEADFLOW_DEMO or Workspace.objects.exists():
        return
    contacts = demo_contacts()
    print_flush(f"  no workspace yet: building the demo workspace ({contacts:,} contacts)…")
    started = time.perf_counter()
    workspace, _ = demo.demo_install(contacts=contacts)
    print_flush(f"  {demo.demo_summary(workspace)} ({time.perf_counter() - started:.1f} s)")


def demo_contacts() -> int:
    """LEADFLOW_DEMO_CONTACTS: how many contacts the demo gets (3,000 by default)."""
    from leadflow import demo

    raw = os.environ.get("LEADFLOW_DEMO_CONTACTS", "").strip()
    if not raw:
        return demo.DEMO_CONTACTS
    if not raw.isdigit() or int(raw) < 1:
        raise ServeFailed(f"LEADFLOW_DEMO_CONTACTS must be a whole number ≥ 1, not '{raw}'")
    return int(raw)


def granian_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """granian in WSGI mode serving LeadFlow with a bounded pool of blocking threads per
    worker, its failed workers respawned."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "leadflow.config.wsgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--respawn-failed-workers",
        "--workers-kill-timeout",
        str(int(GRACE_SECONDS / 2)),
        "--no-ws",
    ]


def web_command(options: ServeOptions, workers: int) -> list[str]:
    """The granian command line of the web tier (WSGI, a bounded thread pool per worker)."""
    return granian_command(options.host, options.port, workers, options.threads)


def stream_threads() -> int:
    from django.conf import settings

    return settings.LEADFLOW_STREAM_CAPACITY + settings.LEADFLOW_STREAM_SPARE_THREADS


def stream_command(options: ServeOptions, port: int) -> list[str]:
    """The stream tier: one granian WSGI worker whose threads exceed its stream capacity by
    the spare ones, so the stream beyond capacity is answered 503 at once instead of
    waiting for a thread (decision 0046); granian takes no more requests than threads."""
    threads = stream_threads()
    return [
        *granian_command(options.host, port, 1, threads),
        "--backpressure",
        str(threads),
        "--backlog",
        str(max(1024, 2 * threads)),
    ]


def stream_url(options: ServeOptions, port: int) -> str:
    """Where browsers reach the stream tier: LEADFLOW_CHAT_STREAM_URL when set; behind a
    reverse proxy (LEADFLOW_BASE_URL set) the proxy routes the stream paths there; else
    the stream port on the served address."""
    from django.conf import settings

    if settings.LEADFLOW_CHAT_STREAM_URL:
        return settings.LEADFLOW_CHAT_STREAM_URL
    if settings.LEADFLOW_BASE_URL:
        return settings.LEADFLOW_BASE_URL
    return f"http://{url_host(options.host)}:{port}"


def url_host(host: str) -> str:
    """The host to put in a URL for a listening address (0.0.0.0 is reached on 127.0.0.1)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# --- supervising ----------------------------------------------------------------------------


class Supervisor:
    """Starts named child processes and keeps them running: a child that ends is started
    again (with a growing delay while it keeps ending quickly) until a signal stops all."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        environments: dict[str, dict[str, str]] | None = None,
    ):
        self.commands = commands
        self.environments = environments or {}
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.restart_delay: dict[str, float] = {}
        self.restart_at: dict[str, float] = {}
        self.stop_signal: int | None = None
        self.start_timed_out = False
        self.force = False

    def handling_signals(self) -> _SignalScope:
        return _SignalScope(self._on_signal)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        # Only flags here: the main loop acts on them. (Calling Popen.wait from a signal
        # handler that interrupted another Popen.wait deadlocks on its internal lock.)
        if self.stop_signal is not None:
            print_flush("LeadFlow: stopping now.", error=True)
            self.force = True
        self.stop_signal = number

    def start(self) -> None:
        for name in self.commands:
            self.start_child(name)

    def start_child(self, name: str) -> None:
        # Each child leads its own process group, so a Ctrl-C in the terminal reaches
        # only the supervisor, which stops the children in order (and their workers).
        # The commands are LeadFlow's own (sys.executable -m ...), never user input.
        self.processes[name] = subprocess.Popen(  # noqa: S603
            self.commands[name],
            env={**os.environ, **self.environments.get(name, {}), "PYTHONUNBUFFERED": "1"},
            process_group=0,
            preexec_fn=_die_with_parent,  # safe: the supervisor runs no threads
        )
        self.started_at[name] = time.monotonic()

    def exited(self) -> tuple[str, int] | None:
        """The first child that has ended (and is not waiting to restart), or None."""
        for name, process in self.processes.items():
            status = process.poll()
            if status is not None and name not in self.restart_at:
                return name, status
        return None

    def wait_until_answering(self, host: str, port: int) -> int | None:
        """Poll /healthz until the web server answers; returns its HTTP status, or None when
        start-up was interrupted (a signal, a child that ended, the time limit)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        address = url_host(host).strip("[]")
        while time.monotonic() < deadline:
            if self.stop_signal is not None or self.exited() is not None:
                return None
            status = health_status(address, port, host_header=f"{url_host(host)}:{port}")
            if status is not None:
                return status
            time.sleep(0.2)
        print_flush(
            f"LeadFlow: the web server did not answer within {START_TIMEOUT_SECONDS:.0f} s.",
            error=True,
        )
        self.start_timed_out = True
        return None

    def abandon(self) -> int:
        """Start-up did not complete: stop every child; the exit status (0 when a signal
        asked for it, else non-zero)."""
        ended = self.exited()
        if ended is not None and self.stop_signal is None:
            name, status = ended
            print_flush(
                f"LeadFlow: the {name} stopped during start-up ({exit_description(status)}); "
                "stopping the rest.",
                error=True,
            )
            self.stop()
            return status if status > 0 else 1
        print_flush("LeadFlow: stopping…")
        self.stop()
        return 1 if self.start_timed_out else 0

    def run(self) -> int:
        """Keep the children running until a signal arrives; stop them all; exit status 0."""
        while self.stop_signal is None:
            self.restart_ended()
            time.sleep(0.2)
        print_flush("LeadFlow: stopping…")
        self.stop()
        return 0

    def restart_ended(self) -> None:
        """Start again each child whose delay has passed; give each child that just ended
        its delay (1 s, doubled on every end within RESTART_STEADY_SECONDS of its start)."""
        now = time.monotonic()
        for name, due in list(self.restart_at.items()):
            if now >= due:
                del self.restart_at[name]
                print_flush(f"LeadFlow: starting the {name} again.", error=True)
                self.start_child(name)
        while (ended := self.exited()) is not None:
            name, status = ended
            # Whatever the child left in its group (granian's workers, holding the port).
            _signal_group(self.processes[name], signal.SIGKILL)
            delay = self.restart_delay.get(name, RESTART_FIRST_DELAY_SECONDS)
            if now - self.started_at[name] >= RESTART_STEADY_SECONDS:
                delay = RESTART_FIRST_DELAY_SECONDS
            self.restart_delay[name] = min(delay * 2, RESTART_MAX_DELAY_SECONDS)
            self.restart_at[name] = now + delay
            print_flush(
                f"LeadFlow: the {name} stopped ({exit_description(status)}); "
                f"starting it again in {delay:.0f} s.",
                error=True,
            )

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM every child still running, then SIGKILL its process group after ``grace``
        (or at once when a second signal arrives meanwhile)."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(process.poll() is None for process in self.processes.values()):
            if self.force or time.monotonic() >= deadline:
                for process in self.processes.values():
                    if process.poll() is None:
                        _signal_group(process, signal.SIGKILL)
            time.sleep(0.05)
        for process in self.processes.values():
            # Whatever the child left in its group (granian's workers) goes with it.
            _signal_group(process, signal.SIGKILL)


def exit_description(status: int) -> str:
    """A child's exit as people read it: "exit status 1", "killed by SIGKILL"."""
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class _SignalScope:
    """SIGINT, SIGTERM and SIGHUP call ``handler`` inside the block; restored after it."""

    NUMBERS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, handler: Callable[[int, FrameType | None], None]):
        self.handler = handler
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _SignalScope:
        for number in self.NUMBERS:
            self.previous[number] = signal.signal(number, self.handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, previous in self.previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]


def _signal_group(process: subprocess.Popen, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - an unusual libc
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def health_status(address: str, port: int, *, host_header: str) -> int | None:
    """The HTTP status of GET /healthz, or None when nothing answers yet."""
    connection = http.client.HTTPConnection(address, port, timeout=2)
    try:
        connection.request("GET", "/healthz", headers={"Host": host_header})
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


# --- the banner -----------------------------------------------------------------------------


def banner(options: ServeOptions, workers: int, health: int) -> str:
    """What to do next: the address, how to log in, how to turn the demo off, how to stop."""
    from django.conf import settings

    from leadflow import demo
    from leadflow.core.models import Workspace

    url = f"http://{url_host(options.host)}:{options.port}/"
    lines = [RULE, f"  LeadFlow is running at  {url}", ""]
    login = demo.demo_login_read()
    if login is not None:
        lines += [
            "  Log in to the demo workspace (Northwind Demo):",
            f"    email     {login.email}  (Owner)",
            f"    password  {login.password}",
            f"    (kept in {demo.demo_login_path()} while that file exists)",
            "  The same password logs in the other demo members, one per role:",
            *(f"    {email:<26} {role}" for email, role in demo.demo_members()),
            "",
            "  The demo holds made-up leads to explore. To start without it, set",
            "  LEADFLOW_DEMO=0 before the first start; `leadflow demo --delete` removes it.",
        ]
    elif Workspace.objects.exists():
        lines += ["  Log in with the owner you created (leadflow workspace create)."]
    else:
        lines += [
            "  No workspace yet (the demo is off: LEADFLOW_DEMO=0). Create yours with",
            "    leadflow workspace create 'My Company' --owner-email you@example.com",
            "  and log in with the owner it prints.",
        ]
    worker = "off (--no-worker)"
    if options.worker:
        worker = "RQ on Redis" if settings.REDIS_URL else "database queue"
    lines += [
        "",
        f"  web: granian WSGI, {workers} workers x {options.threads} threads"
        f" · background worker: {worker}",
        "  chat streams: "
        + (
            f"granian WSGI on port {options.stream_port or options.port + 1},"
            f" {settings.LEADFLOW_STREAM_CAPACITY} streams"
            if settings.LEADFLOW_STREAMS
            else "off (LEADFLOW_STREAMS=0)"
        ),
        f"  database: {database_label()}",
    ]
    if health != 200:
        lines.append(
            f"  warning: /healthz answered {health}; check ALLOWED_HOSTS and the database."
        )
    lines += ["  Press Ctrl-C to stop.", RULE]
    return "\n".join(lines)


def print_flush(text: str, *, error: bool = False) -> None:
    print(text, file=sys.stderr if error else sys.stdout, flush=True)
