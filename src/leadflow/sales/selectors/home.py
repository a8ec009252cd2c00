"""What a member's home page reads from sales beyond the lists' own selectors: the leads
waiting in the queues of the teams the member may claim from, in one query."""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from leadflow.core.models import Membership, Workspace
from leadflow.sales.models import Assignment, Team
from leadflow.sales.selectors.queue import _latest, membership_queue_teams


def member_queue_counts(workspace: Workspace, membership: Membership) -> list[Team]:
    """The teams whose queue this member may open (``queue_teams``), each annotated with
    ``waiting``: how many leads wait in its queue (as ``queue_counts`` counts them). One
    query, whatever the number of teams."""
    waiting = (
        Assignment.objects.filter(
            workspace=workspace, team=OuterRef("pk"), queued=True, contact__owner__isnull=True
        )
        .exclude(_latest())
        .order_by()
        .values("team")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        membership_queue_teams(workspace, membership).annotate(
            waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)
        )
    )
