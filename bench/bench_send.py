"""Marketing email: personalised messages rendered and handed to a local SMTP server per
second, through the whole exactly-once path, against bare smtplib sends in the same run.

A fresh database (SQLite in a temporary directory, or a fresh PostgreSQL database when
DATABASE_URL is set) gets a workspace, an identity, a personalised template and
BENCH_SEND_CONTACTS contacts (default 5,000) with consent. The sending run is the
worker's own (``nurture.services.sending.message_deliver_run``, in this process): claim
batches with leases, per email render the subject, HTML and generated text in the sandbox,
build the MIME message with its Message-ID and one-click unsubscribe headers, commit it
in flight, hand it over one SMTP session per batch, commit it sent. The SMTP server is
aiosmtpd's Sink in a process of its own on 127.0.0.1. The baseline is smtplib.sendmail of
one fixed, already built message over one session, as many times. A second message to
the same contacts is then sent by two worker runs side by side (two processes sharing the
deliveries through their leases, as two workers do). With DKIM
(BENCH_SEND_DKIM=1) every message is also signed (dkimpy, 1024-bit RSA).

Target (issue 15): ≥ 500 messages/s (listmonk's default rate is 100/s).

Measured on x86_64, 2 cores, nothing else running (load about 1.4), 6 December 2026,
per second over two runs, link tracking on, the batch's suppression check one query:
SQLite one run 630-761, two runs 764-853, bare smtplib 1,593-1,672; PostgreSQL one run
395-401, two runs 581-590, bare 1,553-1,688 (docs/nurture/sending.md). The same day on the
machine loaded by other work (load 3-5): SQLite one run 242-467, PostgreSQL 74-162.
"""

import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

CONTACTS = int(os.environ.get("BENCH_SEND_CONTACTS", "5000"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_sink(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("aiosmtpd did not start")


def _child(port: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from leadflow.contacts.models import Contact
    from leadflow.core.secrets import secret_name_base
    from leadflow.core.services import workspace_create
    from leadflow.nurture.models import DKIM_KEY_ENV_PREFIX, Delivery, PacingSettings
    from leadflow.nurture.services import sending
    from leadflow.nurture.services import settings as email_settings

    workspace, _ = workspace_create(name="Bench Send", owner_email="owner@bench-send.example")
    # Sent at any hour: quiet hours would hold every email until the morning.
    PacingSettings.objects.update_or_create(workspace=workspace, defaults={"quiet_enabled": False})
    identity = email_settings.identity_create(
        workspace=workspace,
        data={"from_name": "Bench News", "from_address": "news@bench-send.example"},
    )
    template = email_settings.template_create(
        workspace=workspace,
        data={
            "name": "Bench",
            "subject": '{{ contact.first_name|default:"Hello" }}, our spring offer',
            "html_body": (
                '<html><body><h1>Hi {{ contact.first_name|default:"there" }}!</h1>'
                "<p>As a {{ contact.job_title|default:'reader' }} at "
                "{{ contact.company|default:'your company' }} you may like this.</p>"
                '{% for n in "123" %}<p>Item {{ n }}: <a href="https://bench.example/i/'
                '{{ n }}">Read more</a></p>{% endfor %}'
                "<p>Best,<br>The team</p></body></html>"
            ),
        },
    )
    dkim = {}
    if os.environ.get("BENCH_SEND_DKIM") == "1":
        key = subprocess.run(
            ["openssl", "genrsa", "-traditional", "1024"], check=True, capture_output=True
        ).stdout
        key_env = secret_name_base(workspace.pk, DKIM_KEY_ENV_PREFIX) + "_BENCH"
        os.environ[key_env] = key.decode()
        dkim = {"dkim_domain": "bench-send.example", "dkim_selector": "b1",
                "dkim_key_env": key_env}  # fmt: skip
    email_settings.smtp_settings_save(
        workspace=workspace,
        data={"host": "127.0.0.1", "port": port, "tls_mode": "none", **dkim},
    )
    Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"reader{i}@bench-send.example",
                first_name=f"Reader{i}",
                job_title="Buyer" if i % 2 else "",
                consent_status="granted",
            )
            for i in range(CONTACTS)
        ],
        batch_size=1000,
    )
    message = sending.message_create(
        workspace=workspace, name="Bench", template_id=template.pk, identity_id=identity.pk
    )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))
    started = time.perf_counter()
    sending.message_send(message=message, contact_ids=ids)
    enqueue_seconds = time.perf_counter() - started

    started = time.perf_counter()
    if os.environ.get("BENCH_SEND_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(sending.message_deliver_run, message_pk=message.pk)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    else:
        result = sending.message_deliver_run(message_pk=message.pk)
    send_seconds = time.perf_counter() - started
    assert result.sent == CONTACTS, result
    assert Delivery.objects.filter(message=message, status="sent").count() == CONTACTS

    # Two worker runs side by side (two processes, as LEADFLOW_SEND_PARALLEL schedules on
    # two workers), sharing a second message's deliveries through their leases.
    second = sending.message_create(
        workspace=workspace, name="Bench 2", template_id=template.pk, identity_id=identity.pk
    )
    sending.message_send(message=second, contact_ids=ids)
    start_at = time.time() + 4  # both processes set up by then
    runs = [
        subprocess.Popen(
            [sys.executable, __file__, "--run", str(second.pk), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ends = [float(run.communicate(timeout=1800)[0].split()[-1]) for run in runs]
    parallel_seconds = max(ends) - start_at
    assert Delivery.objects.filter(message=second, status="sent").count() == CONTACTS

    # The baseline: one fixed, built message over one session, as many times.
    raw = (
        b"From: news@bench-send.example\r\nTo: reader@bench-send.example\r\n"
        b"Subject: Fixed\r\nMessage-ID: <fixed@bench-send.example>\r\n\r\n"
        + b"Hello, this is a fixed message.\r\n"
        * 20
    )
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as session:
        for i in range(CONTACTS):
            session.sendmail("news@bench-send.example", [f"reader{i}@bench-send.example"], raw)
    bare_seconds = time.perf_counter() - started
    from django.db import connection

    return {
        "database": connection.vendor,
        "dkim": bool(dkim),
        "messages": CONTACTS,
        "enqueue_ms": round(enqueue_seconds * 1000),
        "personalised_per_s": round(CONTACTS / send_seconds),
        "personalised_two_runs_per_s": round(CONTACTS / parallel_seconds),
        "bare_smtplib_per_s": round(CONTACTS / bare_seconds),
        "ratio_vs_bare": round(bare_seconds / send_seconds, 3),
        "two_runs_ratio_vs_bare": round(bare_seconds / parallel_seconds, 3),
    }


def run() -> dict:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    env["LEADFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="leadflow-bench-send-")
    env["LEADFLOW_DEMO"] = "0"
    fresh = None
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.path.insert(0, os.path.dirname(__file__))
        import common

        fresh = common.fresh_database(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = fresh
    port = _free_port()
    sink = _smtp_sink(port)
    try:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(port)],
            env=env, capture_output=True, text=True, check=True, timeout=1800,
        ).stdout  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        if fresh:
            common.drop_database(fresh)
    return json.loads(output.strip().splitlines()[-1])


def _run(message_pk: int, start_at: float) -> float:
    """One worker run of the message, started at ``start_at``; when it ended."""
    import django

    django.setup()
    from leadflow.nurture.services import sending

    time.sleep(max(0.0, start_at - time.time()))
    sending.message_deliver_run(message_pk=message_pk)
    return time.time()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--run":
        print(_run(int(sys.argv[2]), float(sys.argv[3])))
    elif len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]))))
    else:
        print(json.dumps(run(), indent=2))
