"""Every existing workspace gets the default "Sales" pipeline with its stages (a new one
gets it on first use: ``deals.services.pipeline_default_ensure``). The stages are copied
here, not imported, so this migration reads the same whatever the code says later."""

from django.db import migrations

STAGES = (
    ("New", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)


def pipelines_add(apps, schema_editor):
    Workspace = apps.get_model("core", "Workspace")
    Pipeline = apps.get_model("deals", "Pipeline")
    Stage = apps.get_model("deals", "Stage")
    for workspace_id in Workspace.objects.values_list("pk", flat=True).iterator():
        if Pipeline.objects.filter(workspace_id=workspace_id).exists():
            continue
        pipeline = Pipeline.objects.create(workspace_id=workspace_id, name="Sales", position=0)
        Stage.objects.bulk_create(
            Stage(
                workspace_id=workspace_id,
                pipeline=pipeline,
                name=name,
                position=position,
                probability=probability,
                kind=kind,
            )
            for position, (name, probability, kind) in enumerate(STAGES)
        )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]

    operations = [migrations.RunPython(pipelines_add, migrations.RunPython.noop)]
