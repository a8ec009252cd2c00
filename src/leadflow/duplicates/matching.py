"""The model of a workspace as the finder applies it: its comparisons (with its identifying
custom fields), its stored weights aligned with today's comparisons, and comparison levels
as stored on pairs and decisions (a dict by comparison name)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from leadflow.core.models import Workspace
from leadflow.duplicates import selectors
from leadflow.duplicates.compare import Comparison, comparisons_for
from leadflow.duplicates.model import Weights, weights_default


@dataclass
class Matcher:
    """What checking a workspace's contacts needs: its comparisons and current weights."""

    identifying: dict[str, str]
    comparisons: list[Comparison]
    weights: Weights


def matcher_for(workspace: Workspace) -> Matcher:
    identifying = selectors.matching_setup(workspace)
    comparisons = comparisons_for(identifying)
    profile = selectors.profile_get(workspace)
    weights = weights_aligned(profile.weights, comparisons)
    return Matcher(identifying=identifying, comparisons=comparisons, weights=weights)


def weights_aligned(stored: dict | None, comparisons: Sequence[Comparison]) -> Weights:
    """Stored weights for today's comparisons: a comparison added since (a custom field
    marked identifying) or whose levels changed takes its default weights."""
    default = weights_default(list(comparisons))
    if not stored:
        return default
    try:
        learned = Weights(**stored)
    except (KeyError, TypeError, ValueError):
        return default
    learned_h = learned.h or [None] * len(learned.comparisons)
    known = {
        name: (m, u, h)
        for name, m, u, h in zip(learned.comparisons, learned.m, learned.u, learned_h, strict=True)
    }
    default_h = default.h or [None] * len(default.comparisons)
    m, u, h = [], [], []
    for index, name in enumerate(default.comparisons):
        found = known.get(name)
        if found and len(found[0]) == len(default.m[index]) and (found[2] or default_h[index]):
            m.append(list(found[0]))
            u.append(list(found[1]))
            h.append(list(found[2] or default_h[index]))
        else:
            m.append(default.m[index])
            u.append(default.u[index])
            h.append(default_h[index])
    return Weights(
        comparisons=default.comparisons,
        m=m,
        u=u,
        prior=learned.prior,
        fitted_pairs=learned.fitted_pairs,
        labelled_pairs=learned.labelled_pairs,
        h=h if all(row is not None for row in h) else None,
        prior_related=learned.prior_related,
    )


def weights_stored(weights: Weights) -> dict:
    """Weights as the profile's JSON column holds them (an object, readable in SQL)."""
    return asdict(weights)


def levels_dict(row: Sequence[int], comparisons: Sequence[Comparison]) -> dict[str, int]:
    return {comparison.name: int(level) for comparison, level in zip(comparisons, row, strict=True)}


def levels_row(levels: dict, comparisons: Sequence[Comparison]) -> list[int]:
    """A stored comparison as a row for today's comparisons (-1 where not compared then)."""
    return [int(levels.get(comparison.name, -1)) for comparison in comparisons]
