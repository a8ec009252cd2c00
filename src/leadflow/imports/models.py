"""An import: one uploaded contacts file and its progress (``ImportJob``), and the column
mappings kept to reuse (``ImportMapping``).

The tables were made by the contacts app before imports became an app of its own; they
keep their names (``db_table``), so moving the models moved no data (migrations
``imports.0001`` and ``contacts.0012``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # uploaded, being mapped; not started
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", "Contacts"
    ACTIVITIES = "activities", "Activities (history)"


class ImportJob(models.Model):
    """One upload of a file (CSV or Excel) and its progress: contacts, or (``kind``
    activities) past activities of known contacts (``imports.history``).

    The file lives under ``LEADFLOW_DATA_DIR/uploads/imports/``. Rows are written in chunks,
    each in one transaction together with ``next_row`` and the counts, so a restarted worker
    continues where the last committed chunk ended (see ``imports.run``).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(
        max_length=20,
        choices=ImportKind.choices,
        default=ImportKind.CONTACTS,
        db_default="contacts",
    )
    path = models.CharField(max_length=500)
    original_filename = models.CharField(max_length=255)
    # {column header: "email" | "custom_fields.<key>" | "tags" | "" (ignored)}
    mapping = models.JSONField(default=dict, blank=True)
    # {"update_existing": bool, "tags": [...], "source": str, "lifecycle_stage": str,
    #  "owner_id": int | None}; for activities {"event_type", "day_first", "day_first_from"}
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # For activities: created = stored, skipped = stored before (same client id).
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    # Rows stored without one or more of their values (each listed in the problems file).
    warning_count = models.PositiveIntegerField(default=0)
    # Data rows (after the header) already written; the next run starts here.
    next_row = models.PositiveIntegerField(default=0)
    error_path = models.CharField(max_length=500, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker when it starts and with every chunk it commits: a running job whose
    # heartbeat is old has lost its worker (``imports.services.import_jobs_stale_fail``).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "contacts_importjob"  # made by contacts before the imports app existed
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importjob_ws_created")]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.original_filename}"


class ImportMapping(models.Model):
    """A named column mapping (and options) kept to reuse for files of the same shape, for
    one kind of import: a contacts mapping serves contact files, an activities mapping
    (targets and options of ``imports.history``) activity files. Names are unique per
    workspace and kind."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        max_length=20,
        choices=ImportKind.choices,
        default=ImportKind.CONTACTS,
        db_default="contacts",
    )
    name = models.CharField(max_length=100)
    # {column header: target}, as ImportJob.mapping
    mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "contacts_importmapping"  # made by contacts before the imports app existed
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "name"], name="importmapping_unique_kind_name"
            )
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name
