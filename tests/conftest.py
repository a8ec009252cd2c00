"""Shared fixtures. The suite runs on PostgreSQL when DATABASE_URL is set, else on SQLite."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import redis
from django.test import Client

from leadflow.core.actors import Actor
from leadflow.core.models import ALL_API_SCOPES, Membership, Role
from leadflow.core.services import apikey_create, member_add, workspace_create

PASSWORD = "correct-horse-battery-staple"


def _flush_by_delete() -> None:
    """Empty the tables after a transactional test with DELETE, not TRUNCATE, on PostgreSQL.

    Django empties every table with one ``TRUNCATE`` of all of them; for a hundred
    near-empty tables that took 3.7 s on this two-core machine under load against 0.17 s
    for the DELETEs (96 tables, the same run), and it runs after each of a thousand
    transactional tests. tests/test_flush.py checks that every table is emptied. Django's
    foreign keys are ``DEFERRABLE INITIALLY DEFERRED`` and the flush runs in one
    transaction, so the tables may be emptied in any order; the sequences are not reset by
    either (``reset_sequences`` keeps Django's own statement)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            "SET CONSTRAINTS ALL DEFERRED",
            *(f"DELETE FROM {self.quote_name(table)}" for table in tables),
        ]

    sql_flush.django_truncate = truncate
    DatabaseOperations.sql_flush = sql_flush


_flush_by_delete()


def _flush_without_post_migrate() -> None:
    """After a flush, Django sends ``post_migrate`` again, and contrib.auth and
    contenttypes write their permission and content-type rows back: some 200 queries, 1.8 s
    of each 2.0 s flush on PostgreSQL on this machine (0.19 s without). LeadFlow uses
    neither (roles are its own; no generic relations, no admin), so a test's flush leaves
    them out; ``migrate`` (tests/imports/test_migration.py) still writes them."""
    from django.core.management.commands import flush

    flush.emit_post_migrate_signal = lambda *args, **kwargs: None


_flush_without_post_migrate()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests change forms and submit at once; tests/capture/test_form_cache.py covers caching.
    settings.LEADFLOW_PUBLIC_CACHE_SECONDS = 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers_ping(server: subprocess.Popen, url: str) -> bool:
    deadline = time.monotonic() + 10
    while server.poll() is None and time.monotonic() < deadline:
        try:
            return redis.Redis.from_url(url, socket_timeout=1).ping()
        except redis.ConnectionError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """Puts a migrated SQLite database into a data directory: made once per session by a
    real `leadflow migrate` (about 20 s of CPU here), then copied (milliseconds) for each
    test that starts LeadFlow's own processes on an installation of its own. The cold
    start itself, migrating an empty data directory, is tested on its own
    (tests/test_serve.py's first test, tests/test_cli.py)."""
    template = tmp_path_factory.mktemp("migrated")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(LEADFLOW_DATA_DIR=str(template))
    subprocess.run(
        [sys.executable, "-m", "leadflow", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    def seed(data_dir):
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("leadflow.sqlite3", "leadflow.sqlite3-wal"):
            if (template / name).exists():
                shutil.copyfile(template / name, data_dir / name)
        return data_dir

    return seed


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A throwaway Redis server for this test run (one per xdist worker): its own free port on
    127.0.0.1, nothing saved to disk, stopped when the session ends. Yields its base URL
    (``redis://127.0.0.1:<port>``); append ``/<db>`` to use a database. A missing
    ``redis-server`` fails the tests that need it (never a skip): ``make test`` installs it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server).")
    directory = tmp_path_factory.mktemp("redis")
    for _ in range(5):  # another process may take the free port before Redis binds it
        port = _free_port()
        options = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
        options += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        server = subprocess.Popen(
            [binary, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"redis://127.0.0.1:{port}"
        if _answers_ping(server, url):
            break
        server.kill()
        server.wait()
    else:
        pytest.fail("redis-server did not start on a free port.")
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def workspace(db):
    workspace, _ = workspace_create(
        name="Acme Widgets",
        owner_email="owner@acme-widgets.com",
        owner_password=PASSWORD,
        default_country="GB",
    )
    return workspace


@pytest.fixture
def owner(workspace):
    return Membership.objects.get(workspace=workspace, role=Role.OWNER).user


@pytest.fixture
def owner_actor(workspace, owner):
    return Actor.for_user(owner, Membership.objects.get(workspace=workspace, user=owner))


@pytest.fixture
def other_workspace(db):
    workspace, _ = workspace_create(
        name="Other Co", owner_email="owner@other-co.com", owner_password=PASSWORD
    )
    return workspace


@pytest.fixture
def make_member(workspace, owner_actor):
    def make(role: str, email: str | None = None):
        membership, _ = member_add(
            workspace=workspace,
            email=email or f"{role}@acme-widgets.com",
            role=role,
            actor=owner_actor,
            password=PASSWORD,
        )
        return membership

    return make


class ApiClient:
    """A test client that speaks JSON to /api/v1 with a Bearer key."""

    def __init__(self, secret: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def _call(self, method: str, path: str, body=None, headers=None, **extra):
        kwargs = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs, **extra)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self._call("post", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self._call("patch", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self._call("put", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def api_key_for(owner_actor):
    def make(workspace, scopes=None):
        _, secret = apikey_create(
            workspace=workspace, name="tests", scopes=scopes or ALL_API_SCOPES, actor=owner_actor
        )
        return ApiClient(secret)

    return make


@pytest.fixture
def api(workspace, api_key_for):
    return api_key_for(workspace)


@pytest.fixture
def other_api(other_workspace, api_key_for):
    return api_key_for(other_workspace)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``database_independent`` run where the suite runs on SQLite, not again
    in the PostgreSQL leg: they start an installation of their own (``leadflow serve`` on
    a SQLite file or on a PostgreSQL cluster of their own) or look only at the pages' HTML
    and CSS, so a second run would check the same thing twice (CI runs both legs). Left
    out as deselected, and counted so in pytest's summary."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("database_independent") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
