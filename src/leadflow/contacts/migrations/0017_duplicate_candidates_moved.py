"""Possible duplicates moved to the duplicates app (its 0002 kept the dismissed pairs)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0016_customfield_identifying'),
        ('duplicates', '0002_dismissed_pairs_kept'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='duplicatecandidate',
            name='duplicate_ws_status',
        ),
        migrations.RemoveConstraint(
            model_name='duplicatecandidate',
            name='duplicate_unique_pair',
        ),
        migrations.RemoveConstraint(
            model_name='duplicatecandidate',
            name='duplicate_ordered_pair',
        ),
        migrations.DeleteModel(
            name='DuplicateCandidate',
        ),
    ]
