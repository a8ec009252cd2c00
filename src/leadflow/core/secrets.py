"""Secrets a workspace names (docs/configuration.md, decision 0047).

LeadFlow never stores an integration's secret: a workspace's settings name the environment
variable that holds it (Stripe keys, SMS tokens, SMTP and IMAP passwords, DKIM keys, Mailgun
keys, messenger tokens). In an installation with several workspaces a name is only good for
the workspace whose id it carries: ``<prefix>W<workspace id>`` or ``<prefix>W<workspace id>_…``
(``LEADFLOW_STRIPE_W12``, ``LEADFLOW_STRIPE_W12_LIVE``), so a marketer of one workspace cannot
point its settings at another's variable. Workspace ids are never reused (AUTOINCREMENT on
SQLite, sequences on PostgreSQL); slugs are not used because ``acme`` would prefix ``acme-eu``.

Guarantees: ``secret_name_error`` is the one check of such a name when it is saved, and
``secret_read`` the one door to its value: a name that fails the check (a row saved before
names were scoped, or forced into the database) reads as not set.
"""

import os
import re
from collections.abc import Mapping
from typing import Any

MAX_NAME_LENGTH = 100
_NAME = re.compile(r"[A-Z0-9_]+")


def secret_name_base(workspace_id: int, prefix: str) -> str:
    """The start every variable name of this workspace with this prefix has
    (``LEADFLOW_STRIPE_W12``)."""
    return f"{prefix}W{int(workspace_id)}"


def secret_name_error(workspace_id: int, prefix: str, name: str) -> str | None:
    """None when ``name`` may name a secret of this workspace: the base itself or the base,
    "_" and at least one more character; at most 100 characters of A-Z, 0-9 and "_".
    Otherwise the message to show, naming the form allowed for this workspace."""
    base = secret_name_base(workspace_id, prefix)
    if (
        len(name) <= MAX_NAME_LENGTH
        and _NAME.fullmatch(name)
        and (name == base or (name.startswith(base + "_") and len(name) > len(base) + 1))
    ):
        return None
    return f"Name an environment variable {_allowed(base)} (this workspace's own)."


def _allowed(base: str) -> str:
    return f"{base} or {base}_…"


def secret_read(workspace_id: int, prefix: str, name: str) -> str:
    """The value of the environment variable ``name`` when it is this workspace's to name;
    "" when it is not (or is unset)."""
    if not name or secret_name_error(workspace_id, prefix, name) is not None:
        return ""
    return os.environ.get(name, "")


def secret_name_problems(row: Any, prefixes: Mapping[str, str]) -> dict[str, str]:
    """For each field of ``row`` (a settings row with a ``workspace_id``) in ``prefixes``
    (field → prefix) whose saved name is not this workspace's to name (a name saved before
    names were scoped): the line to show beside it, saying it reads as not set and what to
    rename the variable to. Empty names and good names are left out."""
    problems = {}
    for field, prefix in prefixes.items():
        name = getattr(row, field) or ""
        if name and secret_name_error(row.workspace_id, prefix, name) is not None:
            base = secret_name_base(row.workspace_id, prefix)
            problems[field] = (
                f"{name} is not this workspace's name, so it reads as not set: "
                f"rename the variable to {_allowed(base)}."
            )
    return problems
