"""Fill the stage history columns of contacts that existed before them: the outcome of
customers (won) and disqualified contacts (lost), and when the stage last changed. Each
date is the latest ``stage.changed`` activity into the contact's current stage, else the
contact's ``updated_at`` (the best the database knows). Set-based: one UPDATE each."""

from django.db import migrations
from django.db.models import DateTimeField, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

OUTCOMES = {"customer": "won", "disqualified": "lost"}


def fill(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Activity = apps.get_model("contacts", "Activity")
    entered = Subquery(
        Activity.objects.filter(contact_id=OuterRef("pk"), kind="stage.changed")
        .annotate(to_stage=KT("data__to"))
        .filter(to_stage=OuterRef("lifecycle_stage"))
        .order_by("-occurred_at", "-pk")
        .values("occurred_at")[:1],
        output_field=DateTimeField(),
    )
    when = Coalesce(entered, "updated_at", output_field=DateTimeField())
    Contact.objects.filter(stage_changed_at__isnull=True).update(stage_changed_at=when)
    for stage, outcome in OUTCOMES.items():
        Contact.objects.filter(lifecycle_stage=stage, outcome="").update(
            outcome=outcome, outcome_at=when
        )


class Migration(migrations.Migration):
    dependencies = [("contacts", "0018_contact_scores")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
