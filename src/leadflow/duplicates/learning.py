"""Learning from the team's decisions between scans: the weights refined with every merge
and "not a duplicate" as labelled examples, and the open pairs re-scored from their stored
levels by set-based writes. (A whole-workspace scan learns from everything: ``scan``.)"""

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from leadflow.core.models import Workspace
from leadflow.duplicates import selectors
from leadflow.duplicates.compare import Comparison
from leadflow.duplicates.matching import levels_row, matcher_for, weights_stored
from leadflow.duplicates.model import Weights, probabilities, weights_fit
from leadflow.duplicates.models import DuplicatePair, DuplicateProfile, PairStatus

# How much the weights a scan learned count against new decisions when refining (in pairs):
# one decision moves the model a little, a hundred consistent ones move it a lot.
REFINE_PRIOR_PAIRS = 200


def weights_refit(*, workspace: Workspace) -> Weights:
    """Refine the workspace's weights with every decision (labelled pairs) starting from
    what it learned last, then re-score the open pairs. Safe to run twice."""
    matcher = matcher_for(workspace)
    labelled = selectors.decisions_labelled(workspace)
    weights = matcher.weights
    if labelled:
        gammas = np.array(
            [levels_row(levels, matcher.comparisons) for levels, _ in labelled], dtype=np.int8
        )
        labels = np.array([1 if verdict else 0 for _, verdict in labelled], dtype=np.int8)
        weights = weights_fit(
            gammas, start=matcher.weights, labels=labels, prior_strength=REFINE_PRIOR_PAIRS
        )
        weights.labelled_pairs = len(labelled)
    with transaction.atomic():
        profile, _ = DuplicateProfile.objects.select_for_update().get_or_create(workspace=workspace)
        profile.weights = weights_stored(weights)
        profile.fitted_at = timezone.now()
        profile.save(update_fields=["weights", "fitted_at"])
        pairs_rescore(workspace=workspace, weights=weights, comparisons=matcher.comparisons)
    return weights


def pairs_rescore(
    *,
    workspace: Workspace,
    weights: Weights,
    comparisons: Sequence[Comparison],
    scored_between: tuple | None = None,
) -> int:
    """New probabilities for the open pairs (those scored in ``scored_between`` only, when
    given) from their stored comparison levels: no contact is read again, and each chunk
    is written by one statement. Returns pairs updated."""
    pairs = DuplicatePair.objects.filter(workspace=workspace, status=PairStatus.OPEN)
    if scored_between:
        pairs = pairs.filter(scored_at__gte=scored_between[0], scored_at__lt=scored_between[1])
    updated, last = 0, 0
    while True:
        chunk = list(pairs.filter(pk__gt=last).order_by("pk").values_list("pk", "levels")[:5000])
        if not chunk:
            return updated
        gammas = np.array([levels_row(levels, comparisons) for _, levels in chunk], dtype=np.int8)
        chances = probabilities(gammas, weights)
        _probabilities_write([pk for pk, _ in chunk], [float(value) for value in chances])
        updated += len(chunk)
        last = chunk[-1][0]


def _probabilities_write(ids: list[int], chances: list[float]) -> None:
    if connection.vendor == "postgresql":
        table = DuplicatePair._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS p SET probability = v.probability "  # noqa: S608 - table
                "FROM unnest(%s::bigint[], %s::double precision[]) AS v(id, probability) "
                "WHERE p.id = v.id",
                [ids, chances],
            )
        return
    DuplicatePair.objects.bulk_update(
        [DuplicatePair(pk=pk, probability=chance) for pk, chance in zip(ids, chances, strict=True)],
        ["probability"],
        batch_size=1000,
    )
