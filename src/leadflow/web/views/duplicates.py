"""The duplicate finder's review pages: the pairs it found, highest probability first,
each compared side by side, merged (choosing which contact stays and which values win) or
dismissed as "not a duplicate"; every pair above a probability merged in one action after
a preview; a whole-workspace scan on demand; and the automatic-merge setting with the list
of every automatic merge.

Nothing here merges by itself: each merge is a person's POST (or the workspace's own
automatic-merge setting, off by default). The views parse, check the role and call
``duplicates.services`` / ``duplicates.selectors``, which keep each pair in its workspace
and a sales member to pairs of their own leads.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_merge_defaults
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.duplicates import selectors, services
from leadflow.duplicates.compare import comparisons_for
from leadflow.duplicates.model import MATCH_THRESHOLD, REASON_BITS, REASON_WORDS
from leadflow.duplicates.models import DuplicatePair, DuplicateProfile, PairStatus
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.timeline import EMPTY, Names
from leadflow.web.views.common import query_with, render_page

DUPLICATES_PAGE = 25
DECISIONS_PAGE = 50
SCAN_TASK = "leadflow.duplicates.tasks.duplicates_scan"
STATUS_CHOICES = ((PairStatus.OPEN, "Open"), (PairStatus.DISMISSED, "Not duplicates"))
REASON_CHOICES = tuple((key, REASON_WORDS.get(key, key).capitalize()) for key in REASON_BITS)
BULK_DEFAULT_PERCENT = 95


def _percent(probability: float) -> int:
    """Whole percent, rounded down: a pair shown as 94 % is never merged by "at or above
    95 %", and 100 % means the model is certain to the last digit."""
    return min(100, int(probability * 100 + 1e-9))


def _setting_percent(threshold: float) -> str:
    """A setting as it was typed (97.5 stays 97.5): saving the form unchanged never moves it."""
    return f"{round(threshold * 100, 6):g}"


def _may_merge(request: HttpRequest) -> bool:
    """Merging deletes one of the contacts: the roles that may merge contacts (write and
    delete, docs/permissions.md), as on the contact page's merge screen."""
    return request.membership.can("write") and request.membership.can("delete")


def _merge_required(request: HttpRequest) -> None:
    if not _may_merge(request):
        raise HttpForbidden("Your role does not allow merging contacts.")


@dataclass
class PairRow:
    """One pair as the list shows it."""

    pair: DuplicatePair
    percent: int
    likely: bool


def _row(pair: DuplicatePair) -> PairRow:
    return PairRow(pair=pair, percent=_percent(pair.probability), likely=_likely(pair))


def _likely(pair: DuplicatePair) -> bool:
    return pair.probability >= MATCH_THRESHOLD


# --- the list --------------------------------------------------------------------------------


def _list_filters(request: HttpRequest) -> tuple[dict[str, str], dict, dict[str, str]]:
    """The filters as typed (for the form and the next page's link), as the selector takes
    them, and an error per filter that could not be read (that filter is not applied)."""
    params = {
        key: request.GET.get(key, "").strip()[:100] for key in ("min", "reason", "source", "status")
    }
    filters: dict = {"status": PairStatus.OPEN}
    errors: dict[str, str] = {}
    if params["min"]:
        try:
            percent = float(params["min"])
        except ValueError:
            percent = -1
        if 0 <= percent <= 100:
            filters["min_probability"] = percent / 100
        else:
            errors["min"] = "Enter a percent from 0 to 100."
    if params["reason"]:
        if params["reason"] in REASON_BITS:
            filters["reason_bit"] = REASON_BITS[params["reason"]]
        else:
            errors["reason"] = "Choose a reason from the list."
    if params["source"]:
        filters["source"] = params["source"]
    if params["status"] in PairStatus.values:
        filters["status"] = params["status"]
    elif params["status"]:
        errors["status"] = "Choose open pairs or pairs marked not duplicates."
    return params, filters, errors


@workspace_view("read")
@require_safe
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Pairs the member may see (both contacts theirs, for a sales member), highest
    probability first, 25 per page, filtered by minimum probability, reason, source and
    status; the last scan and the automatic-merge setting above them."""
    workspace = request.workspace
    params, filters, errors = _list_filters(request)
    queryset = selectors.pair_list(workspace, request.actor, **filters)
    cursor = request.GET.get("cursor")
    try:
        page = contact_selectors.cursor_paginate(
            queryset, sort="-probability", cursor=cursor, limit=DUPLICATES_PAGE
        )
    except ValidationFailed:  # an old or hand-edited link: start again from the top
        cursor = None
        page = contact_selectors.cursor_paginate(
            queryset, sort="-probability", cursor=None, limit=DUPLICATES_PAGE
        )
    profile = selectors.profile_get(workspace)
    context = {
        "rows": [_row(pair) for pair in page.items],
        "params": params,
        "filter_errors": errors,
        "reason_errors": [errors["reason"]] if "reason" in errors else None,
        "status_errors": [errors["status"]] if "status" in errors else None,
        "filtered": any(params[key] for key in ("min", "reason", "source"))
        or filters["status"] != PairStatus.OPEN,
        "dismissed_view": filters["status"] == PairStatus.DISMISSED,
        "reason_choices": REASON_CHOICES,
        "source_choices": [(source, source) for source in selectors.pair_sources(workspace)],
        "status_choices": STATUS_CHOICES,
        "next_query": query_with(params, cursor=page.next_cursor) if page.next_cursor else "",
        "first_query": query_with(params) if cursor else None,
        "profile": profile,
        "scan_running": _scan_running(profile),
        "scan_queued": _scan_queued(profile),
        "auto_merge_percent": _setting_percent(profile.auto_merge_threshold),
        "bulk_percent": BULK_DEFAULT_PERCENT,
        "may_merge": _may_merge(request),
        "match_percent": _percent(MATCH_THRESHOLD),
    }
    return render_page(
        request, "web/duplicates/list.html", context, partials={"pair-results": "results"}
    )


def _scan_queued(profile: DuplicateProfile) -> bool:
    queued, started = profile.scan_queued_at, profile.scan_started_at
    return queued is not None and (started is None or started < queued)


def _scan_running(profile: DuplicateProfile) -> bool:
    started, finished = profile.scan_started_at, profile.scan_finished_at
    return started is not None and (finished is None or finished < started)


@workspace_view("write")
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    """Queue a scan of the whole workspace (the same task as ``POST /api/v1/duplicates/scan``
    and ``leadflow duplicates scan``); a scan waiting already is not queued again."""
    if services.scan_request(workspace=request.workspace, actor=request.actor):
        messages.success(
            request,
            "The scan of the whole workspace is queued. New pairs appear here when it has "
            "finished; reload the page to see them.",
        )
    else:
        messages.info(request, "A scan of the whole workspace is queued already.")
    return redirect("duplicate_list", request.workspace.slug)


# --- one pair: compare, merge, dismiss -------------------------------------------------------

# The fields compared side by side, in the order of the contact page's profile, with the
# comparison of the finder that reads them (None: shown, not compared). A field whose
# merge name is None is shown but not chosen (the merge keeps the first touch and the
# creation of the contact that stays).
COMPARE_FIELDS: tuple[tuple[str, str, str | None, str | None], ...] = (
    # (label, attribute, merge field, comparison)
    ("First name", "first_name", "first_name", "first_name"),
    ("Last name", "last_name", "last_name", "last_name"),
    ("Email", "email", "email", "email"),
    ("Phone", "phone", "phone", "phone"),
    ("Company", "company", "company_id", "company"),
    ("Job title", "job_title", "job_title", None),
    ("Street address", "street_address", "street_address", "street"),
    ("City", "city", "city", "city"),
    ("Region / state", "region", "region", None),
    ("Postal code", "postal_code", "postal_code", "postal_code"),
    ("Country", "country", "country", None),
    ("Date of birth", "date_of_birth", "date_of_birth", "date_of_birth"),
    ("Lifecycle stage", "lifecycle_stage", "lifecycle_stage", None),
    ("Owner", "owner_id", "owner_id", None),
    ("First source", "first_touch_source", None, None),
    ("Created", "created_at", None, None),
)
MISSING_WORDS = "one side is empty"
BOTH_MISSING_WORDS = "both empty"
# Both filled in, but the finder lets the comparison say nothing (two mailboxes each made of
# the owner's name, a city that only repeats an equal postal code): decision 0020.
UNCOUNTED_WORDS = "not counted"
NOT_COMPARED = "not compared"


@dataclass
class CompareRow:
    label: str
    name: str  # the merge field ("" when the merge does not choose it)
    left: str
    right: str
    differs: bool
    level: str  # the comparison level in words
    agrees: bool  # the comparison found the two values equal or close
    keep: int | None  # the contact id whose value the merge keeps by default


def _shown(names: Names, name: str, contact: Contact, attribute: str) -> str:
    if attribute == "company":
        return contact.company.name if contact.company else "—"
    if attribute == "created_at":
        return contact.created_at.strftime("%b %-d, %Y")
    return names.value(name if name else attribute, getattr(contact, attribute))


def _missing_said(level: str, mine: str, theirs: str) -> str:
    """A comparison the finder left out, said as it is: both empty, or both filled in and
    not counted (decision 0020)."""
    if level != MISSING_WORDS:
        return level
    if mine == theirs == EMPTY:
        return BOTH_MISSING_WORDS
    return UNCOUNTED_WORDS if EMPTY not in (mine, theirs) else level


def _level_words(pair: DuplicatePair, comparisons: dict, name: str | None) -> tuple[str, bool]:
    if name is None or name not in comparisons:
        return NOT_COMPARED, False
    level = pair.levels.get(name)
    if level is None:
        return NOT_COMPARED, False
    if level < 0:
        return MISSING_WORDS, False
    words = comparisons[name].levels
    level = min(int(level), len(words) - 1)
    return words[level], level > 0


def _compare_rows(request: HttpRequest, pair: DuplicatePair) -> list[CompareRow]:
    """Every field of both contacts, with the finder's comparison level in words and the
    side a merge keeps by default (``contact_merge_defaults`` with the older contact
    staying, as ``pair_merge`` does when nobody chooses)."""
    left, right = pair.contact, pair.other
    workspace = request.workspace
    definitions = list(contact_selectors.custom_field_list(workspace))
    members = core_selectors.member_users(workspace)
    names = Names(
        users={member.pk: member.display_name for member in members},
        companies={},
        custom_fields=definitions,
    )
    comparisons = {c.name: c for c in comparisons_for(selectors.matching_setup(workspace))}
    defaults = contact_merge_defaults(left, right)
    swapped = pair.levels.get("names_swapped") == 1
    rows = []
    for label, attribute, merge_name, comparison in COMPARE_FIELDS:
        mine, theirs = (
            _shown(names, merge_name, left, attribute),
            _shown(names, merge_name, right, attribute),
        )
        level, agrees = _level_words(pair, comparisons, comparison)
        level = _missing_said(level, mine, theirs)
        if swapped and attribute in ("first_name", "last_name"):
            level, agrees = f"{level}; first and last names swapped", True
        differs = mine != theirs
        keep = None
        if merge_name and differs:
            keep = left.pk if defaults.get(merge_name, "primary") == "primary" else right.pk
        rows.append(CompareRow(label, merge_name or "", mine, theirs, differs, level, agrees, keep))
    for definition in definitions:
        key = definition.key
        mine_raw, theirs_raw = left.custom_fields.get(key), right.custom_fields.get(key)
        if mine_raw in (None, "", []) and theirs_raw in (None, "", []):
            continue
        name = f"custom_fields.{key}"
        mine, theirs = names.value(name, mine_raw), names.value(name, theirs_raw)
        level, agrees = _level_words(pair, comparisons, f"custom:{key}")
        level = _missing_said(level, mine, theirs)
        differs = mine != theirs
        keep = None
        if differs:
            keep = left.pk if defaults.get(name, "primary") == "primary" else right.pk
        rows.append(CompareRow(definition.label, name, mine, theirs, differs, level, agrees, keep))
    return rows


@workspace_view("read")
@require_safe
def duplicate_compare(request: HttpRequest, pair_id: int) -> HttpResponse:
    """Both contacts side by side, field by field, with the comparison levels and reasons;
    the choice of the contact that stays and of each differing value; merge or dismiss.
    A pair of another workspace, or one a sales member may not see, answers 404."""
    pair = selectors.pair_get(request.workspace, request.actor, pair_id)
    decision = (
        selectors.decisions_recent(request.workspace)
        .filter(contact_id=pair.contact_id, other_id=pair.other_id)
        .first()
    )
    context = {
        "pair": pair,
        "row": _row(pair),
        "rows": _compare_rows(request, pair),
        "decision": decision,
        "is_open": pair.status == PairStatus.OPEN,
        "may_merge": _may_merge(request),
        "next": _after_decision(request),
    }
    return render_page(request, "web/duplicates/compare.html", context)


def _merge_choices(request: HttpRequest, pair: DuplicatePair, primary_id: int) -> dict[str, str]:
    """The form names the contact whose value wins per field (``keep__<field>`` = its id);
    the merge takes "primary" / "secondary" relative to the contact that stays."""
    ids = {pair.contact_id, pair.other_id}
    choices: dict[str, str] = {}
    errors = []
    for key, value in request.POST.items():
        if not key.startswith("keep__"):
            continue
        field = key.removeprefix("keep__")
        if not value.isdecimal() or int(value) not in ids:
            errors.append(FieldError(field, "Choose the value of one of the two contacts."))
            continue
        choices[field] = "primary" if int(value) == primary_id else "secondary"
    if errors:
        raise ValidationFailed(errors)
    return choices


@workspace_view("write")
@require_POST
def duplicate_merge(request: HttpRequest, pair_id: int) -> HttpResponse:
    """Merge the pair: ``primary`` (the contact that stays; default the older one) and per
    field the contact whose value wins (default ``contact_merge_defaults``). A second
    submit finds the pair gone and says so; it never merges anything else."""
    _merge_required(request)
    workspace = request.workspace
    pair = selectors.pair_get(workspace, request.actor, pair_id)
    raw = request.POST.get("primary", "")
    primary_id = int(raw) if raw.isdecimal() else pair.contact_id
    try:
        choices = _merge_choices(request, pair, primary_id)
        kept = services.pair_merge(
            workspace=workspace,
            pair_id=pair.pk,
            actor=request.actor,
            primary_id=primary_id,
            choices=choices,
        )
    except ValidationFailed as error:  # back to the pair, not to the list it came from
        messages.error(request, " ".join(e.message for e in error.errors) or error.detail)
        return redirect(
            reverse("duplicate_compare", args=[workspace.slug, pair.pk])
            + "?"
            + query_with({}, next=_after_decision(request))
        )
    survivor = pair.contact if kept == pair.contact_id else pair.other
    merged = pair.other if kept == pair.contact_id else pair.contact
    messages.success(request, f"Merged {merged} #{merged.pk} into {survivor} #{survivor.pk}.")
    return redirect(_after_decision(request))


def _after_decision(request: HttpRequest) -> str:
    """Back to the list the person came from (its filters and page), else the list."""
    default = reverse("duplicate_list", args=[request.workspace.slug])
    target = safe_next(request, default=default)
    path = f"/w/{request.workspace.slug}/duplicates/"
    _, found, tail = target.partition(path)
    return target if found and (tail == "" or tail.startswith("?")) else default


@workspace_view("write")
@require_POST
def duplicate_dismiss(request: HttpRequest, pair_id: int) -> HttpResponse:
    """ "Not a duplicate": the pair leaves the review list for good. From the list (htmx),
    the row is replaced by a line saying so."""
    htmx = bool(getattr(request, "htmx", False))
    try:
        pair = services.pair_dismiss(
            workspace=request.workspace, pair_id=pair_id, actor=request.actor
        )
    except NotFound:
        if not htmx:
            raise
        # Someone decided or merged it since the list was loaded: say so in its place
        # (an error answer would leave the card as it was, and the click unanswered).
        return render_page(
            request, "web/duplicates/list.html#gone_row", {"pair_id": pair_id}, status=200
        )
    pair = selectors.pair_get(request.workspace, request.actor, pair.pk)
    if htmx:
        return render_page(
            request, "web/duplicates/list.html#dismissed_row", {"row": _row(pair)}, status=200
        )
    messages.success(
        request,
        f"{pair.contact} #{pair.contact_id} and {pair.other} #{pair.other_id} are not a duplicate.",
    )
    return redirect(_after_decision(request))


# --- many pairs at once ----------------------------------------------------------------------


def _threshold(raw: str) -> float:
    try:
        percent = float(raw)
    except ValueError:
        percent = -1
    low = _percent(services.BULK_MERGE_MIN)
    if not low <= percent <= 100:
        raise ValidationFailed([FieldError("threshold", f"Enter a percent from {low} to 100.")])
    return percent / 100


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def duplicate_merge_above(request: HttpRequest) -> HttpResponse:
    """Merge every open pair at or above a probability: GET previews the pairs (nothing is
    written), POST merges exactly the pairs the preview listed that are still open (a pair
    found since is not merged unseen; a second submit finds them gone and merges none)."""
    _merge_required(request)
    workspace, actor = request.workspace, request.actor
    if request.method == "POST":
        threshold = _threshold(request.POST.get("threshold", ""))
        ids = [int(pk) for pk in request.POST.getlist("pair") if pk.isdecimal()]
        result = services.pairs_merge_above(
            workspace=workspace, actor=actor, threshold=threshold, preview=False, pair_ids=ids
        )
        if result.merged:
            text = f"Merged {result.merged} pair{'s' if result.merged != 1 else ''}."
            if result.skipped:
                text += (
                    f" {result.skipped} more had a contact an earlier merge of this batch had "
                    "taken; they are checked again."
                )
            messages.success(request, text)
        else:
            messages.info(
                request, "Nothing was merged: those pairs were merged or decided already."
            )
        return redirect("duplicate_list", workspace.slug)
    raw = request.GET.get("threshold", str(BULK_DEFAULT_PERCENT))
    try:
        threshold = _threshold(raw)
    except ValidationFailed as error:
        context = {"threshold_error": error.errors[0].message, "threshold_raw": raw[:10]}
        return render_page(request, "web/duplicates/merge_above.html", context, status=422)
    plan = services.pairs_merge_above(
        workspace=workspace, actor=actor, threshold=threshold, preview=True
    )
    context = {
        "rows": [_row(pair) for pair in plan.pairs],
        "threshold_percent": f"{threshold * 100:g}",
        "threshold_raw": f"{threshold * 100:g}",
        "limit": services.BULK_MERGE_LIMIT,
        "at_limit": len(plan.pairs) >= services.BULK_MERGE_LIMIT,
    }
    return render_page(request, "web/duplicates/merge_above.html", context)


# --- settings: automatic merging -------------------------------------------------------------


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def duplicate_settings(request: HttpRequest) -> HttpResponse:
    """Automatic merging (off by default; at least 95 %) and every automatic merge, newest
    first. Everyone sees what was merged automatically; owners and admins (the roles that
    change workspace settings) turn it on or off."""
    workspace = request.workspace
    may_change = request.membership.can("manage_settings")
    errors: dict[str, str] = {}
    profile = selectors.profile_get(workspace)
    percent_raw = _setting_percent(profile.auto_merge_threshold)
    if request.method == "POST":
        if not may_change:
            raise HttpForbidden("Only owners and admins change how duplicates are merged.")
        percent_raw = request.POST.get("threshold", "").strip()[:10]
        auto_merge = request.POST.get("auto_merge") == "on"
        low = _percent(DuplicateProfile.AUTO_MERGE_MIN)
        try:
            percent = float(percent_raw)
        except ValueError:
            percent = -1
        if not low <= percent <= 100:
            errors["threshold"] = f"Enter a percent from {low} to 100."
        else:
            services.profile_update(
                workspace=workspace,
                actor=request.actor,
                auto_merge=auto_merge,
                auto_merge_threshold=percent / 100,
            )
            if auto_merge:
                messages.success(
                    request,
                    f"Automatic merging is on: pairs at or above {percent:g} % are merged "
                    "as they are found, and listed below.",
                )
            else:
                messages.success(request, "Automatic merging is off.")
            return redirect("duplicate_settings", workspace.slug)
        profile.auto_merge = auto_merge
    decisions = selectors.decisions_recent(workspace, automatic=True)
    cursor = request.GET.get("cursor")
    try:
        page = contact_selectors.cursor_paginate(
            decisions, sort="-decided_at", cursor=cursor, limit=DECISIONS_PAGE
        )
    except ValidationFailed:
        cursor = None
        page = contact_selectors.cursor_paginate(
            decisions, sort="-decided_at", cursor=None, limit=DECISIONS_PAGE
        )
    existing = set(
        Contact.objects.filter(
            workspace=workspace,
            pk__in={pk for d in page.items for pk in (d.contact_id, d.other_id)},
        ).values_list("pk", flat=True)
    )
    merges = [
        {
            "decision": decision,
            "percent": _percent(decision.probability or 0),
            "kept": next(
                (pk for pk in (decision.contact_id, decision.other_id) if pk in existing), None
            ),
        }
        for decision in page.items
    ]
    context = {
        "profile": profile,
        "may_change": may_change,
        "errors": errors,
        "threshold_raw": percent_raw,
        "low_percent": _percent(DuplicateProfile.AUTO_MERGE_MIN),
        "merges": merges,
        "next_query": query_with({}, cursor=page.next_cursor) if page.next_cursor else "",
        "is_later_page": bool(cursor),
    }
    return render_page(
        request, "web/duplicates/settings.html", context, status=422 if errors else 200
    )
