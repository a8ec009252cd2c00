"""Pairs that people marked "not a duplicate" before the finder became an app stay
dismissed (a pair and a decision each); open pairs are not copied (the first scan or the
next change of their contacts lists them again, scored). The finder, a new subscriber of
the activity log, starts reading at its current end: existing contacts are scanned on
demand (``leadflow duplicates scan``), not replayed one activity at a time."""

from django.db import migrations
from django.db.models import Max


def forwards(apps, schema_editor):
    Candidate = apps.get_model("contacts", "DuplicateCandidate")
    Pair = apps.get_model("duplicates", "DuplicatePair")
    Decision = apps.get_model("duplicates", "DuplicateDecision")
    Activity = apps.get_model("contacts", "Activity")
    Watermark = apps.get_model("contacts", "ActivityWatermark")
    for candidate in Candidate.objects.filter(status="dismissed").iterator():
        Pair.objects.get_or_create(
            contact_id=candidate.contact_id,
            other_id=candidate.other_id,
            defaults={
                "workspace_id": candidate.workspace_id,
                "probability": 0.5,
                "reasons": candidate.reason,
                "status": "dismissed",
                "created_at": candidate.created_at,
            },
        )
        Decision.objects.get_or_create(
            workspace_id=candidate.workspace_id,
            contact_id=candidate.contact_id,
            other_id=candidate.other_id,
            defaults={"is_duplicate": False, "reasons": candidate.reason, "decided_by": "before"},
        )
    ends = Activity.objects.values("workspace_id").annotate(last=Max("id"))
    for end in ends:
        Watermark.objects.get_or_create(
            subscriber="duplicates",
            workspace_id=end["workspace_id"],
            defaults={"last_activity_id": end["last"]},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0001_initial"),
        ("contacts", "0015_contact_identity_fields"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
