# Saved views keep the condition tree (docs/conditions.md) beside their query string; each
# existing view's query is converted here. A query that does not convert without its
# workspace (a phone or custom-field filter, a bad value) keeps {} and is read from its
# query string when used (contacts.selectors.saved_view_conditions).

from django.db import migrations, models

# The parameters whose translation needs no database (not phone, not custom fields).
_PLAIN = {
    "q", "stage", "temperature", "owner", "tag", "company", "created_from", "created_to",
    "created_after", "created_before", "import", "email", "sort", "cursor",
}  # fmt: skip


def views_convert(apps, schema_editor):
    from django.http import QueryDict

    from leadflow.contacts.conditions import conditions_from_query, tree_to_json
    from leadflow.core.errors import ValidationFailed

    SavedView = apps.get_model("contacts", "SavedView")
    for view in SavedView.objects.filter(conditions={}).iterator():
        if not set(QueryDict(view.query)) <= _PLAIN:
            continue
        try:
            tree = conditions_from_query(view.query)
        except ValidationFailed:
            continue
        view.conditions = tree_to_json(tree)
        view.save(update_fields=["conditions"])


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0013_import_models_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="savedview",
            name="conditions",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(views_convert, migrations.RunPython.noop),
    ]
