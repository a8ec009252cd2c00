"""What the HTTP benchmarks share: a fresh PostgreSQL database, the web tier in a
subprocess, and wrk as the load generator on the same machine."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("wrk") or "wrk"


def fresh_database(base_url: str) -> str:
    import psycopg

    name = f"leadflow_bench_capture_{os.getpid()}"
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return base_url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    import psycopg

    admin, name = url.rsplit("/", 1)
    with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def server_command(kind: str, workers: int, threads: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if kind == "granian":
        return [
            str(bin_dir / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            "--log-level",
            "warning",
            "leadflow.config.wsgi:application",
        ]
    return [
        str(bin_dir / "gunicorn"),
        "-b",
        f"127.0.0.1:{PORT}",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-k",
        "gthread",
        "--log-level",
        "warning",
        "leadflow.config.wsgi:application",
    ]


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url}")


def wrk_run(wrk: str, url: str, script: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    result = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{DURATION}",
            "--latency",
            "-s",
            handle.name,
            url,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    os.unlink(handle.name)
    text = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

    def percentile(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rate": rate,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def server_start(kind: str, workers: int, threads: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        server_command(kind, workers, threads),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    wait_until_up(f"http://127.0.0.1:{PORT}/healthz")
    return server


def server_stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def bench_env(database: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database,
        "LEADFLOW_BENCH_ENDPOINTS": "1",
        "LEADFLOW_FORM_RATE_PER_IP": "0",
        "LEADFLOW_FORM_RATE_PER_FORM": "0",
        "LEADFLOW_EVENT_RATE_PER_IP": "0",
        "LEADFLOW_DEMO": "0",
        "DJANGO_SETTINGS_MODULE": "leadflow.config.settings",
        "DATABASE_CONN_MAX_AGE": "600",
    }


def django_run(code: str, env: dict) -> str:
    """Run Python with Django set up in a subprocess (the bench's own database)."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()
