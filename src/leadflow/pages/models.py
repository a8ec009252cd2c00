"""Landing pages: a page (its slug, SEO, form), its A/B variants (blocks), what the public
view serves (rendered once per publish), the conversions per variant, the workspace's
brand (colours, favicon) and its library of uploaded images."""

import hashlib

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone

from leadflow.capture.models import Form, Submission
from leadflow.core.models import Workspace


def image_storage():
    """Where uploaded page images are kept: ``STORAGES["page_images"]`` (under the data dir
    by default, S3-compatible when configured; LeadFlow serves them either way)."""
    return storages["page_images"]


class PageImage(models.Model):
    """An image a member uploaded for the workspace's pages: decoded and re-encoded on upload
    (so no metadata and nothing but pixels is kept), one row per content in a workspace.
    ``digest`` (the SHA-256 of the stored bytes) names the file, so its address never
    changes meaning and can be cached for a year. ``alt`` is the description a block uses
    when it gives none."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(storage=image_storage, max_length=300)
    digest = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=30)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    alt = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "digest"], name="page_image_unique")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def file_name(self) -> str:
        """The public file name: ``<digest>.<extension>``."""
        return self.file.name.rsplit("/", 1)[-1]


class Page(models.Model):
    """A hosted landing page at ``/lp/<workspace slug>/<slug>/``. Its content is in its
    variants; ``published_at`` is set while a rendering of it is served. ``winner`` (set by a
    member after the test) takes all the traffic."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    form = models.ForeignKey(
        Form, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seo_title = models.CharField(max_length=200, blank=True)
    seo_description = models.CharField(max_length=300, blank=True)
    social_image_url = models.URLField(max_length=2000, blank=True)
    social_image = models.ForeignKey(
        PageImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    noindex = models.BooleanField(default=False)
    min_sample = models.PositiveIntegerField(default=100)
    confidence = models.FloatField(default=0.95)
    # How the A/B test picks a winner (``core.stats.winner_pick``): "z_test" or "bayesian".
    test_method = models.CharField(
        max_length=10,
        choices=[("z_test", "Significance (z-test)"), ("bayesian", "Bayesian")],
        default="z_test",
    )
    winner = models.ForeignKey(
        "Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="page_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One version of a page's content (A, B, ...): its blocks and its share of the traffic.
    ``views`` is counted in batches (``pages.counters``), never a row per view."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=20)
    blocks = models.JSONField(default=list)
    weight = models.PositiveSmallIntegerField(default=50)
    views = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "label"], name="variant_unique_label")
        ]
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.page.name} {self.label}"


class Published(models.Model):
    """What the public view reads, in one row: the HTML of each variant rendered at publish
    time, their weights and the winner. ``path`` is "<workspace slug>/<page slug>"."""

    page = models.OneToOneField(Page, on_delete=models.CASCADE, primary_key=True, related_name="+")
    path = models.CharField(max_length=200, unique=True)
    variants = models.JSONField(default=list)  # [{"id", "weight", "html"}]
    winner_id = models.BigIntegerField(null=True)
    form_key = models.CharField(max_length=40, blank=True)
    published_at = models.DateTimeField(default=timezone.now)
    # The uploaded images the stored HTML shows (blocks, social image, favicon): an image a
    # published page shows cannot be deleted.
    images = models.ManyToManyField(PageImage, related_name="published_on", blank=True)


class Conversion(models.Model):
    """A submission made on a page's variant (accepted, through capture's one path)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["page", "variant"], name="conversion_page_variant")]


class Brand(models.Model):
    """The workspace's look on its pages: colours (#rrggbb only) and a favicon (an uploaded
    image, else an address)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    primary_colour = models.CharField(max_length=7, default="#4f46e5")
    text_colour = models.CharField(max_length=7, default="#1f2937")
    background_colour = models.CharField(max_length=7, default="#ffffff")
    favicon_url = models.URLField(max_length=2000, blank=True)
    favicon_image = models.ForeignKey(
        PageImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logo_url = models.URLField(max_length=2000, blank=True)


def variant_pick(visitor_key: str, page_id: int, variants: list[tuple[int, int]]) -> int:
    """The variant (id) a visitor sees: a deterministic hash of page and visitor placed on
    the variants' weights, so the same visitor always gets the same one and many visitors
    split in proportion. ``variants`` is [(id, weight)] in a stable order."""
    total = sum(weight for _, weight in variants)
    if total <= 0:
        return variants[0][0]
    digest = hashlib.sha256(f"{page_id}:{visitor_key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant_id, weight in variants:
        if point < weight:
            return variant_id
        point -= weight
    return variants[-1][0]
