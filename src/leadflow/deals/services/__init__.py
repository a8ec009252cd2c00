"""Writes of deals: pipelines, stages and settings (``pipelines``), deals, their moves and
a lead's conversion (``deals``). This package re-exports their public names, so callers
import from ``leadflow.deals.services`` whichever module a service lives in."""

from leadflow.deals.services.deals import (
    deal_create,
    deal_delete,
    deal_lose,
    deal_move_stage,
    deal_reopen,
    deal_update,
    deal_win,
    lead_convert_to_deal,
)
from leadflow.deals.services.pipelines import (
    deal_settings_get,
    deal_settings_update,
    pipeline_create,
    pipeline_default_ensure,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
)

__all__ = [
    "deal_create",
    "deal_delete",
    "deal_lose",
    "deal_move_stage",
    "deal_reopen",
    "deal_settings_get",
    "deal_settings_update",
    "deal_update",
    "deal_win",
    "lead_convert_to_deal",
    "pipeline_create",
    "pipeline_default_ensure",
    "pipeline_delete",
    "pipeline_update",
    "stage_create",
    "stage_delete",
    "stage_reorder",
    "stage_update",
]
