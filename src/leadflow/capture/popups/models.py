"""The pop-up: what it shows, how, when, to whom and how often; and its counters."""

from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace


class PopupStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class PopupStyle(models.TextChoices):
    MODAL = "modal", "Modal (centred, the page behind dimmed)"
    SLIDE_IN = "slide_in", "Slide-in (a corner box)"
    TOP_BAR = "top_bar", "Bar at the top"
    BOTTOM_BAR = "bottom_bar", "Bar at the bottom"


class PopupContent(models.TextChoices):
    FORM = "form", "A form (with its lead magnet, when it has one)"
    NOTICE = "notice", "A notice"
    LINK = "link", "A link"


class Popup(models.Model):
    """One pop-up of a workspace.

    ``triggers``, ``targeting`` and ``frequency`` are dicts checked and completed by
    ``capture.popups.rules`` (every key present, with its default), so the script and the
    public configuration never meet a missing key. ``views``, ``closes`` and
    ``conversions`` are counters the public endpoint raises with ``F()`` (one UPDATE each,
    no row per event): the conversion rate is conversions / views.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=PopupStatus.choices, default=PopupStatus.PAUSED
    )
    style = models.CharField(max_length=20, choices=PopupStyle.choices, default=PopupStyle.MODAL)
    content = models.CharField(
        max_length=20, choices=PopupContent.choices, default=PopupContent.NOTICE
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # The form shown (content "form"); a form with a lead magnet makes the pop-up a magnet offer.
    form = models.ForeignKey(
        "capture.Form", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    link_url = models.URLField(max_length=2000, blank=True)
    link_label = models.CharField(max_length=100, blank=True)
    triggers = models.JSONField(default=dict)
    targeting = models.JSONField(default=dict)
    frequency = models.JSONField(default=dict)
    # Phones get a small dismissible banner at the bottom unless this is set.
    mobile_full = models.BooleanField(default=False)
    views = models.PositiveBigIntegerField(default=0)
    closes = models.PositiveBigIntegerField(default=0)
    conversions = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"], name="popup_ws_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def style_name(self) -> str:
        """The style's short name ("Modal", "Slide-in"), for lists."""
        return self.get_style_display().split(" (")[0]

    @property
    def conversion_rate(self) -> float | None:
        """Conversions per view in percent; None before the first view."""
        return round(100 * self.conversions / self.views, 1) if self.views else None
