"""REST endpoints for landing pages (/api/v1/pages) and the workspace's page brand
(/api/v1/page-brand). Pages are forms' companions: the forms scopes grant them. The image
library is ``pages.api_images``."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.pages import selectors, services
from leadflow.pages.models import Page

router = Router(tags=["pages"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE
SETTINGS_WRITE = ApiScope.SETTINGS_WRITE


class VariantOut(Schema):
    id: int
    label: str
    weight: int = Field(description="Share of the traffic (relative to the other variants)")
    blocks: list[dict[str, Any]]
    views: int


class PageOut(Schema):
    id: int
    name: str
    slug: str
    path: str = Field(description="Where it is served: /lp/<workspace slug>/<slug>/")
    form_id: int | None
    seo_title: str
    seo_description: str
    social_image_url: str
    social_image_id: int | None = Field(description="An uploaded image (its og:image)")
    noindex: bool
    min_sample: int
    confidence: float
    test_method: str = Field(description="How the winner is picked: z_test or bayesian")
    winner_id: int | None
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    variants: list[VariantOut]

    @staticmethod
    def resolve_path(page: Page) -> str:
        return f"/lp/{page.workspace.slug}/{page.slug}/"

    @staticmethod
    def resolve_variants(page: Page) -> list:
        return list(page.variants.all())  # prefetched by the list


class PageIn(StrictSchema):
    name: str | None = None
    slug: str | None = Field(None, description="Lower-case letters, digits and hyphens")
    form_id: int | None = Field(None, description="The form its form block shows")
    seo_title: str | None = None
    seo_description: str | None = None
    social_image_url: str | None = None
    social_image_id: int | None = Field(
        None, description="An image of /pages/images shared with the page (null: none)"
    )
    noindex: bool | None = None
    min_sample: int | None = Field(None, description="Views each variant needs before a winner")
    confidence: float | None = Field(None, description="0.9, 0.95 or 0.99")
    test_method: Literal["z_test", "bayesian"] | None = Field(
        None,
        description="z_test: the best beats the runner-up at the confidence; bayesian: a "
        "variant wins when its probability of being the best reaches the confidence",
    )


class PageCreateIn(PageIn):
    starter: Literal["lead-magnet", "webinar", "demo", "blank"] = "lead-magnet"


class VariantIn(StrictSchema):
    blocks: list[dict[str, Any]] | None = Field(
        None,
        description="Section blocks, each {type: hero|benefits|testimonials|form|faq|"
        "countdown|footer, ...}; see docs/pages/landing-pages.md",
    )
    weight: int | None = Field(None, description="0-100")


class VariantCreateIn(StrictSchema):
    copy_of: int | None = Field(None, description="The variant to copy (the first when left out)")


class WinnerIn(StrictSchema):
    variant_id: int | None = Field(description="All traffic to this variant; null splits again")


class VariantStatsOut(Schema):
    variant_id: int
    label: str
    views: int
    conversions: int
    rate: float
    probability_best: float | None = Field(
        description="The probability that this variant is the best (Bayesian tests; else null)"
    )


class StatsOut(Schema):
    variants: list[VariantStatsOut]
    method: str = Field(description="The page's test: z_test or bayesian")
    best: str | None
    winner: str | None = Field(description="The label that won the page's test, if any")
    p_value: float = Field(description="The z-test's p-value of the best against the runner-up")
    why: str = Field(description="Why there is no winner yet ('' when there is one)")


class BrandIn(StrictSchema):
    primary_colour: str | None = None
    text_colour: str | None = None
    background_colour: str | None = None
    favicon_url: str | None = None
    favicon_image_id: int | None = Field(None, description="An image of /pages/images")
    logo_url: str | None = None


class BrandOut(Schema):
    primary_colour: str
    text_colour: str
    background_colour: str
    favicon_url: str
    favicon_image_id: int | None
    logo_url: str


def _out(page: Page) -> dict:
    return PageOut.from_orm(page).dict()


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@router.get("/pages", response=list[PageOut], summary="List landing pages")
def page_list(request):
    workspace, _ = require_scope(request, READ)
    return list(selectors.page_list(workspace))


@router.post("/pages", response={201: PageOut}, summary="Create a landing page")
def page_create(request, payload: PageCreateIn):
    """From a starting template (variant A); publish it to serve it."""
    workspace, actor = require_scope(request, WRITE)
    data = payload.dict(exclude_unset=True)
    starter = data.pop("starter", "lead-magnet")

    def produce() -> HttpResponse:
        page = services.page_create(workspace=workspace, data=data, actor=actor, starter=starter)
        return json_response(_out(page), status=201)

    return idempotent(request, workspace, produce)


@router.get("/pages/{page_id}", response=PageOut, summary="Get a landing page")
def page_get(request, page_id: int):
    workspace, _ = require_scope(request, READ)
    return selectors.page_get(workspace, page_id)


@router.patch("/pages/{page_id}", response=PageOut, summary="Change a landing page")
def page_patch(request, page_id: int, payload: PageIn):
    """Visitors see the change from the next publish."""
    workspace, actor = require_scope(request, WRITE)
    services.page_update(
        workspace=workspace, page_id=page_id, data=payload.dict(exclude_unset=True), actor=actor
    )
    return selectors.page_get(workspace, page_id)


@router.delete("/pages/{page_id}", response={204: None}, summary="Delete a landing page")
def page_delete(request, page_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.page_delete(workspace=workspace, page_id=page_id, actor=actor)
    return Status(204, None)


@router.post("/pages/{page_id}/publish", response=PageOut, summary="Publish a landing page")
def page_publish(request, page_id: int):
    """Render every variant once; the public address serves that rendering until the next
    publish. 422 naming form_id when a form block has no (active) form."""
    workspace, actor = require_scope(request, WRITE)
    services.page_publish(
        workspace=workspace, page_id=page_id, actor=actor, base_url=_base(request)
    )
    return selectors.page_get(workspace, page_id)


@router.post("/pages/{page_id}/unpublish", response=PageOut, summary="Unpublish a page")
def page_unpublish(request, page_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.page_unpublish(workspace=workspace, page_id=page_id, actor=actor)
    return selectors.page_get(workspace, page_id)


@router.post("/pages/{page_id}/variants", response={201: VariantOut}, summary="Add a variant")
def variant_create(request, page_id: int, payload: VariantCreateIn):
    workspace, actor = require_scope(request, WRITE)
    variant = services.variant_create(
        workspace=workspace, page_id=page_id, actor=actor, copy_of=payload.copy_of
    )
    return Status(201, variant)


@router.patch(
    "/pages/{page_id}/variants/{variant_id}", response=VariantOut, summary="Change a variant"
)
def variant_patch(request, page_id: int, variant_id: int, payload: VariantIn):
    """``blocks`` replaces the whole list; 422 names each bad value by its path
    (``blocks[2].items[0].title``)."""
    workspace, actor = require_scope(request, WRITE)
    return services.variant_update(
        workspace=workspace,
        page_id=page_id,
        variant_id=variant_id,
        data=payload.dict(exclude_unset=True),
        actor=actor,
    )


@router.delete(
    "/pages/{page_id}/variants/{variant_id}", response={204: None}, summary="Delete a variant"
)
def variant_delete(request, page_id: int, variant_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.variant_delete(
        workspace=workspace, page_id=page_id, variant_id=variant_id, actor=actor
    )
    return Status(204, None)


@router.get("/pages/{page_id}/stats", response=StatsOut, summary="Views and conversions")
def page_stats(request, page_id: int):
    """Per variant: views, accepted submissions, their rate and (Bayesian tests) the
    probability of being the best; the winner by the page's ``test_method`` once every
    variant has ``min_sample`` views: a pooled two-proportion z-test (best against the
    runner-up, Bonferroni over the comparisons) or the probability of being the best."""
    workspace, _ = require_scope(request, READ)
    stats = selectors.page_stats(workspace, selectors.page_get(workspace, page_id))
    return {
        "variants": [
            {
                "variant_id": row.variant.pk,
                "label": row.variant.label,
                "views": row.views,
                "conversions": row.conversions,
                "rate": row.rate,
                "probability_best": row.chance,
            }
            for row in stats.variants
        ],
        "method": stats.verdict.method,
        "best": stats.verdict.best,
        "winner": stats.verdict.winner,
        "p_value": stats.verdict.p,
        "why": stats.verdict.why,
    }


@router.post("/pages/{page_id}/winner", response=PageOut, summary="Send traffic to a variant")
def page_winner(request, page_id: int, payload: WinnerIn):
    """All traffic to one variant (live at once on a published page); null splits again."""
    workspace, actor = require_scope(request, WRITE)
    services.page_winner_set(
        workspace=workspace, page_id=page_id, variant_id=payload.variant_id, actor=actor
    )
    return selectors.page_get(workspace, page_id)


@router.get("/page-brand", response=BrandOut, summary="The workspace's page brand")
def brand_get(request):
    workspace, _ = require_scope(request, READ)
    return selectors.brand_get(workspace)


@router.patch("/page-brand", response=BrandOut, summary="Change the page brand")
def brand_patch(request, payload: BrandIn):
    """Colours as #rrggbb, a favicon and logo by https address; pages show them from their
    next publish."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.brand_update(
        workspace=workspace, data=payload.dict(exclude_unset=True), actor=actor
    )
