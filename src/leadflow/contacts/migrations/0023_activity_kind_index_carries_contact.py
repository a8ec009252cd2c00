from django.db import migrations, models


class Migration(migrations.Migration):
    """The (workspace, kind, time) index of the activity log also carries the contact, so a
    behaviour condition ("did X at least N times within D days") counts from the index
    alone on PostgreSQL (decision 0029; bench_segment_count). The new index is built before
    the old one goes, so the log is never without one."""

    dependencies = [
        ("contacts", "0022_account_owner"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                fields=["workspace", "kind", "-occurred_at"],
                include=("contact",),
                name="activity_ws_kind_contact",
            ),
        ),
        migrations.RemoveIndex(model_name="activity", name="activity_ws_kind"),
    ]
