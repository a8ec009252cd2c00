"""The import models move here from contacts, tables and rows untouched.

``ImportJob`` and ``ImportMapping`` were made by contacts (0007, 0008, 0011); this migration
only takes them into the imports app's state, over the same tables (``db_table``), and
``contacts.0012`` drops them from contacts' state. No statement runs on the tables. The
content types follow (renamed, not made anew), and import tasks still waiting in the
database queue under their old path are pointed at the new one.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ["importjob", "importmapping"]
OLD_TASK = "leadflow.contacts.tasks.contact_import_run"
NEW_TASK = "leadflow.imports.tasks.import_run"


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="contacts", model__in=MODELS
    ).update(app_label="imports")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="imports", model__in=MODELS
    ).update(app_label="contacts")


def queued_tasks_repoint(apps, schema_editor, old=OLD_TASK, new=NEW_TASK):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    DBTaskResult.objects.using(schema_editor.connection.alias).filter(task_path=old).update(
        task_path=new
    )


def queued_tasks_back(apps, schema_editor):
    queued_tasks_repoint(apps, schema_editor, old=NEW_TASK, new=OLD_TASK)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contacts", "0011_import_warnings_heartbeat"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_tasks_database", "0001_initial"),
        ("core", "0002_workspace_allowed_origins_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("path", models.CharField(max_length=500)),
                        ("original_filename", models.CharField(max_length=255)),
                        ("mapping", models.JSONField(blank=True, default=dict)),
                        ("options", models.JSONField(blank=True, default=dict)),
                        ("status", models.CharField(choices=[("draft", "Draft"), ("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed"), ("cancelled", "Cancelled")], default="queued", max_length=20)),
                        ("total_rows", models.PositiveIntegerField(default=0)),
                        ("rows_done", models.PositiveIntegerField(default=0)),
                        ("created_count", models.PositiveIntegerField(default=0)),
                        ("updated_count", models.PositiveIntegerField(default=0)),
                        ("skipped_count", models.PositiveIntegerField(default=0)),
                        ("failed_count", models.PositiveIntegerField(default=0)),
                        ("warning_count", models.PositiveIntegerField(default=0)),
                        ("next_row", models.PositiveIntegerField(default=0)),
                        ("error_path", models.CharField(blank=True, max_length=500)),
                        ("message", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("workspace", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.workspace")),
                    ],
                    options={
                        "db_table": "contacts_importjob",
                        "indexes": [models.Index(fields=["workspace", "-created_at"], name="importjob_ws_created")],
                    },
                ),
                migrations.CreateModel(
                    name="ImportMapping",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        ("mapping", models.JSONField(blank=True, default=dict)),
                        ("options", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("workspace", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.workspace")),
                    ],
                    options={
                        "db_table": "contacts_importmapping",
                        "ordering": ["name"],
                        "constraints": [models.UniqueConstraint(fields=("workspace", "name"), name="importmapping_unique_name")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_back),
        migrations.RunPython(queued_tasks_repoint, queued_tasks_back),
    ]
