"""The ``leadflow`` command: run, set up and administer a LeadFlow installation.

Every subcommand is thin: it parses its arguments, calls a core or contacts service, and
prints the result. Guarantees shared by all of them:

- ``--help`` works on the command and on every subcommand;
- an expected failure (a domain error, a bad argument, an unknown workspace, a database
  that cannot be reached) prints one line to stderr and exits non-zero, without a
  traceback: 1 for a failed command, 2 for a usage error;
- secrets (generated passwords, API key secrets) are printed once and never stored in
  clear: the database holds password hashes and API key hashes only.

Longer than the house's ~600 lines: one argparse table of commands, each a short function;
one file is the command's reference.
"""

# Imports inside the command functions are deliberate: Django and the apps' models load only
# after django_setup() has configured settings, and a command pays only for what it uses.

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from leadflow.core.errors import DomainError, FieldError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from leadflow.core.models import Workspace

PROG = "leadflow"
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad arguments: reported on one line, exit status 2."""


class CommandFailed(Exception):
    """A command could not do its job for a reason the user can fix: one line, status 1."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports mistakes as one line instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# --- entry point ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``leadflow`` command; returns the exit status (0 when it succeeded)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["manage"]:
        return _run(lambda _: cmd_manage(arguments[1:]), argparse.Namespace())
    parser = build_parser()
    try:
        options = parser.parse_args(arguments)
    except UsageError as error:
        return _fail(str(error), status=2)
    except SystemExit as leaving:  # --help and --version exit through argparse
        return _exit_status(leaving)
    handler: Handler | None = getattr(options, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return _run(handler, options)


def _run(handler: Handler, options: argparse.Namespace) -> int:
    from django.core.management.base import CommandError
    from django.db import InterfaceError, OperationalError

    try:
        django_setup()
        return handler(options) or 0
    except DomainError as error:
        return _fail(describe_error(error))
    except (CommandError, CommandFailed) as error:
        return _fail(str(error))
    except (OperationalError, InterfaceError) as error:
        return _fail(f"the database cannot be reached: {_one_line(str(error))}")
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)
    except SystemExit as leaving:  # Django's management commands exit this way
        return _exit_status(leaving)


def django_setup() -> None:
    """Point Django at LeadFlow's settings and load the apps (once per process)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def describe_error(error: DomainError) -> str:
    """A domain error as one line, naming every bad field of a validation failure."""
    if isinstance(error, ValidationFailed) and error.errors:
        return "; ".join(f"{item.field}: {_one_line(item.message)}" for item in error.errors)
    return _one_line(error.detail)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, *, status: int = 1) -> int:
    prefix = "" if message.startswith(f"{PROG}") else f"{PROG}: error: "
    print(f"{prefix}{_one_line(message)}", file=sys.stderr)
    return status


def _exit_status(leaving: SystemExit) -> int:
    if leaving.code is None:
        return 0
    if isinstance(leaving.code, int):
        return leaving.code
    print(leaving.code, file=sys.stderr)
    return 1


# --- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``leadflow`` argument parser with every subcommand."""
    from leadflow import __version__

    parser = _Parser(
        prog=PROG,
        description="LeadFlow: self-hosted lead capture and lead management.",
        epilog="Configuration comes from environment variables (docs/configuration.md).",
    )
    parser.add_argument("--version", action="version", version=f"LeadFlow {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=handler.__doc__, **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "run the web server and the background worker")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--workers",
        type=_positive,
        help="web worker processes (default: 2 on SQLite, one per core on PostgreSQL)",
    )
    serve.add_argument(
        "--threads", type=_positive, default=4, help="threads per web worker process (4)"
    )
    serve.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="do not start the background worker (run `leadflow worker` elsewhere)",
    )
    serve.add_argument(
        "--stream-port",
        type=_positive,
        default=None,
        help="port of the chat stream tier (the web port + 1; LEADFLOW_STREAMS=0: none)",
    )

    add("worker", cmd_worker, "run the background worker only")
    add("migrate", cmd_migrate, "create or update the database tables")

    demo = add("demo", cmd_demo, "load the demo workspace (Northwind Demo)")
    action = demo.add_mutually_exclusive_group()
    action.add_argument("--reset", action="store_true", help="delete the demo and rebuild it")
    action.add_argument("--delete", action="store_true", help="delete the demo and its login")
    demo.add_argument("--contacts", type=_positive, default=3000, help="how many contacts (3000)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same data)")

    workspace = commands.add_parser(
        "workspace", help="manage workspaces", description="Manage workspaces."
    )
    _needs_subcommand(workspace)
    workspace_commands = workspace.add_subparsers(title="commands", metavar="COMMAND")
    create = workspace_commands.add_parser(
        "create", help="create a workspace and its owner", description=cmd_workspace_create.__doc__
    )
    create.set_defaults(handler=cmd_workspace_create)
    create.add_argument("name", help="the workspace's name, e.g. 'Acme Widgets'")
    create.add_argument("--owner-email", required=True, help="the owner's email (their login)")
    create.add_argument("--slug", default="", help="short name used in URLs (from the name)")
    create.add_argument(
        "--country", default="US", help="default country for phone numbers (ISO code, US)"
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the owner's password from stdin instead of generating one",
    )

    show = workspace_commands.add_parser(
        "show",
        help="show a workspace's settings and public key",
        description=cmd_workspace_show.__doc__,
    )
    show.set_defaults(handler=cmd_workspace_show)
    show.add_argument("slug", help="workspace slug")
    update = workspace_commands.add_parser(
        "update", help="change a workspace's settings", description=cmd_workspace_update.__doc__
    )
    update.set_defaults(handler=cmd_workspace_update)
    update.add_argument("slug", help="workspace slug")
    update.add_argument("--name", help="a new name")
    update.add_argument("--country", help="default country for phone numbers (ISO code)")
    update.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        metavar="ORIGIN",
        help="a site that may embed forms and send tracking data, e.g. "
        "https://www.example.com (repeatable; replaces the list)",
    )
    update.add_argument(
        "--any-origin", action="store_true", help="empty the allowed sites (any site may send data)"
    )
    update.add_argument(
        "--respect-privacy-signals",
        choices=["yes", "no"],
        help="honour Do Not Track and Global Privacy Control",
    )
    update.add_argument(
        "--tracking-requires-consent",
        choices=["yes", "no"],
        help="store nothing until the site calls leadflow.consent(true)",
    )
    update.add_argument(
        "--event-retention-days", type=_positive, help="delete tracking events older than this"
    )

    user = commands.add_parser(
        "user", help="manage people in workspaces", description="Manage people in workspaces."
    )
    _needs_subcommand(user)
    user_commands = user.add_subparsers(title="commands", metavar="COMMAND")
    user_add = user_commands.add_parser(
        "add", help="add a person to a workspace", description=cmd_user_add.__doc__
    )
    user_add.set_defaults(handler=cmd_user_add)
    user_add.add_argument("email", help="their email (their login)")
    user_add.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    user_add.add_argument("--role", required=True, help="owner, admin, marketer, sales or viewer")
    user_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a new user's password from stdin instead of generating one",
    )

    apikey = commands.add_parser("apikey", help="manage API keys", description="Manage API keys.")
    _needs_subcommand(apikey)
    apikey_commands = apikey.add_subparsers(title="commands", metavar="COMMAND")
    key_create = apikey_commands.add_parser(
        "create", help="create an API key", description=cmd_apikey_create.__doc__
    )
    key_create.set_defaults(handler=cmd_apikey_create)
    key_create.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    key_create.add_argument("--name", default="Command line", help="what the key is for")
    key_create.add_argument(
        "--scope",
        dest="scopes",
        action="extend",
        nargs="+",
        metavar="SCOPE",
        help="a scope such as contacts:read (repeatable; default: every scope)",
    )

    export = commands.add_parser(
        "export", help="export data to a file", description="Export data to a file."
    )
    _needs_subcommand(export)
    export_commands = export.add_subparsers(title="commands", metavar="COMMAND")
    export_contacts = export_commands.add_parser(
        "contacts",
        help="export a workspace's contacts (CSV or Excel)",
        description=cmd_export_contacts.__doc__,
    )
    export_contacts.set_defaults(handler=cmd_export_contacts)
    export_contacts.add_argument(
        "--workspace", required=True, metavar="SLUG", help="workspace slug"
    )
    export_contacts.add_argument(
        "--format", dest="fmt", choices=["csv", "xlsx"], default="csv", help="csv (default) or xlsx"
    )
    export_contacts.add_argument(
        "--output", metavar="FILE", help="file to write (default for CSV: standard output)"
    )

    import_ = commands.add_parser(
        "import", help="import data from a file", description="Import data from a file."
    )
    _needs_subcommand(import_)
    import_commands = import_.add_subparsers(title="commands", metavar="COMMAND")
    import_contacts = import_commands.add_parser(
        "contacts",
        help="import contacts from a CSV or Excel (.xlsx) file",
        description=cmd_import_contacts.__doc__,
    )
    import_contacts.set_defaults(handler=cmd_import_contacts)
    import_contacts.add_argument("file", metavar="FILE", help="the CSV or .xlsx file")
    import_contacts.add_argument(
        "--workspace", required=True, metavar="SLUG", help="workspace slug"
    )
    import_contacts.add_argument(
        "--mapping",
        metavar="FILE",
        help='JSON {"column": "field"} (default: columns mapped by their names)',
    )
    existing = import_contacts.add_mutually_exclusive_group()
    existing.add_argument(
        "--update",
        dest="update_existing",
        action="store_true",
        default=True,
        help="update contacts that exist already (default)",
    )
    existing.add_argument(
        "--only-new",
        dest="update_existing",
        action="store_false",
        help="only add new contacts; rows of existing ones are skipped",
    )
    import_contacts.add_argument(
        "--tag", dest="tags", action="append", default=[], metavar="T", help="tag (repeatable)"
    )
    import_contacts.add_argument(
        "--saved-mapping", metavar="NAME", help="use a mapping saved in the app or with --save-as"
    )
    import_contacts.add_argument(
        "--save-as", default="", metavar="NAME", help="keep this import's mapping under NAME"
    )
    import_contacts.add_argument(
        "--conflict",
        choices=["file", "existing"],
        default="file",
        help="which side wins for a field both have: the file (default) or the existing contact",
    )
    import_contacts.add_argument("--source", default="", help="source for rows without one")
    import_contacts.add_argument(
        "--stage", default="", metavar="STAGE", help="lifecycle stage of new contacts"
    )
    import_contacts.add_argument(
        "--owner", default="", metavar="EMAIL", help="owner of new contacts (a member)"
    )
    _date_order_arguments(import_contacts, "dates", "")
    import_contacts.add_argument(
        "--new-field",
        dest="new_fields",
        action="append",
        default=[],
        metavar="COLUMN[:TYPE]",
        help="create a custom field for COLUMN (type text/number/date/boolean, else guessed)",
    )
    import_contacts.add_argument(
        "--strict",
        action="store_true",
        help="a row with any bad value is not imported (default: it is, without the value)",
    )
    import_contacts.add_argument(
        "--backdate-existing",
        action="store_true",
        help="an earlier created date in the file moves an existing contact's back",
    )
    import_activities = import_commands.add_parser(
        "activities",
        help="import past activities of known contacts from a CSV or Excel (.xlsx) file",
        description=cmd_import_activities.__doc__,
    )
    import_activities.set_defaults(handler=cmd_import_activities)
    import_activities.add_argument("file", metavar="FILE", help="the CSV or .xlsx file")
    import_activities.add_argument(
        "--workspace", required=True, metavar="SLUG", help="workspace slug"
    )
    import_activities.add_argument(
        "--mapping",
        metavar="FILE",
        help='JSON {"column": "target"}: contact_email, contact_phone, contact_id, '
        'external_id.<key>, type, name, occurred_at, url, client_id, property or "" '
        "(default: columns mapped by their names, the others properties)",
    )
    import_activities.add_argument(
        "--type",
        dest="event_type",
        default="",
        metavar="TYPE",
        help="the type of rows without one (e.g. webinar_attended for an attendee list)",
    )
    import_activities.add_argument(
        "--saved-mapping",
        metavar="NAME",
        help="use an activities mapping saved in the app or with --save-as",
    )
    import_activities.add_argument(
        "--save-as", default="", metavar="NAME", help="keep this import's mapping under NAME"
    )
    _date_order_arguments(import_activities, "times", " 14:05")

    duplicates = commands.add_parser(
        "duplicates",
        help="find duplicate contacts",
        description="Find contacts that may be one person.",
    )
    _needs_subcommand(duplicates)
    duplicates_commands = duplicates.add_subparsers(title="commands", metavar="COMMAND")
    scan = duplicates_commands.add_parser(
        "scan",
        help="scan a whole workspace for duplicates, learning the model again",
        description=cmd_duplicates_scan.__doc__,
    )
    scan.set_defaults(handler=cmd_duplicates_scan)
    scan.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")

    scoring_commands = _scoring_parser(commands)
    # --- conversion model (scoring train / evaluate) ---
    train = scoring_commands.add_parser(
        "train",
        help="train the workspace's conversion model now, with a progress bar",
        description=cmd_scoring_train.__doc__,
    )
    train.set_defaults(handler=cmd_scoring_train)
    train.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    train.add_argument(
        "--force", action="store_true", help="use the new model even if it does worse"
    )
    evaluate = scoring_commands.add_parser(
        "evaluate",
        help="evaluate the active conversion model's family on today's outcomes",
        description=cmd_scoring_evaluate.__doc__,
    )
    evaluate.set_defaults(handler=cmd_scoring_evaluate)
    evaluate.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    # --- end conversion model ---

    inbound = commands.add_parser(
        "inbound", help="inbound lead webhooks", description="Inbound lead webhooks."
    )
    _needs_subcommand(inbound)
    inbound_commands = inbound.add_subparsers(title="commands", metavar="COMMAND")
    replay = inbound_commands.add_parser(
        "replay",
        help="replay stored deliveries through their source's current mapping",
        description=cmd_inbound_replay.__doc__,
    )
    replay.set_defaults(handler=cmd_inbound_replay)
    replay.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    replay.add_argument("--source", type=_positive, metavar="ID", help="only this lead source")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--delivery", type=_positive, metavar="ID", help="one delivery")
    which.add_argument(
        "--rejected", action="store_true", help="every rejected delivery (verified senders only)"
    )
    replay.add_argument(
        "--force",
        action="store_true",
        help="with --delivery: let it in even if its sender cannot be verified",
    )

    _scoring_commands(commands)
    _sales_commands(commands)
    from leadflow.cli_nurture import nurture_commands  # imports this module: here, not above

    nurture_commands(commands)
    add(
        "maintain",
        cmd_maintain,
        "housekeeping: event partitions ahead, retention (chat too), score decay (run daily)",
    )
    copy = add(
        "copy-to-postgres",
        cmd_copy_to_postgres,
        "copy this SQLite installation into an empty PostgreSQL database",
    )
    copy.add_argument("url", metavar="DATABASE_URL", help="postgres://user:password@host/name")
    add("openapi", cmd_openapi, "print the REST API's OpenAPI schema (JSON)")
    check = add("check", cmd_check, "check the installation for problems")
    check.add_argument("--deploy", action="store_true", help="also run production checks")
    # Listed for --help only: main() hands `manage ...` to Django before parsing.
    commands.add_parser(
        "manage", help="run a Django management command (`leadflow manage help` lists them)"
    )
    return parser


def _needs_subcommand(parser: argparse.ArgumentParser) -> None:
    """A command group run without its subcommand shows its help and exits 2."""

    def show(options: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=show)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("a port is at most 65535")
    return value


# --- commands --------------------------------------------------------------------------------


def cmd_serve(options: argparse.Namespace) -> int:
    """Run LeadFlow on this machine: migrate the database, load the demo workspace when the
    database holds no workspace (unless LEADFLOW_DEMO=0), then run the web server (granian,
    WSGI) and the background worker side by side. It prints the address and the login once
    the web server answers. A process that stops after that is started again (the other
    keeps running); one that stops during start-up stops both and the command exits
    non-zero; Ctrl-C or SIGTERM stops both and exits 0."""
    from leadflow.server import ServeFailed, ServeOptions, serve

    try:
        return serve(
            ServeOptions(
                host=options.host,
                port=options.port,
                workers=options.workers,
                threads=options.threads,
                worker=options.worker,
                stream_port=options.stream_port,
            )
        )
    except ServeFailed as error:
        raise CommandFailed(str(error)) from None


def cmd_worker(options: argparse.Namespace) -> int:
    """Run the background worker until stopped: the database queue worker (django-tasks-db's,
    which waits out a database restart: leadflow.core.worker) by default, an RQ worker on the
    'default' queue when REDIS_URL is set (each job runs in a process of its own with a new
    database connection, so a database restart does not stop it either), with RQ's
    scheduler for jobs due later. Both run the clock of periodic sweeps (core.scheduler)."""
    from django.conf import settings
    from django.core.management import call_command

    from leadflow.contacts.activity_log import ACTIVITY_SUBSCRIBERS
    from leadflow.core.scheduler import clock_start
    from leadflow.core.tasks import task_schedule

    if ACTIVITY_SUBSCRIBERS:  # what a crash or a lost announcement left undelivered
        task_schedule("leadflow.contacts.tasks.activities_catch_up")
    clock_start(settings.LEADFLOW_CLOCK_TICK_SECONDS)  # periodic sweeps (core.scheduler)
    if settings.REDIS_URL:
        # RQ's scheduler runs what is enqueued for later (a retried email, a run_after).
        call_command("rqworker", "default", with_scheduler=True)
    else:
        from leadflow.core.worker import worker_run

        worker_run(queue_names=["default"])
    return 0


def cmd_migrate(options: argparse.Namespace) -> int:
    """Create or update every table; safe to run at any time, does nothing when up to date."""
    from django.core.management import call_command

    call_command("migrate", interactive=False)
    return 0


def cmd_demo(options: argparse.Namespace) -> int:
    """Load the demo workspace "Northwind Demo" (slug demo): members with every role,
    companies, contacts along the whole funnel and months of activity. It stops when the
    demo exists, unless --reset (delete and rebuild) or --delete is given. The owner's login
    (demo@example.com) gets a password generated once and kept in
    $LEADFLOW_DATA_DIR/demo-login.txt (mode 0600)."""
    import time

    from leadflow import demo
    from leadflow.core.errors import Conflict

    if options.delete:
        deleted = demo.demo_delete()
        demo.demo_login_path().unlink(missing_ok=True)
        print("Deleted the demo workspace." if deleted else "There is no demo workspace.")
        return 0
    if demo.demo_exists() and not options.reset:
        raise Conflict(
            "The demo workspace exists already; `leadflow demo --reset` rebuilds it.",
            code="demo_exists",
        )
    seed = demo.DEMO_SEED if options.seed is None else options.seed
    started = time.perf_counter()
    workspace, login = demo.demo_install(contacts=options.contacts, reset=options.reset, seed=seed)
    seconds = time.perf_counter() - started
    print(
        f"Built the demo workspace '{workspace.name}' (slug: {workspace.slug}) in {seconds:.1f} s."
    )
    print(f"{demo.demo_summary(workspace)}.")
    print(f"Log in as {login.email} with the password: {login.password}")
    print("The same password logs in the other demo members, one per role:")
    for email, role in demo.demo_members():
        print(f"  {email:<26} {role}")
    print(f"(The login is kept in {demo.demo_login_path()}.)")
    return 0


def cmd_workspace_create(options: argparse.Namespace) -> int:
    """Create a workspace and its owner. A new owner gets the password read from stdin
    (--password-stdin, checked against the password rules) or a generated one, printed
    once; an existing user becomes the owner and keeps their password."""
    from leadflow.core import services
    from leadflow.core.models import User
    from leadflow.core.validation import country_normalise, email_normalise

    email = email_normalise(options.owner_email, field="owner_email")
    country = country_normalise(options.country, field="country")
    if not country:
        raise ValidationFailed([FieldError("country", "Give a two-letter ISO country code.")])
    password = _password_from_stdin() if options.password_stdin else None
    existing = User.objects.filter(email=email).exists()
    generated = None
    if password is None and not existing:
        password = generated = services.password_generate()
    workspace, owner = services.workspace_create(
        name=options.name,
        owner_email=email,
        owner_password=password,
        slug=options.slug,
        default_country=country,
    )
    print(f"Created workspace '{workspace.name}' (slug: {workspace.slug}).")
    print(f"Owner: {owner.email}")
    if existing:
        print("The owner has an account already; their password is unchanged.")
    elif generated:
        print(f"Password: {generated}")
        print("(Shown only now: store it or change it after logging in.)")
    else:
        print("Password: as given on stdin.")
    return 0


def cmd_workspace_show(options: argparse.Namespace) -> int:
    """Print a workspace's settings, its public key (for the tracker and form embeds) and
    the sites allowed to use it."""
    workspace = workspace_by_slug(options.slug)
    origins = ", ".join(workspace.allowed_origins) or "any site (no list set)"
    print(f"Workspace:        {workspace.name} (slug: {workspace.slug})")
    print(f"Public key:       {workspace.public_key}")
    print(f"Allowed sites:    {origins}")
    print(f"Default country:  {workspace.default_country}")
    print(f"Privacy signals:  {'respected' if workspace.respect_privacy_signals else 'ignored'}")
    print(
        f"Tracking consent: {'required' if workspace.tracking_requires_consent else 'not required'}"
    )
    print(f"Event retention:  {workspace.event_retention_days} days")
    return 0


def cmd_workspace_update(options: argparse.Namespace) -> int:
    """Change a workspace's settings. --allowed-origin (repeatable) replaces the list of
    sites that may embed its forms and send tracking data; --any-origin empties it."""
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_update

    workspace = workspace_by_slug(options.slug)
    changes: dict = {}
    if options.name is not None:
        changes["name"] = options.name
    if options.country is not None:
        changes["default_country"] = options.country
    if options.any_origin:
        changes["allowed_origins"] = []
    elif options.allowed_origins:
        changes["allowed_origins"] = options.allowed_origins
    for name in ("respect_privacy_signals", "tracking_requires_consent"):
        if getattr(options, name) is not None:
            changes[name] = getattr(options, name) == "yes"
    if options.event_retention_days is not None:
        changes["event_retention_days"] = options.event_retention_days
    if not changes:
        raise CommandFailed("Nothing to change: give at least one option (see --help).")
    workspace_update(workspace=workspace, actor=Actor.system("command line"), **changes)
    return cmd_workspace_show(options)


def cmd_maintain(options: argparse.Namespace) -> int:
    """Housekeeping, safe to run at any time: create the event table's monthly partitions
    ahead (PostgreSQL), delete tracking events past each workspace's retention, inbound
    lead deliveries past LEADFLOW_INBOUND_RETENTION_DAYS and import uploads that were never
    started (older than two days), mark failed the imports whose worker vanished, queue a
    retraining of each workspace's conversion model last trained more than a week ago,
    delete chat transcripts past each workspace's retention (docs/chat/retention.md), and
    recompute every workspace's scores (engagement points decay by the day)."""
    from leadflow.chat.services import transcripts_prune
    from leadflow.imports.services import import_drafts_prune, import_jobs_stale_fail
    from leadflow.inbound.services import deliveries_prune
    from leadflow.scoring.services.training import models_retrain_due
    from leadflow.tracking import partitions
    from leadflow.tracking.services import events_prune

    created = partitions.ensure()
    deleted = events_prune()
    deliveries = deliveries_prune()
    drafts = import_drafts_prune()
    stale = import_jobs_stale_fail()
    retrain = models_retrain_due()
    transcripts = transcripts_prune()
    rescored = scoring_rescore_all()
    print(f"Partitions created: {', '.join(created) or 'none needed'}.")
    print(f"Events past retention deleted: {deleted}.")
    print(f"Inbound lead deliveries past retention deleted: {deliveries}.")
    print(f"Import uploads never started, deleted: {drafts}.")
    print(f"Imports whose worker vanished, marked failed: {stale}.")
    print(f"Conversion models queued for retraining (older than a week): {retrain}.")
    print(
        f"Chat transcripts past retention deleted: {transcripts.conversations} conversations, "
        f"{transcripts.messages} messages, in {transcripts.workspaces} workspaces."
    )
    print(f"Workspaces rescored (engagement decay): {rescored}.")
    return 0


# --- scoring -------------------------------------------------------------------------------


def _scoring_commands(commands: Any) -> None:
    scoring_commands = _scoring_parser(commands)
    rescore = scoring_commands.add_parser(
        "rescore",
        help="recompute every contact's scores (a workspace, or all: the daily decay refresh)",
        description=cmd_scoring_rescore.__doc__,
    )
    rescore.set_defaults(handler=cmd_scoring_rescore)
    which = rescore.add_mutually_exclusive_group(required=True)
    which.add_argument("--workspace", metavar="SLUG", help="workspace slug")
    which.add_argument("--all", action="store_true", help="every workspace")
    rescore.add_argument(
        "--from-scratch",
        action="store_true",
        help="rebuild every rule's points, not only those of rules changed since the last rescore",
    )


def _date_order_arguments(parser: argparse.ArgumentParser, what: str, clock: str) -> None:
    """``--day-first`` / ``--month-first`` of an import: how the file's ``what`` (dates or
    times, written with ``clock`` after the date) are read; unset, the file tells."""
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first",
        dest="day_first",
        action="store_true",
        default=None,
        help=f"{what} read 31/12/2024{clock} (default: as the file's {what} tell, else by the "
        "workspace country)",
    )
    order.add_argument(
        "--month-first",
        dest="day_first",
        action="store_false",
        help=f"{what} read 12/31/2024",
    )


def cmd_scoring_rescore(options: argparse.Namespace) -> int:
    """Recompute every contact's scores from the rules (set-based: the engagement points of
    rules changed since the last rescore rebuilt, or of every rule with --from-scratch;
    points decayed to now, then fit, predictions and lifecycle) for one workspace or all
    of them. `leadflow maintain` runs it for all workspaces daily, so decayed scores stay
    current; a change of rules in the app schedules it for the workspace."""
    import time

    from leadflow.contacts.models import Contact
    from leadflow.scoring.services import workspace_rescore

    if options.all:
        started = time.monotonic()
        count = scoring_rescore_all(from_scratch=options.from_scratch)
        print(f"Rescored {count} workspaces in {time.monotonic() - started:.1f} s.")
        return 0
    workspace = workspace_by_slug(options.workspace)
    started = time.monotonic()
    rebuilt = workspace_rescore(workspace_id=workspace.pk, from_scratch=options.from_scratch)
    contacts = Contact.objects.filter(workspace=workspace).count()
    print(
        f"Rescored {contacts} contacts of {workspace.slug} in {time.monotonic() - started:.1f} s "
        f"(the points of {rebuilt} rule{'' if rebuilt == 1 else 's'} rebuilt)."
    )
    return 0


def scoring_rescore_all(*, from_scratch: bool = False) -> int:
    """Recompute every workspace (one transaction each); returns how many."""
    from leadflow.core.models import Workspace
    from leadflow.scoring.services import workspace_rescore

    ids = list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
    for workspace_id in ids:
        workspace_rescore(workspace_id=workspace_id, from_scratch=from_scratch)
    return len(ids)


def cmd_copy_to_postgres(options: argparse.Namespace) -> int:
    """Copy every row of this installation's SQLite database into a new, empty PostgreSQL
    database (its tables are created first), in one transaction, then reset its sequences.
    Stop LeadFlow first so nothing changes during the copy; the SQLite file is only read.
    Afterwards set DATABASE_URL to the new database (docs/deployment.md)."""
    from leadflow import dbcopy

    print(f"Copying {dbcopy.sqlite_path()} into PostgreSQL…")
    report = dbcopy.copy_to_postgres(url=options.url)
    print(f"Copied {report.rows:,} rows in {len(report.tables)} tables.")
    print("Now set DATABASE_URL to that database and start LeadFlow.")
    return 0


def cmd_export_contacts(options: argparse.Namespace) -> int:
    """Write every contact of a workspace as CSV (to standard output unless --output is
    given) or as an Excel workbook (--format xlsx, needs --output): the same columns as the
    app's and the API's exports, with formula-like cells escaped."""
    from leadflow.contacts.exports import csv_write, xlsx_write
    from leadflow.contacts.selectors import contact_export_rows
    from leadflow.core.actors import Actor

    if options.fmt == "xlsx" and not options.output:
        raise CommandFailed("--format xlsx needs --output FILE (a workbook is not text)")
    workspace = workspace_by_slug(options.workspace)
    rows = contact_export_rows(workspace, Actor.system("command line"), {})
    if not options.output:
        csv_write(rows, sys.stdout)
        return 0
    try:
        if options.fmt == "xlsx":
            with open(options.output, "wb") as file:
                xlsx_write(rows, file)
        else:
            with open(options.output, "w", encoding="utf-8-sig", newline="") as file:
                csv_write(rows, file)
    except OSError as error:
        raise CommandFailed(f"{options.output}: {error.strerror}") from None
    print(f"Wrote the contacts of '{workspace.name}' to {options.output}.", file=sys.stderr)
    return 0


def _progress_line(job, seconds: float, *, bar: bool, width: int = 30) -> str:
    """ "12000/26000 rows, 5100 rows/s, 3 errors", after a [#####-----] bar on a terminal."""
    rate = job.rows_done / max(seconds, 1e-6)
    line = f"{job.rows_done}/{job.total_rows} rows, {rate:.0f} rows/s, {job.failed_count} errors"
    if not bar:
        return line
    done = round(width * job.rows_done / max(job.total_rows, 1))
    percent = round(100 * job.rows_done / max(job.total_rows, 1))
    return f"[{'#' * done}{'-' * (width - done)}] {percent:3d}% {line}"


def _new_field_spec(spec: str) -> tuple[str, str]:
    """ "Budget:number" -> ("Budget", "number"); "Budget" -> ("Budget", "") (type guessed)."""
    column, _, kind = spec.rpartition(":")
    if column and kind in {"text", "number", "date", "boolean"}:
        return column, kind
    return spec, ""


def _import_mapping_read(path: str | None) -> dict | None:
    """The --mapping file's {"column": "target"}, or None without one."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            mapping = json.load(file)
    except OSError as error:
        raise CommandFailed(f"{path}: {error.strerror}") from None
    except ValueError as error:
        raise CommandFailed(f"{path}: not JSON ({error})") from None
    if not isinstance(mapping, dict):
        raise CommandFailed(f'{path}: expected {{"column": "field", ...}}')
    return mapping


def _saved_mapping_id(workspace: Workspace, name: str | None, kind: str) -> int | None:
    """The id of the workspace's mapping saved as ``name`` for imports of ``kind``."""
    from leadflow.imports.models import ImportMapping

    if not name:
        return None
    saved = ImportMapping.objects.filter(workspace=workspace, kind=kind, name=name)
    saved_id = saved.values_list("pk", flat=True).first()
    if saved_id is None:
        raise CommandFailed(f"no saved mapping of {kind} named {name!r}")
    return saved_id


def _import_foreground(job: Any) -> int:
    """Run a started import in the foreground, printing its progress then its outcome."""
    import time

    from leadflow.imports.run import import_job_run

    ignored = [header for header, target in job.mapping.items() if not target]
    if ignored:
        print(f"Ignored columns: {', '.join(ignored)}", file=sys.stderr)
    started = time.monotonic()

    bar = sys.stderr.isatty()

    def progress(job) -> None:
        print(_progress_line(job, time.monotonic() - started, bar=bar), end="\r" if bar else "\n",
              file=sys.stderr, flush=True)  # fmt: skip

    job = import_job_run(job_id=job.pk, progress=progress)
    if bar:
        print(file=sys.stderr)
    if job.kind == "activities":
        print(
            f"Import {job.pk} {job.status}: {job.created_count} activities stored, "
            f"{job.skipped_count} stored before, {job.failed_count} failed."
        )
    else:
        print(
            f"Import {job.pk} {job.status}: {job.created_count} created, {job.updated_count} "
            f"updated, {job.skipped_count} skipped, {job.failed_count} failed, "
            f"{job.warning_count} stored without some values."
        )
    if job.message:
        print(job.message, file=sys.stderr)
    if job.error_path:
        print(f"Rows with problems: {job.error_path}")
    return 0 if job.status == "done" else 1


def cmd_import_contacts(options: argparse.Namespace) -> int:
    """Import contacts from a CSV file (any common encoding and delimiter) or an Excel
    workbook (.xlsx, first sheet) in the foreground, printing progress; existing contacts
    (same email, or same phone without email) are updated unless --only-new. Bad rows are
    listed in an error CSV."""
    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership
    from leadflow.imports.services import import_job_create

    workspace = workspace_by_slug(options.workspace)
    mapping = _import_mapping_read(options.mapping)
    if not os.path.isfile(options.file):
        raise CommandFailed(f"{options.file}: no such file")
    saved_id = _saved_mapping_id(workspace, options.saved_mapping, "contacts")
    owner_id = None
    if options.owner:
        owner_id = (
            Membership.objects.filter(workspace=workspace, user__email__iexact=options.owner)
            .values_list("user_id", flat=True)
            .first()
        )
        if owner_id is None:
            raise CommandFailed(f"{options.owner} is not a member of {workspace.slug}")
    import_options = {
        "update_existing": options.update_existing,
        "tags": options.tags,
        "conflict": options.conflict,
        "source": options.source,
        "lifecycle_stage": options.stage,
        "owner_id": owner_id,
        "day_first": options.day_first,
        "bad_values": "fail_row" if options.strict else "drop_value",
        "backdate_existing": options.backdate_existing,
    }
    job = import_job_create(
        workspace=workspace,
        actor=Actor.system("command line"),
        path=options.file,
        filename=options.file,
        mapping=mapping,
        options=import_options,
        new_fields=dict(_new_field_spec(spec) for spec in options.new_fields),
        saved_mapping_id=saved_id,
        save_as=options.save_as,
        schedule=False,
    )
    return _import_foreground(job)


def cmd_import_activities(options: argparse.Namespace) -> int:
    """Import past activities of known contacts (email opens, calls, webinars...) from a
    CSV or Excel file in the foreground, printing progress: each row is stored as an event
    of its contact with its original time (docs/scoring/history.md). Rows whose contact is
    not in the workspace, or whose type or time cannot be read, are listed in an error CSV;
    importing the same file again stores nothing new."""
    from leadflow.core.actors import Actor
    from leadflow.imports.services import import_job_create

    workspace = workspace_by_slug(options.workspace)
    mapping = _import_mapping_read(options.mapping)
    if not os.path.isfile(options.file):
        raise CommandFailed(f"{options.file}: no such file")
    saved_id = _saved_mapping_id(workspace, options.saved_mapping, "activities")
    import_options = None
    if options.event_type or options.day_first is not None or saved_id is None:
        import_options = {"event_type": options.event_type, "day_first": options.day_first}
    job = import_job_create(
        workspace=workspace,
        actor=Actor.system("command line"),
        path=options.file,
        filename=options.file,
        mapping=mapping,
        options=import_options,
        saved_mapping_id=saved_id,
        save_as=options.save_as,
        schedule=False,
        kind="activities",
    )
    return _import_foreground(job)


def cmd_duplicates_scan(options: argparse.Namespace) -> int:
    """Compare every contact of a workspace with the contacts that share a blocking key,
    learn the model's weights from the workspace's data and its team's decisions, and
    rewrite the list of possible duplicates (dismissed pairs stay dismissed). Prints
    progress; the pairs are reviewed in the app or through GET /api/v1/duplicates."""
    import time

    from leadflow.duplicates.model import MATCH_THRESHOLD
    from leadflow.duplicates.models import DuplicatePair, PairStatus
    from leadflow.duplicates.scan import duplicates_scan

    workspace = workspace_by_slug(options.workspace)
    bar = sys.stderr.isatty()
    started = time.monotonic()

    def progress(state) -> None:
        line = _scan_line(state, time.monotonic() - started, bar=bar)
        print(line, end="\r" if bar else "\n", file=sys.stderr, flush=True)

    result = duplicates_scan(workspace=workspace, progress=progress)
    if bar:
        print(file=sys.stderr)
    likely = DuplicatePair.objects.filter(
        workspace=workspace, status=PairStatus.OPEN, probability__gte=MATCH_THRESHOLD
    ).count()
    print(
        f"Scanned {result.contacts} contacts in {result.seconds:.1f} s: {result.candidates} "
        f"pairs compared, {result.listed} listed for review ({likely} likely duplicates, "
        f"probability >= {MATCH_THRESHOLD:g}), {result.removed} no longer listed."
    )
    return 0


def _scan_line(state, seconds: float, *, bar: bool, width: int = 30) -> str:
    """ "comparing 120000/400000 (12 s)", after a [#####-----] bar on a terminal."""
    line = f"{state.stage} {state.done}/{state.total} ({seconds:.0f} s)"
    if not bar:
        return line
    done = round(width * state.done / max(state.total, 1))
    return f"[{'#' * done}{'-' * (width - done)}] {line:<40}"


def _scoring_parser(commands) -> Any:
    """The `scoring` command group's subparsers (created once, shared by its commands)."""
    scoring = commands.choices.get("scoring")
    if scoring is None:
        scoring = commands.add_parser(
            "scoring", help="lead scoring", description="Lead scoring and the conversion model."
        )
        _needs_subcommand(scoring)
        scoring.add_subparsers(title="commands", metavar="COMMAND")
    return next(
        action for action in scoring._actions if isinstance(action, argparse._SubParsersAction)
    )


# --- conversion model (scoring train / evaluate) -------------------------------------------


def cmd_scoring_train(options: argparse.Namespace) -> int:
    """Train a new version of the workspace's conversion model from its contacts with a
    known outcome: the candidate families compete by cross-validated ROC AUC, the winner is
    evaluated (cross-validation and a hold-out by time) and put into use unless it does
    worse than the model in use (then it is kept as rejected; --force uses it anyway).
    Every contact is then scored by the worker."""
    import time

    from leadflow.scoring.selectors.predictions import family_label
    from leadflow.scoring.services.training import model_train

    workspace = workspace_by_slug(options.workspace)
    bar = sys.stderr.isatty()
    started = time.monotonic()

    def progress(step: str, done: int, total: int) -> None:
        line = _train_line(step, done, total, time.monotonic() - started, bar=bar)
        print(line, end="\r" if bar else "\n", file=sys.stderr, flush=True)

    model = model_train(workspace=workspace, force=options.force, progress=progress)
    if bar:
        print(file=sys.stderr)
    metrics = model.metrics or {}
    print(f"Trained version {model.version} on {model.rows} outcomes ({model.positives} won).")
    for family, result in sorted((metrics.get("candidates") or {}).items()):
        auc, spread = result.get("cv_auc"), result.get("cv_auc_std")
        shown = "n/a" if auc is None else f"{auc:.3f} ± {spread or 0:.3f}"
        print(f"  candidate {family:<10} cross-validated ROC AUC {shown}")
    print(f"Chosen: {family_label(model)}" + (" (low data)" if model.low_data else ""))
    _metrics_print(metrics)
    print(
        f"Status: {model.get_status_display()}" + (f" — {model.message}" if model.message else "")
    )
    return 0


def cmd_scoring_evaluate(options: argparse.Namespace) -> int:
    """Evaluate the family of the workspace's model in use on today's outcomes: stratified
    cross-validation and a hold-out by time (train on older outcomes, test on newer), with
    ROC AUC, average precision, the share of converters in the top 10 % and 20 %, lift,
    the Brier score against the base rate's, and a calibration table."""
    from leadflow.scoring.features import labelled_dataset
    from leadflow.scoring.learn.evaluate import evaluate
    from leadflow.scoring.selectors.predictions import active_model, family_label

    workspace = workspace_by_slug(options.workspace)
    model = active_model(workspace)
    if model is None:
        raise CommandFailed(f"'{workspace.slug}' has no conversion model in use yet.")
    dataset = labelled_dataset(workspace)
    print(f"Version {model.version}: {family_label(model)}, on {len(dataset.y)} outcomes today.")
    _metrics_print(evaluate(dataset, family=model.family))
    return 0


def _metrics_print(metrics: dict) -> None:
    names = (
        ("roc_auc", "ROC AUC", "{:.3f}"),
        ("average_precision", "average precision", "{:.3f}"),
        ("top10_capture", "converters in the top 10 %", "{:.0%}"),
        ("top20_capture", "converters in the top 20 %", "{:.0%}"),
        ("lift10", "lift at 10 %", "{:.2f}×"),
        ("lift20", "lift at 20 %", "{:.2f}×"),
        ("brier", "Brier score", "{:.4f}"),
        ("base_rate_brier", "Brier score of the base rate", "{:.4f}"),
    )
    for part, title in (("cv", "Cross-validated"), ("holdout", "Time hold-out (newest outcomes)")):
        values = metrics.get(part)
        if not values:
            print(f"{title}: not enough outcomes.")
            continue
        print(f"{title}:")
        for key, label, shape in names:
            value = values.get(key)
            print(f"  {label:<32} {'n/a' if value is None else shape.format(value)}")
    bins = metrics.get("calibration") or []
    if bins:
        print("Calibration (predicted vs observed conversion):")
        print(f"  {'predicted':>9} {'observed':>9} {'contacts':>9}")
        for row in bins:
            print(f"  {row['predicted']:>9.1%} {row['observed']:>9.1%} {row['count']:>9}")


def _train_line(step: str, done: int, total: int, seconds: float, *, bar: bool) -> str:
    """ "cross-validating boosting 3/5 (12 s)", after a [#####-----] bar on a terminal."""
    line = f"{step} {done}/{total} ({seconds:.0f} s)"
    if not bar:
        return line
    width = 30
    filled = round(width * done / max(total, 1))
    return f"[{'#' * filled}{'-' * (width - filled)}] {line:<50}"


# --- end conversion model ------------------------------------------------------------------


def cmd_user_add(options: argparse.Namespace) -> int:
    """Add a person to a workspace with a role (owner, admin, marketer, sales, viewer).
    A new user gets the password read from stdin (--password-stdin) or a generated one,
    printed once; an existing user keeps their password."""
    from leadflow.core import services
    from leadflow.core.actors import Actor

    workspace = workspace_by_slug(options.workspace)
    password = _password_from_stdin() if options.password_stdin else services.password_generate()
    membership, created = services.member_add(
        workspace=workspace,
        email=options.email,
        role=options.role,
        actor=Actor.system("command line"),
        password=password,
    )
    print(f"Added {membership.user.email} to '{workspace.name}' as {membership.role}.")
    if not created:
        print("They have an account already; their password is unchanged.")
    elif options.password_stdin:
        print("Password: as given on stdin.")
    else:
        print(f"Password: {password}")
        print("(Shown only now: store it or change it after logging in.)")
    return 0


def cmd_apikey_create(options: argparse.Namespace) -> int:
    """Create an API key for a workspace and print its secret. The secret is shown only
    now: the database keeps its SHA-256 hash. Without --scope the key has every scope."""
    from leadflow.core import services
    from leadflow.core.actors import Actor

    workspace = workspace_by_slug(options.workspace)
    key, secret = services.apikey_create(
        workspace=workspace,
        name=options.name,
        scopes=options.scopes,
        actor=Actor.system("command line"),
    )
    print(f"Created API key '{key.name}' for '{workspace.name}': {', '.join(key.scopes)}.")
    print("Its secret is shown only now; send it as 'Authorization: Bearer <secret>':")
    print(secret)
    return 0


def cmd_inbound_replay(options: argparse.Namespace) -> int:
    """Run stored inbound deliveries through their lead source's current mapping again
    (after fixing the mapping): one delivery (--delivery) or every rejected one
    (--rejected). A lead is stored once however often it is replayed; a delivery whose
    sender was not verified is replayed only with --force."""
    from leadflow.core.actors import Actor
    from leadflow.inbound.services import deliveries_replay, delivery_replay

    workspace = workspace_by_slug(options.workspace)
    actor = Actor.system("command line")
    if options.force and not options.delivery:
        raise CommandFailed("--force works with --delivery only")
    if options.rejected:
        counts = deliveries_replay(workspace=workspace, actor=actor, source_id=options.source)
        summary = ", ".join(f"{count} {result}" for result, count in sorted(counts.items()))
        print(f"Replayed {sum(counts.values())} deliveries: {summary or 'none were rejected'}.")
        return 0
    outcome = delivery_replay(
        workspace=workspace,
        delivery_id=options.delivery,
        source_id=options.source,
        actor=actor,
        force=options.force,
    )
    print(f"Delivery {options.delivery}: {outcome.result}.")
    for error in outcome.errors:
        print(f"  {error.field}: {_one_line(error.message)}")
    return 0 if outcome.result in {"accepted", "duplicate", "unchanged"} else 1


def cmd_openapi(options: argparse.Namespace) -> int:
    """Print the OpenAPI schema of /api/v1 as JSON (2-space indent, sorted keys, trailing
    newline): the same bytes every time for the same code, so it can be committed."""
    from leadflow.config.api import api

    schema = api.get_openapi_schema()
    sys.stdout.write(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    return 0


def cmd_check(options: argparse.Namespace) -> int:
    """Run Django's system checks (with --deploy, the production ones too); exits non-zero
    when an error is found."""
    from django.core.management import call_command

    call_command("check", deploy=options.deploy)
    return 0


def cmd_manage(arguments: Sequence[str]) -> int:
    """Run any Django management command: `leadflow manage <command> [options]`
    (`leadflow manage help` lists them)."""
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"{PROG} manage", *arguments])
    return 0


# --- helpers ------------------------------------------------------------------------------


# --- sales ---------------------------------------------------------------------------------

ROUTE_CHUNK = 200  # leads per routing transaction


def _sales_commands(commands: Any) -> None:
    sales = commands.add_parser(
        "sales",
        help="sales hand-off: route leads by the rules, speed to lead",
        description="The sales hand-off from the command line.",
    )
    _needs_subcommand(sales)
    sales_commands = sales.add_subparsers(title="commands", metavar="COMMAND")
    route = sales_commands.add_parser(
        "route",
        help="route the workspace's open leads that have no owner by its rules now",
        description=cmd_sales_route.__doc__,
    )
    route.set_defaults(handler=cmd_sales_route)
    route.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    route.add_argument("--dry-run", action="store_true", help="count them; route nothing")
    speed = sales_commands.add_parser(
        "speed",
        help="speed to lead: first-response times (median, 90th percentile, within deadline)",
        description=cmd_sales_speed.__doc__,
    )
    speed.set_defaults(handler=cmd_sales_speed)
    speed.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    speed.add_argument(
        "--by", choices=["person", "team", "source", "hour"], default="person", help="group by"
    )
    speed.add_argument(
        "--days", type=_positive, default=30, metavar="N", help="the last N days (default 30)"
    )


def cmd_sales_route(options: argparse.Namespace) -> int:
    """Route the workspace's open leads (lead, MQL, SQL, opportunity) that have no owner by
    its assignment rules, as a new lead is routed: a workspace's first rule routes new
    leads only, and this hands it the ones that came before (or that wait in a team's
    queue). Each is recorded as an assignment (trigger "manual", by this command) and its
    new owner is told. In transactions of 200 leads; safe to run again: a lead that has an
    owner is passed over."""
    from leadflow.contacts.models import Contact
    from leadflow.core.actors import Actor
    from leadflow.sales.models import AssignmentRule, Trigger
    from leadflow.sales.selectors import OPEN_STAGES
    from leadflow.sales.services import leads_route

    workspace = workspace_by_slug(options.workspace)
    if not AssignmentRule.objects.filter(workspace=workspace, enabled=True).exists():
        raise DomainError("The workspace has no enabled routing rule (Settings → Routing).")
    ids = list(
        Contact.objects.filter(
            workspace=workspace, owner__isnull=True, lifecycle_stage__in=OPEN_STAGES
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if options.dry_run:
        print(f"{len(ids)} open leads without an owner would be routed.")
        return 0
    actor = Actor.system("leadflow sales route")
    assigned = queued = 0
    for start in range(0, len(ids), ROUTE_CHUNK):
        chunk = ids[start : start + ROUTE_CHUNK]
        made = leads_route(
            workspace=workspace, triggers=dict.fromkeys(chunk, Trigger.MANUAL), actor=actor
        )
        assigned += sum(1 for assignment in made if assignment.owner_id)
        queued += sum(1 for assignment in made if assignment.owner_id is None)
    print(f"Routed {len(ids)} open leads without an owner: {assigned} assigned, {queued} queued.")
    return 0


def cmd_sales_speed(options: argparse.Namespace) -> int:
    """Speed to lead over the last N days, as the report page shows it: per person (who
    touched the lead, else its owner), team, source or hour of arrival (UTC), the leads,
    how many were touched, the median and 90th percentile of the first-response time, and
    the share touched within their deadline."""
    import datetime as dt

    from django.utils import timezone

    from leadflow.core.actors import Actor
    from leadflow.sales.selectors import speed_to_lead_report

    workspace = workspace_by_slug(options.workspace)
    until = timezone.now()
    report = speed_to_lead_report(
        workspace,
        Actor.system("leadflow sales speed"),
        since=until - dt.timedelta(days=options.days),
        until=until,
        group_by=options.by,
    )

    def shown(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        minutes, rest = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{rest:02d}"

    print(f"{'':<28} {'leads':>6} {'touched':>8} {'median':>9} {'p90':>9} {'in time':>8}")
    for row in [*report.rows, report.total]:
        share = row.share_within_deadline
        print(
            f"{str(row.label)[:28]:<28} {row.leads:>6} {row.touched:>8} "
            f"{shown(row.median_seconds):>9} {shown(row.p90_seconds):>9} "
            f"{'-' if share is None else f'{share:.0%}':>8}"
        )
    return 0


def workspace_by_slug(slug: str) -> Workspace:
    """The workspace with this slug (the command line acts as the operator), or NotFound."""
    from leadflow.core.models import Workspace

    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise NotFound(f"No workspace with the slug '{slug}'.", code="unknown_workspace")
    return workspace


def _password_from_stdin() -> str:
    """The first line of stdin, checked against the installation's password rules."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandFailed("--password-stdin: stdin held no password")
    try:
        validate_password(password)
    except ValidationError as error:
        raise CommandFailed(f"password: {' '.join(error.messages)}") from None
    return password


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
