"""An event's client id becomes unique in the workspace, whatever the event's time.

The partitioned event table can only hold a unique index that includes occurred_at (0002),
so the same id sent again with another time was stored twice. tracking_eventid holds each
stored event's id under a (workspace_id, event_id) primary key; the events already stored
give it their ids (a repeated id keeps its earliest time), and the event table's own unique
constraint, now redundant, is dropped. On PostgreSQL a BRIN index on occurred_at (not in the
model: SQLite has no BRIN) lets retention find old ids without reading a workspace's all.
"""

from django.db import migrations, models

FILL = (
    "INSERT INTO tracking_eventid (workspace_id, event_id, occurred_at) "
    "SELECT workspace_id, event_id, MIN(occurred_at) FROM tracking_event "
    "GROUP BY workspace_id, event_id"
)


def fill(apps, schema_editor):
    schema_editor.execute(FILL)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX eventid_occurred_brin ON tracking_eventid USING brin (occurred_at)"
        )


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_event_partitions")]

    operations = [
        migrations.CreateModel(
            name="EventId",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "workspace_id",
                        "event_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("workspace_id", models.BigIntegerField()),
                ("event_id", models.UUIDField()),
                ("occurred_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="event", name="event_unique_client_id"),
    ]
