"""The role table and the scope table of docs/permissions.md, checked row by row against the
real app and API routes: each cell is one request by a member of that role (or an API key
with or without that scope), and what the route does must match the cell."""

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadflow.capture import services as capture_services
from leadflow.chat import services as chat_services
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.models import ALL_API_SCOPES, Membership, Role, User
from leadflow.core.secrets import secret_name_base
from leadflow.duplicates.models import DuplicatePair, DuplicateProfile
from leadflow.duplicates.services import duplicates_check
from leadflow.inbound import services as inbound_services
from leadflow.inbound.models import Delivery, DeliveryStatus
from leadflow.nurture.models import Segment
from leadflow.sales.models import EmailTemplate, FollowUp, PersonalEmail, Team
from leadflow.sales.services import (
    assignment_rule_create,
    lead_route,
    team_create,
    team_member_add,
)
from leadflow.scoring.models import ConversionModel, EngagementRule, Prediction
from leadflow.scoring.services import profile_get
from tests.capture.conftest import PublicClient
from tests.web.conftest import url

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROLES = ["owner", "admin", "marketer", "sales", "viewer"]


def _table(heading: str) -> list[list[str]]:
    """The rows (cells, stripped) of the first table after ``heading`` in the doc."""
    text = DOC.read_text().split(heading, 1)[1]
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue
        rows.append(cells)
    return rows[1:]  # without the header


ROLE_ROWS = {row[0]: dict(zip(ROLES, row[1:], strict=True)) for row in _table("## Roles")}
SCOPE_ROWS = [(row[0].strip("`"), row[1]) for row in _table("## Scopes")]


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """The public endpoints' rate-limit buckets are keyed by ids that repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(workspace, owner, owner_actor, make_member, tmp_path, settings):
    """A member of every role, and something for each action to act on: the sales member
    owns the contacts, the pair of duplicates and the lead behind the submission, so
    "own leads" means allowed."""
    settings.DATA_DIR = tmp_path / "data"  # uploaded files
    members = {"owner": Membership.objects.get(workspace=workspace, user=owner)}
    for role in ROLES[1:]:
        members[role] = make_member(role)
    seller = members["sales"].user

    def lead(email: str, **data) -> Contact:
        data = {"email": email, "owner_id": seller.pk, **data}
        return contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    first = lead("ann@lee-corp.com", first_name="Ann", last_name="Lee", phone="+447911123456")
    second = lead("ann.lee@lee-corp.com", first_name="Ann", last_name="Lee")
    duplicates_check(workspace=workspace, contact_ids=[first.pk, second.pk])
    low, high = sorted([first.pk, second.pk])
    pair = DuplicatePair.objects.get(workspace=workspace, contact_id=low, other_id=high)
    lead("jane@initech.com")
    mql = lead("mia@kite-labs.io", lifecycle_stage="mql")
    form = capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Newsletter",
            "fields": [{"name": "email", "type": "email", "required": True, "maps_to": "email"}],
            "min_fill_seconds": 0,
        },
    )
    assert PublicClient(form).submit({"email": "jane@initech.com"}).status_code == 201
    source = inbound_services.lead_source_create(
        workspace=workspace,
        data={
            "name": "Partner site",
            "format": "generic",
            "mapping": {"fields": {"email": "email"}, "lead_id": "id"},
        },
        actor=owner_actor,
    )
    body = json.dumps({"id": "L-1", "email": "kim@kite-labs.io"}).encode()
    Client().post(
        f"/in/{source.key}",
        data=body,
        content_type="application/json",
        headers={"X-LeadFlow-Signature": "sha256=" + "0" * 64},  # not signed by the source
    )
    team = team_create(workspace=workspace, name="EMEA", actor=owner_actor)
    for role in ("marketer", "sales"):
        team_member_add(
            workspace=workspace,
            team_id=team.pk,
            user_id=members[role].user_id,
            actor=owner_actor,
            settings={"away": True},
        )
    assignment_rule_create(
        workspace=workspace,
        data={
            "name": "Queue",
            "strategy": "round_robin",
            "team_id": team.pk,
            "conditions": {"field": "email", "operator": "eq", "value": "queued@kite-labs.io"},
        },
        actor=owner_actor,
    )
    queued = contact_upsert(
        workspace=workspace, data={"email": "queued@kite-labs.io"}, actor=owner_actor
    ).contact
    lead_route(workspace=workspace, contact_id=queued.pk, trigger="created")
    return {
        "queued": queued,
        "imports": _imports(workspace, owner_actor, tmp_path),
        "workspace": workspace,
        "members": members,
        "contact": first,
        "mql": mql,
        "other": second,
        "pair": pair,
        "form": form,
        "submission": form.submissions.get(),
        "source": source,
        "unverified": Delivery.objects.get(status=DeliveryStatus.UNVERIFIED),
    }


def _imports(workspace, actor, tmp_path):
    """A draft import, and a finished one with a row that failed (so a problems file)."""
    from leadflow.imports.run import import_job_run
    from leadflow.imports.services import import_job_configure, import_job_start, import_upload

    path = tmp_path / "fair.csv"
    path.write_text("Email,First name\nann@initech.com,Ann\nnot-an-email,Bob\n")
    draft = import_upload(workspace=workspace, actor=actor, path=path, filename="fair.csv")
    done = import_upload(workspace=workspace, actor=actor, path=path, filename="fair.csv")
    import_job_configure(
        workspace=workspace,
        actor=actor,
        job_id=done.pk,
        mapping={"Email": "email", "First name": "first_name"},
        options={},
        new_fields={},
    )
    import_job_start(workspace=workspace, actor=actor, job_id=done.pk)
    import_job_run(job_id=done.pk)
    done.refresh_from_db()
    assert done.error_path
    return draft, done


def _decided(response, *allowed: int) -> bool:
    """True when the route did its job, False when it refused (403); anything else fails."""
    if response.status_code in allowed:
        return True
    assert response.status_code == 403, (response.status_code, response.content[:300])
    return False


def _see_contacts(world, client):
    page = client.get(url(world["workspace"], f"contacts/{world['contact'].pk}/"))
    return _decided(client.get(url(world["workspace"], "contacts/")), 200) and _decided(page, 200)


def _edit_contacts(world, client):
    created = client.post(url(world["workspace"], "contacts/new/"), {"email": "new@kite-labs.io"})
    path = f"contacts/{world['contact'].pk}/notes/"
    noted = client.post(url(world["workspace"], path), {"body": "Called back."})
    assert _decided(created, 302) == _decided(noted, 302, 200)
    return _decided(created, 302)


def _merge_contacts(world, client):
    path = f"contacts/{world['contact'].pk}/merge/"
    answer = client.post(url(world["workspace"], path), {"other": world["other"].pk})
    merged = not Contact.objects.filter(pk=world["other"].pk).exists()
    assert _decided(answer, 302) == merged
    return merged


def _delete_contacts(world, client):
    path = f"contacts/{world['contact'].pk}/delete/"
    return _decided(client.post(url(world["workspace"], path)), 302)


def _export_contacts(world, client):
    csv = client.get(url(world["workspace"], "contacts/export.csv"))
    xlsx = client.get(url(world["workspace"], "contacts/export.xlsx"))
    assert _decided(csv, 200) == _decided(xlsx, 200)
    return _decided(csv, 200)


def _import_contacts(world, client):
    answer = client.post(url(world["workspace"], "contacts/imports/"))  # no file: asks for one
    draft, done = world["imports"]
    mapping = client.get(url(world["workspace"], f"contacts/imports/{draft.pk}/"))
    problems = client.get(url(world["workspace"], f"contacts/imports/{done.pk}/errors.csv"))
    summary = client.get(url(world["workspace"], f"contacts/imports/{done.pk}/"))
    assert summary.status_code == 200  # everyone sees how an import went
    assert _decided(answer, 200, 422) == _decided(mapping, 200) == _decided(problems, 200)
    return _decided(answer, 200, 422)


def _dismiss_duplicates(world, client):
    path = f"duplicates/{world['pair'].pk}/dismiss/"
    return _decided(client.post(url(world["workspace"], path)), 302)


def _merge_duplicates(world, client):
    pair = world["pair"]
    preview = client.get(url(world["workspace"], "duplicates/merge-above/?threshold=50"))
    answer = client.post(url(world["workspace"], f"duplicates/{pair.pk}/merge/"))
    merged = not DuplicatePair.objects.filter(pk=pair.pk).exists()
    assert _decided(answer, 302) == merged == _decided(preview, 200)
    return merged


def _scan_duplicates(world, client):
    return _decided(client.post(url(world["workspace"], "duplicates/scan/")), 302)


def _automatic_merging(world, client):
    path = "duplicates/settings/"
    answer = client.post(url(world["workspace"], path), {"auto_merge": "on", "threshold": "99"})
    turned_on = DuplicateProfile.objects.filter(workspace=world["workspace"], auto_merge=True)
    assert _decided(client.get(url(world["workspace"], path)), 200)  # everyone sees the list
    assert _decided(answer, 302) == turned_on.exists()
    return turned_on.exists()


def _see_visitors(world, client):
    visitors = client.get(url(world["workspace"], "visitors/"))
    report = client.get(url(world["workspace"], "reports/sources/"))
    speed = client.get(url(world["workspace"], "reports/speed-to-lead/"))
    assert _decided(visitors, 200) == _decided(report, 200) == _decided(speed, 200)
    return _decided(visitors, 200)


def _see_submissions(world, client):
    form, submission = world["form"], world["submission"]
    listed = client.get(url(world["workspace"], f"forms/{form.pk}/submissions/"))
    opened = client.get(url(world["workspace"], f"forms/{form.pk}/submissions/{submission.pk}/"))
    assert _decided(listed, 200) == _decided(opened, 200)
    return _decided(opened, 200)


def _export_submissions(world, client):
    path = f"forms/{world['form'].pk}/submissions/export.csv"
    return _decided(client.get(url(world["workspace"], path)), 200)


def _manage_forms(world, client):
    form = world["form"]
    created = client.post(url(world["workspace"], "forms/new/"), {"name": "Webinar"})
    fields = json.dumps(form.fields)
    saved = client.post(
        url(world["workspace"], f"forms/{form.pk}/"),
        {"name": "Newsletter 2", "fields": fields, "success_message": "Thanks", "status": "active"},
    )
    deleted = client.post(url(world["workspace"], f"forms/{form.pk}/delete/"))
    assert _decided(created, 302) == _decided(saved, 302) == _decided(deleted, 302)
    return _decided(created, 302)


def _see_pages(world, client):
    listed = client.get(url(world["workspace"], "pages/"))
    library = client.get(url(world["workspace"], "pages/images/"))
    assert _decided(listed, 200) == _decided(library, 200)
    return _decided(listed, 200)


def _page_images(world, client):
    from leadflow.pages.models import PageImage

    uploaded = client.post(
        url(world["workspace"], "pages/images/"),
        {"file": SimpleUploadedFile("team.png", _png())},
    )
    image = PageImage.objects.filter(workspace=world["workspace"]).first()
    if image is None:
        assert _decided(uploaded, 302) is False
        return False
    path = f"pages/images/{image.pk}/"
    described = client.post(url(world["workspace"], path), {"alt": "The team"})
    deleted = client.post(url(world["workspace"], path + "delete/"))
    assert _decided(uploaded, 302) == _decided(described, 302) == _decided(deleted, 302)
    return not PageImage.objects.filter(pk=image.pk).exists()


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def _manage_pages(world, client):
    created = client.post(
        url(world["workspace"], "pages/"),
        {"name": "Spring guide", "slug": "spring-guide", "starter": "lead-magnet", "form_id": ""},
    )
    return _decided(created, 302)


CHAT_GRAPH = {
    "start": "email",
    "steps": [
        {"id": "email", "kind": "question", "text": "Email?", "input": "email", "field": "email",
         "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ],
}  # fmt: skip


def _chat_world(world):
    """A published flow and a conversation in which the sales member's lead answered."""
    workspace = world["workspace"]
    flow = chat_services.flow_create(
        workspace=workspace, actor=Actor.system(), data={"name": "Bot", "graph": CHAT_GRAPH}
    )
    chat_services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=Actor.system())
    started = chat_services.conversation_start(workspace=workspace)
    chat_services.conversation_message_post(
        workspace=workspace, token=started.token, text=world["contact"].email, client_id="c-000001"
    )
    return flow, started.conversation


def _see_chat(world, client):
    _, conversation = _chat_world(world)
    listed = client.get(url(world["workspace"], "chat/"))
    opened = client.get(url(world["workspace"], f"chat/conversations/{conversation.pk}/"))
    assert _decided(listed, 200) == _decided(opened, 200)
    return _decided(opened, 200)


def _manage_chat(world, client):
    flow, _ = _chat_world(world)
    created = client.post(
        url(world["workspace"], "chat/new/"),
        {"name": "Bot 2", "status": "draft", "priority": "0", "step_count": "0"},
    )
    published = client.post(url(world["workspace"], f"chat/{flow.pk}/publish/"))
    assert _decided(created, 302) == _decided(published, 302)
    return _decided(created, 302)


def _chat_widget(world, client):
    opened = client.get(url(world["workspace"], "settings/chat-widget/"))
    form = {"enabled": "on", "launcher_label": "Ask us", "colour": "#1f6feb"}
    form |= {"position": "right", "consent_text": "We keep it.", "offline_message": "Soon."}
    saved = client.post(url(world["workspace"], "settings/chat-widget/"), form)
    assert _decided(opened, 200) == _decided(saved, 302)
    return _decided(saved, 302)


def _see_inbox(world, client):
    _, conversation = _chat_world(world)
    listed = client.get(url(world["workspace"], "chat/inbox/"))
    opened = client.get(url(world["workspace"], f"chat/inbox/{conversation.pk}/"))
    canned = client.get(url(world["workspace"], "chat/canned/"))
    assert _decided(listed, 200) == _decided(opened, 200) == _decided(canned, 200)
    return _decided(opened, 200)


def _work_inbox(world, client):
    _, conversation = _chat_world(world)
    claimed = client.post(url(world["workspace"], f"chat/inbox/{conversation.pk}/claim/"))
    replied = client.post(
        url(world["workspace"], f"chat/inbox/{conversation.pk}/reply/"),
        {"text": "Hello", "client_id": "perm-00001"},
    )
    canned = client.post(url(world["workspace"], "chat/canned/"), {"title": "Hi", "text": "Hi"})
    assert _decided(claimed, 302) == _decided(replied, 302) == _decided(canned, 302)
    return _decided(claimed, 302)


def _chat_channels(world, client):
    listed = client.get(url(world["workspace"], "settings/chat-channels/"))
    created = client.post(
        url(world["workspace"], "settings/chat-channels/new/"),
        {"kind": "telegram", "name": "Acme bot", "enabled": "on"},
    )
    assert _decided(listed, 200) == _decided(created, 302)
    return _decided(created, 302)


def _see_knowledge(world, client):
    listed = client.get(url(world["workspace"], "chat/knowledge/"))
    tried = client.post(url(world["workspace"], "chat/knowledge/"), {"question": "Any trial?"})
    unanswered = client.get(url(world["workspace"], "chat/knowledge/unanswered/"))
    assert _decided(listed, 200) == _decided(tried, 200) == _decided(unanswered, 200)
    return _decided(listed, 200)


def _manage_knowledge(world, client):
    created = client.post(
        url(world["workspace"], "chat/knowledge/new/"),
        {"kind": "question", "title": "Is there a free trial?", "body": "Yes, 14 days."},
    )
    return _decided(created, 302)


def _chat_policy(world, client):
    seen = client.get(url(world["workspace"], "settings/chat-policy/"))
    saved = client.post(
        url(world["workspace"], "settings/chat-policy/"),
        {"retention_days": "200", "anonymous_retention_days": "20", "agent_capacity": "4"},
    )
    assert _decided(seen, 200) == _decided(saved, 302)
    return _decided(seen, 200)


def _page_brand(world, client):
    saved = client.post(url(world["workspace"], "pages/brand/"), {"primary_colour": "#4f46e5"})
    return _decided(saved, 302)


def _suppression_list(world, client):
    listed = client.get(url(world["workspace"], "settings/suppression/"))
    added = client.post(
        url(world["workspace"], "settings/suppression/"), {"address": "gone@kite-labs.io"}
    )
    topics = client.get(url(world["workspace"], "settings/topics/"))
    assert _decided(listed, 200) == _decided(added, 302) == _decided(topics, 200)
    return _decided(listed, 200)


def _see_segments(world, client):
    from leadflow.nurture.services.segments import segment_create

    segment = segment_create(
        workspace=world["workspace"],
        actor=Actor.system(),
        values={"name": f"Seen {Segment.objects.count()}", "kind": "static"},
    )
    listed = client.get(url(world["workspace"], "segments/"))
    members = client.get(url(world["workspace"], f"segments/{segment.pk}/"))
    assert _decided(listed, 200) == _decided(members, 200)
    return _decided(listed, 200)


def _manage_segments(world, client):
    workspace = world["workspace"]
    created = client.post(url(workspace, "segments/new/"), {"name": "VIP", "kind": "static"})
    segment = Segment.objects.filter(workspace=workspace, name="VIP").first()
    if segment is None:
        assert _decided(created, 302) is False
        return False
    added = client.post(
        url(workspace, f"segments/{segment.pk}/add/"), {"contacts": "ann@lee-corp.com"}
    )
    deleted = client.post(url(workspace, f"segments/{segment.pk}/delete/"))
    assert _decided(created, 302) == _decided(added, 302) == _decided(deleted, 302)
    return _decided(created, 302)


def _manage_lead_sources(world, client):
    source = world["source"]
    listed = client.get(url(world["workspace"], "settings/lead-sources/"))
    log = client.get(url(world["workspace"], f"settings/lead-sources/{source.pk}/deliveries/"))
    assert _decided(listed, 200) == _decided(log, 200)
    return _decided(listed, 200)


def _force_delivery(world, client):
    delivery = world["unverified"]
    path = f"settings/lead-sources/{world['source'].pk}/deliveries/{delivery.pk}/replay/"
    answer = client.post(url(world["workspace"], path), {"force": "on"})
    delivery.refresh_from_db()
    accepted = delivery.status == DeliveryStatus.ACCEPTED
    return _decided(answer, 302) and accepted


def _see_mql_queue(world, client):
    answer = client.get(url(world["workspace"], "mql/"))
    seen = _decided(answer, 200)
    assert not seen or "mia@kite-labs.io" in answer.content.decode()
    return seen


def _decide_mqls(world, client):
    mql = world["mql"]
    answer = client.post(url(world["workspace"], f"mql/{mql.pk}/accept/"))
    mql.refresh_from_db()
    assert _decided(answer, 302) == (mql.lifecycle_stage == "sql")
    return mql.lifecycle_stage == "sql"


def _send_email(world, client):
    contact = world["contact"]
    base = f"contacts/{contact.pk}/email/"
    body = {"client_id": uuid.uuid4().hex, "subject": "Hi {{ first_name }}", "body": "Hello"}
    compose = client.get(url(world["workspace"], base))
    preview = client.post(url(world["workspace"], base + "preview"), body)
    sent = client.post(url(world["workspace"], base), body)
    stored = PersonalEmail.objects.filter(client_id=body["client_id"]).exists()
    assert _decided(compose, 200) == _decided(preview, 200) == _decided(sent, 302) == stored
    return stored


def _email_templates(world, client):
    base = "settings/email-templates/"
    name = f"T {uuid.uuid4().hex[:8]}"
    assert _decided(client.get(url(world["workspace"], base)), 200)  # everyone reads them
    added = client.post(url(world["workspace"], base), {"name": name, "subject": "s", "body": "b"})
    made = EmailTemplate.objects.filter(name=name).exists()
    assert _decided(added, 302) == made
    return made


def _see_deals(world, client):
    deal = _deal(world)
    answers = {
        _decided(client.get(url(world["workspace"], path)), 200)
        for path in ("deals/", "deals/board/", "deals/forecast/", f"deals/{deal.pk}/")
    }
    assert len(answers) == 1, "the deals pages disagree"
    return answers.pop()


def _work_deals(world, client):
    deal = _deal(world)
    contact = world["contact"]
    moved = client.post(url(world["workspace"], f"deals/{deal.pk}/move/"), {"stage_id": ""})
    won = client.post(url(world["workspace"], f"deals/{deal.pk}/win/"))
    converted = client.post(url(world["workspace"], f"contacts/{contact.pk}/convert-to-deal/"))
    deal.refresh_from_db()
    assert _decided(moved, 302) == _decided(converted, 302) == (deal.status == "won")
    assert _decided(won, 302) == (deal.status == "won")
    return deal.status == "won"


def _deal(world):
    from leadflow.core.actors import Actor
    from leadflow.deals.models import Deal
    from leadflow.deals.services import deal_create

    found = Deal.objects.filter(workspace=world["workspace"]).first()
    return found or deal_create(
        workspace=world["workspace"],
        actor=Actor.system(),
        values={"contact_id": world["contact"].pk, "title": "Lee Corp renewal"},
    )


def _scoring_profile(world, client):
    page = client.get(url(world["workspace"], "settings/scoring/profile/"))
    saved = client.post(url(world["workspace"], "settings/scoring/profile/"), {"base_grade": "B"})
    assert _decided(page, 200) == _decided(saved, 302)
    return _decided(page, 200)


def _settings(world, client):
    pages = [
        "settings/",
        "settings/fields/",
        "settings/tracking/",
        "settings/consent/",
        "settings/api-keys/",
    ]
    answers = {_decided(client.get(url(world["workspace"], page)), 200) for page in pages}
    assert len(answers) == 1, "the settings pages disagree"
    return answers.pop()


def _see_engagement_rules(world, client):
    return _decided(client.get(url(world["workspace"], "settings/scoring/engagement/")), 200)


def _change_engagement_rules(world, client):
    workspace = world["workspace"]
    profile_get(workspace)
    rule = EngagementRule.objects.filter(workspace=workspace).order_by("position").first()
    base = "settings/scoring/engagement/"
    preview = client.post(url(workspace, base + "preview/"), {"form": "profile"})
    answer = client.post(url(workspace, base + f"rules/{rule.pk}/toggle/"))
    turned_off = not EngagementRule.objects.get(pk=rule.pk).enabled
    assert _decided(answer, 302) == turned_off
    assert _decided(preview, 422) == turned_off  # an empty form: refused, or named fields
    return turned_off


def _see_deal_settings(world, client):
    pipeline = _deal(world).pipeline
    answers = {
        _decided(client.get(url(world["workspace"], path)), 200)
        for path in ("settings/deals/", f"settings/deals/pipelines/{pipeline.pk}/")
    }
    assert len(answers) == 1, "the deal settings pages disagree"
    return answers.pop()


def _change_deal_settings(world, client):
    from leadflow.deals.models import Pipeline

    answer = client.post(url(world["workspace"], "settings/deals/pipelines/"), {"name": "Upsell"})
    made = Pipeline.objects.filter(workspace=world["workspace"], name="Upsell").exists()
    assert _decided(answer, 302) == made
    return made


def _product(world):
    from leadflow.core.actors import Actor
    from leadflow.deals.models import Product
    from leadflow.deals.services import product_create

    found = Product.objects.filter(workspace=world["workspace"], name="Kite").first()
    return found or product_create(
        workspace=world["workspace"], actor=Actor.system(), values={"name": "Kite", "price": "5"}
    )


def _see_products(world, client):
    product = _product(world)
    answers = {
        _decided(client.get(url(world["workspace"], path)), 200)
        for path in ("settings/products/", f"settings/products/{product.pk}/")
    }
    assert len(answers) == 1, "the products pages disagree"
    return answers.pop()


def _manage_products(world, client):
    product = _product(world)
    workspace = world["workspace"]
    added = client.post(url(workspace, "settings/products/"), {"name": "Bar", "price": "9"})
    archived = client.post(url(workspace, f"settings/products/{product.pk}/archive/"))
    saved = client.post(url(workspace, "settings/products/payments/"), {})
    product.refresh_from_db()
    made = product.__class__.objects.filter(workspace=workspace, name="Bar").exists()
    assert _decided(added, 302) == made == (not product.active)
    assert _decided(archived, 302) == made
    assert _decided(saved, 302) == made
    return made


def _see_routing(world, client):
    return _decided(client.get(url(world["workspace"], "settings/routing/")), 200)


def _change_routing(world, client):
    answer = client.post(url(world["workspace"], "settings/routing/teams/"), {"name": "APAC"})
    made = Team.objects.filter(workspace=world["workspace"], name="APAC").exists()
    assert _decided(answer, 302) == made
    return made


def _reassign(world, client):
    contact, seller = world["contact"], world["members"]["sales"].user
    target = world["members"]["marketer"].user
    answer = client.post(
        url(world["workspace"], f"contacts/{contact.pk}/reassign/"), {"to": f"person:{target.pk}"}
    )
    contact.refresh_from_db()
    assert _decided(answer, 302) == (contact.owner_id == target.pk != seller.pk)
    return contact.owner_id == target.pk


def _team_queue(world, client):
    """The sales and marketing members are in the team; the lead waits in its queue."""
    queued = world["queued"]
    page = client.get(url(world["workspace"], "queue/"))
    claimed = client.post(url(world["workspace"], f"queue/{queued.pk}/claim/"))
    queued.refresh_from_db()
    assert _decided(page, 200) == _decided(claimed, 302) == (queued.owner_id is not None)
    return queued.owner_id is not None


def _my_leads(world, client):
    """My leads is for those who may own leads; the poll answers alike."""
    page = client.get(url(world["workspace"], "my-leads/"))
    since = "2026-01-01T00:00:00+00:00"
    poll = client.get(url(world["workspace"], "my-leads/poll/"), {"since": since})
    assert page.status_code in (200, 403)
    assert (page.status_code == 200) == (poll.status_code in (200, 204))
    return page.status_code == 200


def _members(world, client):
    viewer = world["members"]["viewer"]
    path = f"settings/members/{viewer.pk}/role/"
    changed = client.post(url(world["workspace"], path), {"role": "marketer"})
    listed = client.get(url(world["workspace"], "settings/members/"))
    assert _decided(listed, 200) == _decided(changed, 302)
    return _decided(listed, 200)


def _audit(world, client):
    return _decided(client.get(url(world["workspace"], "settings/audit/")), 200)


def _see_conversion_model(world, client):
    return _decided(client.get(url(world["workspace"], "settings/scoring/model/")), 200)


def _train_conversion_model(world, client):
    rejected = ConversionModel.objects.create(
        workspace=world["workspace"], version=90, status="rejected", artifact=b"x"
    )
    trained = client.post(url(world["workspace"], "settings/scoring/model/train/"))
    forced = client.post(url(world["workspace"], f"settings/scoring/model/{rejected.pk}/force/"))
    rejected.refresh_from_db()
    assert _decided(trained, 302) == _decided(forced, 302) == (rejected.status == "active")
    return _decided(trained, 302)


def _followups(world, client):
    contact = world["contact"]  # the sales member's own lead
    logged = client.post(
        url(world["workspace"], f"contacts/{contact.pk}/log/call/"),
        {"outcome": "connected", "notes": "Spoke"},
    )
    added = client.post(
        url(world["workspace"], f"contacts/{contact.pk}/followups/add/"),
        {"title": "Send the quote", "due_at": "2030-01-02T10:00", "kind": "email"},
    )
    done = Activity.objects.filter(contact=contact, kind="call.logged").exists()
    scheduled = FollowUp.objects.filter(contact=contact, title="Send the quote").exists()
    assert _decided(logged, 302) == done and _decided(added, 302) == scheduled == done
    return done


def _everyones_followups(world, client):
    workspace = world["workspace"]
    colleague = Membership.objects.create(
        workspace=workspace,
        user=User.objects.create_user(f"ops-{uuid.uuid4().hex[:6]}@acme-widgets.com"),
        role=Role.MARKETER,
    ).user
    FollowUp.objects.create(
        workspace=workspace,
        contact=world["contact"],
        assignee=colleague,
        title="A colleague's follow-up",
        due_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    page = client.get(url(workspace, f"followups/?due=upcoming&assignee={colleague.pk}"))
    assert page.status_code == 200  # every member has the page: their own follow-ups
    return "A colleague&#x27;s follow-up" in page.content.decode()


def _notifications(world, client):
    listed = client.get(url(world["workspace"], "notifications/"))
    bell = client.get(url(world["workspace"], "notifications/bell/"))
    read_all = client.post(url(world["workspace"], "notifications/read-all/"))
    return _decided(listed, 200) and _decided(bell, 200) and _decided(read_all, 302)


def _owners(world, client):
    admin = world["members"]["admin"]
    path = f"settings/members/{admin.pk}/role/"
    answer = client.post(url(world["workspace"], path), {"role": "owner"})
    admin.refresh_from_db()
    assert _decided(answer, 302) == (admin.role == Role.OWNER)
    return admin.role == Role.OWNER


ACTIONS: dict[str, Callable] = {
    "see contacts, companies and timelines": _see_contacts,
    "create and edit contacts and companies (notes, tags, stage, owner)": _edit_contacts,
    "merge contacts": _merge_contacts,
    "delete contacts and companies": _delete_contacts,
    "export contacts (CSV, Excel)": _export_contacts,
    "import contacts, and read an import's rows (mapping, problems file)": _import_contacts,
    "review possible duplicates (dismiss a pair)": _dismiss_duplicates,
    "merge possible duplicates (one pair, or every pair above a probability)": _merge_duplicates,
    "scan the whole workspace for duplicates": _scan_duplicates,
    "turn automatic merging of duplicates on or off": _automatic_merging,
    "see the MQL queue": _see_mql_queue,
    "accept or reject MQLs": _decide_mqls,
    "send a personal email to a contact (compose, preview)": _send_email,
    "create, change and delete email templates": _email_templates,
    "see deals, the board and the forecast": _see_deals,
    "create, edit, move, win, lose and reopen deals; convert a lead to a deal": _work_deals,
    "change the ideal customer profile (fit rules, base grade), temperature and the MQL rule": (
        _scoring_profile
    ),
    "see visitors, the sources report and the speed-to-lead report": _see_visitors,
    "see forms and their submissions": _see_submissions,
    "export a form's submissions (CSV)": _export_submissions,
    "create, change and delete forms": _manage_forms,
    "see landing pages, their results and their images": _see_pages,
    "create, change, publish and A/B-test landing pages": _manage_pages,
    "upload, describe and delete images for landing pages": _page_images,
    "change the landing pages' brand (colours, favicon)": _page_brand,
    "see chat flows and conversations (transcripts)": _see_chat,
    "create, change and publish chat flows": _manage_chat,
    "change the chat widget's settings (launcher, greeting, consent notice)": _chat_widget,
    "see the chat inbox (own and unassigned chats for sales) and the canned replies": _see_inbox,
    (
        "work chats in the inbox (claim, reply, notes, return to bot, close); change canned replies"
    ): _work_inbox,
    "see, add, change and delete chat channels (Telegram, WhatsApp, Messenger)": _chat_channels,
    "see the chat's knowledge base and its unanswered questions; try a question": (_see_knowledge),
    "add, change and delete knowledge base entries; dismiss unanswered questions": (
        _manage_knowledge
    ),
    (
        "see and change the chat policy (transcript retention, chats per person, knowledge "
        "thresholds)"
    ): _chat_policy,
    "see and change the suppression list and subscription topics": _suppression_list,
    "see segments and their members": _see_segments,
    "create, change and delete segments; add contacts to static lists and remove them": (
        _manage_segments
    ),
    "manage lead sources and read their delivery log": _manage_lead_sources,
    "force in a delivery whose sender was not verified": _force_delivery,
    "change workspace settings, custom fields, tracking, consent purposes and API keys": _settings,
    "see the engagement scoring rules": _see_engagement_rules,
    "change and preview the engagement scoring rules, half-life and thresholds": (
        _change_engagement_rules
    ),
    "see the deal settings (pipelines, stages, lost reasons, currency)": _see_deal_settings,
    "change the deal settings, pipelines and stages": _change_deal_settings,
    "see the products and the payment settings": _see_products,
    (
        "add, change, archive and restore products; change the payment settings (Stripe)"
    ): _manage_products,
    "see the routing settings (teams, availability, assignment rules)": _see_routing,
    "change the routing settings": _change_routing,
    "reassign leads by hand (one, the selected, or all matching a filter)": _reassign,
    (
        "see a team's queue and claim its leads (members of the team; owners and admins every team)"
    ): _team_queue,
    (
        "see My leads (one's own open leads) and act on them there: snooze, hand back, disqualify"
    ): _my_leads,
    "add and remove members, change their roles": _members,
    "read the audit log": _audit,
    "see the conversion model (versions, evaluation)": _see_conversion_model,
    "train the conversion model, or force a version into use": _train_conversion_model,
    "make, change or remove owners": _owners,
    "schedule and complete follow-ups, log calls and meetings": _followups,
    "see anyone's follow-ups (the assignee filter)": _everyones_followups,
    "see one's own notifications and mark them read": _notifications,
}


def test_every_row_of_the_role_table_has_a_check_and_every_cell_a_known_value():
    assert set(ROLE_ROWS) == set(ACTIONS)
    for cells in ROLE_ROWS.values():
        assert set(cells.values()) <= {"✓", "own leads", ""}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_role_table_holds_for(action, role, world):
    client = Client()
    client.force_login(world["members"][role].user)
    expected = ROLE_ROWS[action][role] != ""
    assert ACTIONS[action](world, client) is expected


# --- sales: own leads ---------------------------------------------------------------------


def test_only_the_sales_role_is_limited_to_its_own_leads():
    limited = {
        role for cells in ROLE_ROWS.values() for role, v in cells.items() if v == "own leads"
    }
    assert limited == {"sales"}


# --- API scopes ----------------------------------------------------------------------------

BODIES = {
    "PUT /api/v1/chat/policy": {"retention_days": 200, "kb_answer_floor": 0.5},
    "POST /api/v1/chat/channels": {"kind": "telegram", "name": "Acme bot"},
    "POST /api/v1/segments": {"name": "VIP", "kind": "static"},
    "POST /api/v1/segments/count": {
        "conditions": {"field": "country", "operator": "eq", "value": "GB"}
    },
    "POST /api/v1/deals": {"title": "Kite Labs pilot"},
    "POST /api/v1/pipelines": {"name": "Renewals"},
    "PATCH /api/v1/deal-settings": {"currency": "EUR"},
    "POST /api/v1/contacts/{contact}/convert-to-deal": {},
    "POST /api/v1/deals/products": {"name": "Board", "price": "10", "currency": "EUR"},
    "POST /api/v1/deals/orders": lambda world: {
        "contact_id": world["contact"].pk,
        "items": [{"product_id": _product(world).pk, "quantity": 1}],
    },
    "PUT /api/v1/deals/payment-settings": lambda world: {
        "secret_key_env": secret_name_base(world["workspace"].pk, "LEADFLOW_STRIPE_") + "_KEY"
    },
    "POST /api/v1/contacts": {"email": "new@kite-labs.io"},
    "POST /api/v1/forms": {
        "name": "Webinar",
        "fields": [{"name": "email", "type": "email", "maps_to": "email"}],
    },
    "PATCH /api/v1/workspace": {"name": "Acme"},
    "POST /api/v1/contacts/{contact}/accept": {"reason": "Fits"},
    "POST /api/v1/contacts/{contact}/reject": {"reason": "No budget"},
    "PUT /api/v1/duplicates/settings": {"auto_merge": False, "auto_merge_threshold": 0.99},
    "POST /api/v1/lead-sources": {"name": "Partner", "format": "generic"},
    "POST /api/v1/scoring/engagement-rules": {
        "name": "Webinar",
        "source": "event",
        "kind": "custom",
        "points": 5,
    },
    "POST /api/v1/activities/bulk": {
        "activities": [
            {
                "id": "crm-1",
                "email": "nobody@kite-labs.io",
                "type": "call",
                "occurred_at": "2021-01-01T00:00:00Z",
            }
        ]
    },
    "POST /api/v1/scoring/models/train": {"force": False},
    "POST /api/v1/email-templates": {"name": "Intro", "subject": "Hi", "body": "Hello"},
    "POST /api/v1/contacts/{contact}/emails": {"subject": "Hi", "body": "Hello"},
    "POST /api/v1/contacts/{contact}/email-preview": {"subject": "Hi", "body": "Hello"},
    "POST /api/v1/sales/teams": {"name": "APAC"},
    "POST /api/v1/sales/rules": {"name": "Everyone", "strategy": "round_robin", "team_id": None},
    "POST /api/v1/sales/reassign": lambda world: {
        "contact_ids": [world["contact"].pk],
        "owner_id": world["members"]["marketer"].user_id,
    },
    "POST /api/v1/contacts/{contact}/claim": lambda world: {
        "user_id": world["members"]["sales"].user_id
    },
    "POST /api/v1/contacts/{contact}/calls": {"outcome": "connected"},
    "POST /api/v1/nurture/suppressions": {"address": "gone@kite-labs.io"},
    "POST /api/v1/nurture/suppressions/check": {"address": "gone@kite-labs.io"},
    "POST /api/v1/nurture/topics": {"name": "Events"},
    "POST /api/v1/pages": {"name": "Spring guide", "slug": "spring-guide"},
    "POST /api/v1/chat/flows": {"name": "Site bot"},
    "PUT /api/v1/chat/settings": {"greeting": "Hello"},
    "POST /api/v1/chat/canned-replies": {"title": "Prices", "text": "From $10"},
    "POST /api/v1/chat/presence": {},
    "PATCH /api/v1/page-brand": {"primary_colour": "#4f46e5"},
    "POST /api/v1/chat/knowledge": {"title": "Is there a free trial?", "body": "Yes, 14 days."},
    "POST /api/v1/chat/knowledge/try": {"question": "Is there a trial?"},
    "POST /api/v1/events": {
        "visitor_id": "visitor-0001",
        "session_id": "session-0001",
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "impression",
                "name": "banner",
                "ts": dt.datetime.now(dt.UTC).isoformat(),
            }
        ],
    },
}


MULTIPART = {"POST /api/v1/pages/images": {"file": ("team.png", _png())}}


def test_every_row_of_the_scope_table_names_a_known_scope():
    assert SCOPE_ROWS
    assert {scope for _, scope in SCOPE_ROWS} <= set(ALL_API_SCOPES)


@pytest.mark.parametrize(("route", "scope"), SCOPE_ROWS)
def test_the_scope_table_holds_for(route, scope, world, api_key_for):
    method, path = route.split(" ", 1)
    path = re.sub(r"\{form\}", str(world["form"].pk), path.removeprefix("/api/v1"))
    if path.endswith("/claim"):  # the lead waiting in the team's queue
        path = path.replace("{contact}", str(world["queued"].pk))
    if "{contact}" in path:  # an MQL with a prediction (accept, reject, prediction)
        model = ConversionModel.objects.create(workspace=world["workspace"], version=1)
        Prediction.objects.create(
            workspace_id=world["workspace"].pk,
            contact_id=world["mql"].pk,
            model_id=model.pk,
            probability=0.4,
        )
        path = path.replace("{contact}", str(world["mql"].pk))
    body = BODIES.get(route)
    if callable(body):
        body = body(world)
    if route == "POST /api/v1/sales/rules":
        body = {**body, "team_id": Team.objects.get(workspace=world["workspace"]).pk}

    def call(scopes):
        client = api_key_for(world["workspace"], scopes)
        if method == "GET":
            return client.get(path)
        if route in MULTIPART:
            files = {name: SimpleUploadedFile(*spec) for name, spec in MULTIPART[route].items()}
            return client.client.post(f"/api/v1{path}", files, headers=client.headers)
        return getattr(client, method.lower())(path, body)

    without = call([other for other in ALL_API_SCOPES if other != scope])
    assert without.status_code == 403, without.content[:300]
    assert without.json()["code"] == "missing_scope"
    with_it = call([scope])
    assert with_it.status_code < 300, (with_it.status_code, with_it.content[:300])
