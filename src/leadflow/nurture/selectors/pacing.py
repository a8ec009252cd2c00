"""Reading a workspace's pacing settings and a contact's place under the cap."""

import datetime as dt
from zoneinfo import ZoneInfo

from leadflow.nurture.models import MarketingSend, PacingSettings
from leadflow.nurture.zones import zone_get


def pacing_settings_get(workspace_id: int) -> PacingSettings:
    """The workspace's settings (the defaults, unsaved, until someone saves them)."""
    found = PacingSettings.objects.filter(workspace_id=workspace_id).first()
    return found or PacingSettings(workspace_id=workspace_id)


def settings_zone(settings: PacingSettings) -> ZoneInfo:
    return zone_get(settings.time_zone) or ZoneInfo("UTC")


def marketing_sent_recently(
    workspace_id: int, contact_ids: list[int], since: dt.datetime
) -> dict[int, list[dt.datetime]]:
    """The times of the marketing messages counted for these contacts since ``since``,
    oldest first, per contact (one query)."""
    found: dict[int, list[dt.datetime]] = {}
    rows = (
        MarketingSend.objects.filter(
            workspace_id=workspace_id, contact_id__in=contact_ids, sent_at__gt=since
        )
        .order_by("contact_id", "sent_at")
        .values_list("contact_id", "sent_at")
    )
    for contact_id, sent_at in rows:
        found.setdefault(contact_id, []).append(sent_at)
    return found
