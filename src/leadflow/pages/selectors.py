"""Reads of landing pages, workspace first (the public view reads by its path only)."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from leadflow.core.cache import cached
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.core.stats import Verdict, winner_pick
from leadflow.pages.counters import views_pending
from leadflow.pages.models import Brand, Conversion, Page, PageImage, Published, Variant


@dataclass(frozen=True)
class Served:
    """What the public view needs of a published page, read in one query."""

    page_id: int
    variants: list[dict]  # [{"id", "weight", "html"}], "html" encoded as UTF-8 bytes
    winner_id: int | None
    form_key: str


def served_by_path(path: str) -> Served | None:
    """The published page at "<workspace slug>/<page slug>", kept in this process for
    LEADFLOW_PUBLIC_CACHE_SECONDS (publishing refreshes this process at once)."""
    if len(path) > 200:
        return None

    def load() -> Served | None:
        row = (
            Published.objects.filter(path=path)
            .values_list("page_id", "variants", "winner_id", "form_key")
            .first()
        )
        if not row:
            return None
        page_id, variants, winner_id, form_key = row
        # Encoded once per read, not once per view.
        variants = [{**v, "html": v["html"].encode()} for v in variants]
        return Served(page_id, variants, winner_id, form_key)

    return cached("page", path, load)


def page_list(workspace: Workspace) -> QuerySet[Page]:
    return (
        Page.objects.filter(workspace=workspace)
        .select_related("form", "workspace")
        .prefetch_related("variants")
        .order_by("-created_at", "-id")
    )


def page_get(workspace: Workspace, page_id: int) -> Page:
    page = (
        Page.objects.filter(workspace=workspace, pk=page_id)
        .select_related("form", "workspace")
        .first()
    )
    if page is None:
        raise NotFound("No such page.")
    return page


def variants_of(page: Page) -> list[Variant]:
    return list(Variant.objects.filter(page=page, workspace_id=page.workspace_id).order_by("label"))


def variant_get(workspace: Workspace, page_id: int, variant_id: int) -> Variant:
    variant = Variant.objects.filter(workspace=workspace, page_id=page_id, pk=variant_id).first()
    if variant is None:
        raise NotFound("No such variant.")
    return variant


def brand_get(workspace: Workspace) -> Brand:
    """The workspace's brand, or the defaults (unsaved) when it has none yet."""
    return Brand.objects.filter(workspace=workspace).first() or Brand(workspace=workspace)


@dataclass(frozen=True)
class VariantStats:
    variant: Variant
    views: int
    conversions: int
    chance: float | None = None  # the probability of being the best (Bayesian tests)

    @property
    def rate(self) -> float:
        return self.conversions / self.views if self.views else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate

    @property
    def chance_percent(self) -> float | None:
        return None if self.chance is None else 100 * self.chance


@dataclass(frozen=True)
class PageStats:
    variants: list[VariantStats]
    verdict: Verdict


def page_stats(workspace: Workspace, page: Page) -> PageStats:
    """Views (stored plus those this process has not written yet), accepted conversions and
    the rate per variant, and the verdict of the page's test (``test_method``) on them, with
    each variant's probability of being the best when the test is Bayesian."""
    pending = views_pending()
    conversions = dict(
        Conversion.objects.filter(workspace=workspace, page=page)
        .values("variant_id")
        .annotate(n=Count("id"))
        .values_list("variant_id", "n")
    )
    counted = [
        (v, v.views + pending.get(v.pk, 0), conversions.get(v.pk, 0)) for v in variants_of(page)
    ]
    verdict = winner_pick(
        {variant.label: (leads, views) for variant, views, leads in counted},
        confidence=page.confidence,
        min_sample=page.min_sample,
        method=page.test_method,
    )
    rows = [
        VariantStats(variant, views, leads, verdict.chances.get(variant.label))
        for variant, views, leads in counted
    ]
    return PageStats(rows, verdict)


def page_by_id(page_id: int) -> Page:
    """A page by its id, for the public endpoint that already holds its published row."""
    return Page.objects.select_related("workspace", "form").get(pk=page_id)


def page_totals(workspace: Workspace, pages: list[Page]) -> dict[int, tuple[int, int, int]]:
    """{page id: (variants, views, accepted conversions)} for a list, in one more query
    (the variants come prefetched by ``page_list``)."""
    pending = views_pending()
    conversions = dict(
        Conversion.objects.filter(workspace=workspace, page__in=pages)
        .values("page_id")
        .annotate(n=Count("id"))
        .values_list("page_id", "n")
    )
    return {
        page.pk: (
            len(page.variants.all()),
            sum(v.views + pending.get(v.pk, 0) for v in page.variants.all()),
            conversions.get(page.pk, 0),
        )
        for page in pages
    }


# --- images -------------------------------------------------------------------------------


def image_list(workspace: Workspace) -> QuerySet[PageImage]:
    """The workspace's images, newest first, with who uploaded them and the published pages
    that show them (``image.published_on.all()``, each with its ``page``)."""
    return (
        PageImage.objects.filter(workspace=workspace)
        .select_related("uploaded_by", "workspace")
        .prefetch_related("published_on__page")
        .order_by("-created_at", "-id")
    )


def image_choices(workspace: Workspace) -> list[tuple[int, str]]:
    """(id, "name (width x height)") of every image, for the pickers beside image settings."""
    return [
        (pk, f"{name} ({width} × {height})")
        for pk, name, width, height in PageImage.objects.filter(workspace=workspace)
        .order_by("-created_at", "-id")
        .values_list("pk", "name", "width", "height")
    ]


def image_get(workspace: Workspace, image_id: int) -> PageImage:
    image = PageImage.objects.filter(workspace=workspace, pk=image_id).first()
    if image is None:
        raise NotFound("No such image.")
    return image


def images_by_id(workspace_id: int, ids: set[int]) -> dict[int, PageImage]:
    """{id: image} of those of ``ids`` that are the workspace's (others are left out)."""
    if not ids:
        return {}
    return {
        image.pk: image for image in PageImage.objects.filter(workspace_id=workspace_id, pk__in=ids)
    }


@dataclass(frozen=True)
class ServedImage:
    """What the public image view needs: the stored file's name and its type."""

    stored_as: str
    content_type: str
    size: int


def image_served(workspace_slug: str, file_name: str) -> ServedImage | None:
    """The image published as ``/lp/<workspace slug>/images/<file name>``, kept in this
    process for LEADFLOW_PUBLIC_CACHE_SECONDS (the name is the content's hash: it never
    changes meaning)."""
    digest, _, _ = file_name.partition(".")

    def load() -> ServedImage | None:
        row = (
            PageImage.objects.filter(workspace__slug=workspace_slug, digest=digest)
            .values_list("file", "content_type", "bytes")
            .first()
        )
        if row is None or row[0].rsplit("/", 1)[-1] != file_name:
            return None
        return ServedImage(*row)

    return cached("page_image", (workspace_slug, file_name), load)
