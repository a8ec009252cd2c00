import leadflow.chat.models.flows
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_steps"),
    ]

    operations = [
        migrations.AddField(
            model_name="flow",
            name="proactive",
            field=models.JSONField(
                blank=True, default=leadflow.chat.models.flows.no_proactive_start
            ),
        ),
    ]
