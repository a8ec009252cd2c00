"""API authentication, scopes, tenant isolation on every object route, and the schema."""

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from leadflow.capture.popups.models import Popup
from leadflow.config.api import api as ninja_api
from leadflow.contacts import services
from leadflow.contacts.models import Contact, CustomField
from leadflow.core.actors import Actor
from leadflow.core.models import ApiKey, ApiScope, Membership, Role
from leadflow.core.notifications import notifications_create
from leadflow.core.services import apikey_revoke
from leadflow.deals import services as deal_services
from leadflow.deals.models import Deal
from leadflow.duplicates.models import DuplicatePair
from leadflow.imports.models import ImportJob, ImportMapping
from leadflow.sales.models import (
    AssignmentRule,
    EmailTemplate,
    FollowUp,
    LeadSnooze,
    PersonalEmail,
    Team,
    TeamMember,
)
from leadflow.scoring.models import ConversionModel, EngagementRule

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"


def test_missing_or_wrong_key_answers_401(db):
    client = Client()
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert (
        client.get("/api/v1/contacts", headers={"Authorization": "Bearer lf_nope_nope"}).status_code
        == 401
    )
    assert client.get("/api/v1/contacts", headers={"Authorization": "Basic abc"}).status_code == 401


@pytest.mark.django_db
def test_revoked_key_answers_401(api, workspace, owner_actor):
    assert api.get("/contacts").status_code == 200
    key = ApiKey.objects.get(workspace=workspace)
    apikey_revoke(workspace=workspace, key_id=key.pk, actor=owner_actor)
    assert api.get("/contacts").status_code == 401


def test_only_the_hash_is_stored(api, workspace):
    key = ApiKey.objects.get(workspace=workspace)
    secret = api.headers["Authorization"].removeprefix("Bearer ")
    assert secret not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert key.key_hash == ApiKey.hash_secret(secret)


def test_key_without_scope_answers_403(workspace, api_key_for):
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ])
    assert reader.get("/contacts").status_code == 200
    response = reader.post("/contacts", {"email": "a@initech.com"})
    assert response.status_code == 403
    assert "contacts:write" in response.json()["detail"]
    assert reader.get("/custom-fields").status_code == 403
    assert not Contact.objects.exists()


def test_rate_limit_answers_429_with_retry_after(api, settings):
    settings.LEADFLOW_API_RATE_LIMIT = 3
    from django.core.cache import cache

    cache.clear()
    statuses = [api.get("/contacts").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    limited = api.get("/contacts")
    assert int(limited["Retry-After"]) >= 1
    cache.clear()


def _object_ids(workspace):
    from leadflow.capture.models import Form, Submission
    from leadflow.inbound.models import Delivery, LeadSource

    actor = Actor.system()
    a = services.contact_upsert(
        workspace=workspace, data={"email": "a@other-co.com"}, actor=actor
    ).contact
    b = services.contact_upsert(
        workspace=workspace, data={"email": "b@other-co.com"}, actor=actor
    ).contact
    field = CustomField.objects.create(workspace=workspace, key="k", label="K", field_type="text")
    form = Form.objects.create(
        workspace=workspace,
        name="Other form",
        fields=[{"name": "email", "type": "email", "required": True, "maps_to": "email"}],
    )
    submission = Submission.objects.create(
        workspace=workspace, form=form, status="accepted", contact=a
    )
    source = LeadSource.objects.create(workspace=workspace, name="Other source", format="google")
    delivery = Delivery.objects.create(
        workspace=workspace, source=source, status="rejected", body="{}", verified=True
    )
    job = ImportJob.objects.create(
        workspace=workspace, path="/nonexistent.csv", original_filename="x.csv", status="draft"
    )
    saved = ImportMapping.objects.create(workspace=workspace, name="Other", mapping={})
    pair = DuplicatePair.objects.create(
        workspace=workspace, contact=a, other=b, probability=0.9, reasons="same phone"
    )
    rule = EngagementRule.objects.create(
        workspace=workspace, name="Other rule", source="event", kind="pageview", points=1
    )
    model = ConversionModel.objects.create(workspace=workspace, version=1, status="rejected")
    template = EmailTemplate.objects.create(workspace=workspace, name="T", subject="s", body="b")
    team = Team.objects.create(workspace=workspace, name="Other team")
    seller = Membership.objects.filter(workspace=workspace).first().user
    member = TeamMember.objects.create(team=team, user=seller)
    routing = AssignmentRule.objects.create(
        workspace=workspace, name="Other routing", strategy="round_robin", team=team
    )
    owner = Membership.objects.filter(workspace=workspace, role=Role.OWNER).first().user
    followup = FollowUp.objects.create(
        workspace=workspace, contact=a, assignee=owner, title="Other", due_at=timezone.now()
    )
    [notification] = notifications_create(
        workspace=workspace, user_ids=[owner.pk], kind="mention", title="Other"
    )
    pipeline = deal_services.pipeline_default_ensure(workspace)
    deal = deal_services.deal_create(
        workspace=workspace, actor=actor, values={"title": "Other deal", "contact_id": a.pk}
    )
    from leadflow.capture.magnets import magnet_create

    magnet = magnet_create(
        workspace=workspace, actor=actor, data={"name": "Other magnet", "kind": "code"}
    )
    from leadflow.nurture.services.offers import offer_create

    offer = offer_create(workspace=workspace, actor=actor, data={"name": "Other offer"})
    from leadflow.nurture.services.suppression import suppression_add, topic_create

    suppressed = suppression_add(
        workspace=workspace, address="gone@other-co.com", reason="manual", actor=actor
    )
    topic = topic_create(workspace=workspace, data={"name": "Other topic"}, actor=actor)
    from leadflow.nurture.services import settings as email_settings
    from leadflow.nurture.services.sending import message_create

    identity = email_settings.identity_create(
        workspace=workspace, data={"from_address": "news@other-co.com"}
    )
    marketing = email_settings.template_create(
        workspace=workspace, data={"name": "N", "subject": "Hi", "html_body": "<p>Hi</p>"}
    )
    message = message_create(
        workspace=workspace, name="Other news", template_id=marketing.pk, identity_id=identity.pk
    )
    from leadflow.nurture.services.segments import segment_create

    segment = segment_create(
        workspace=workspace, actor=actor, values={"name": "Other list", "kind": "static"}
    )
    from leadflow.nurture.models import Enrollment
    from leadflow.nurture.services.sequences import sequence_create, sequence_status_set

    sequence = sequence_create(
        workspace=workspace,
        actor=actor,
        values={"name": "Other drip", "steps": [{"id": 1, "type": "tag", "tag": "t"}]},
    )
    sequence_status_set(workspace=workspace, actor=actor, sequence_id=sequence.pk, status="active")
    enrollment = Enrollment.objects.create(
        workspace=workspace, sequence=sequence, contact=a, step=1, wake_at=timezone.now()
    )
    from leadflow.nurture.services.broadcasts import broadcast_create

    broadcast = broadcast_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Other newsletter",
            "segment_id": segment.pk,
            "variants": [{"template_id": marketing.pk, "identity_id": identity.pk}],
        },
    )
    from leadflow.pages.services import page_create

    page = page_create(workspace=workspace, actor=actor, data={"name": "Other", "slug": "other"})
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from leadflow.chat import knowledge
    from leadflow.chat import services as chat_services
    from leadflow.chat.models import UnansweredQuestion
    from leadflow.deals.services.orders import order_place
    from leadflow.deals.services.products import product_create
    from leadflow.pages.images import image_upload

    product = product_create(
        workspace=workspace, actor=actor, values={"name": "Other kite", "price": "10"}
    )
    order = order_place(workspace=workspace, contact=a, items=[(product.pk, 1)], actor=actor)
    flow = chat_services.flow_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Other bot",
            "graph": {"start": "bye", "steps": [{"id": "bye", "kind": "end", "text": "Bye"}]},
        },
    )
    chat_services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    conversation = chat_services.conversation_start(workspace=workspace).conversation
    canned = chat_services.canned_reply_save(
        workspace=workspace, data={"title": "Other", "text": "Other answer"}
    )
    from leadflow.chat.services.channels import channel_create

    channel = channel_create(
        workspace=workspace, actor=actor, data={"kind": "telegram", "name": "Other bot"}
    )
    entry = knowledge.entry_create(
        workspace=workspace, actor=actor, data={"title": "Other?", "body": "Other."}
    )
    knowledge.unanswered_record(workspace=workspace, question="Other?", score=0.1, entry_id=None)
    picture = io.BytesIO()
    Image.new("RGB", (4, 4)).save(picture, format="PNG")
    image, _ = image_upload(
        workspace=workspace,
        upload=SimpleUploadedFile("other.png", picture.getvalue()),
        actor=actor,
        alt="Other",
    )
    return {
        "product_id": product.pk,
        "order_id": order.pk,
        "flow_id": flow.pk,
        "conversation_id": conversation.pk,
        "reply_id": canned.pk,
        "channel_id": channel.pk,
        "entry_id": entry.pk,
        "unanswered_id": UnansweredQuestion.objects.get(workspace=workspace).pk,
        "image_id": image.pk,
        "page_id": page.pk,
        "variant_id": page.variants.get().pk,
        "broadcast_id": broadcast.pk,
        "sequence_id": sequence.pk,
        "enrollment_id": enrollment.pk,
        "segment_id": segment.pk,
        "identity_id": identity.pk,
        "marketing_template_id": marketing.pk,
        "message_id": message.pk,
        "offer_id": offer.pk,
        "magnet_id": magnet.pk,
        "suppression_id": suppressed.suppression.pk,
        "topic_id": topic.pk,
        "team_id": team.pk,
        "team_member_id": member.pk,
        "assignment_rule_id": routing.pk,
        "template_id": template.pk,
        "followup_id": followup.pk,
        "notification_id": notification.pk,
        "pipeline_id": pipeline.pk,
        "stage_id": deal.stage_id,
        "deal_id": deal.pk,
        "rule_id": rule.pk,
        "model_id": model.pk,
        "pair_id": pair.pk,
        "job_id": job.pk,
        "mapping_id": saved.pk,
        "contact_id": a.pk,
        "company_id": a.company_id,
        "field_id": field.pk,
        "other_id": b.pk,
        "form_id": form.pk,
        "popup_id": Popup.objects.create(workspace=workspace, name="Other popup", title="T").pk,
        "submission_pk": submission.pk,
        "source_id": source.pk,
        "delivery_id": delivery.pk,
    }


def test_every_object_route_hides_other_workspaces(api, other_workspace):
    """Walk every path with an id in the OpenAPI schema, with another workspace's ids."""
    ids = _object_ids(other_workspace)
    owned_before = Contact.objects.filter(workspace=other_workspace, owner__isnull=False).count()
    bodies = {
        "merge": {"other_id": ids["other_id"]},
        "notes": {"body": "x"},
        "rotate-secret": None,
        "replay": None,
        "start": None,
        "cancel": None,
        "release": None,
        "resume": None,
        "accept": {"reason": "x"},
        "reject": {"reason": "x"},
        "emails": {"subject": "x", "body": "x"},
        "email-preview": {"subject": "x", "body": "x"},
        "claim": {"user_id": 1},
        "members": {"user_id": 1},
        "calls": {"outcome": "connected"},
        "meetings": {"outcome": "held"},
        "complete": None,
        "read": None,
        "stages": {"name": "x"},
        "reorder": {"stage_ids": [1]},
        "move": {"stage_id": 1},
        "win": None,
        "lose": {"reason": "x"},
        "reopen": {"stage_id": None},
        "convert-to-deal": {"title": "x"},
        "snooze": {"user_id": 1, "until": "2030-01-01T10:00:00Z"},
        "unsnooze": {"user_id": 1},
        "hand-back": {"reason": "x"},
        "disqualify": {"reason": "x"},
        "codes": {"codes": ["X1"]},
        "redeem": {"code": "X1"},
        "checkout": {},
        "file": None,
        "issue": {"contact_id": 1},
        "offer": None,
        "preview": {"contact_id": 1},
        "test": {"identity_id": 1, "to": "a@example.com"},
        "send": {"contact_ids": [1]},
        "remove": {"contact_ids": [1]},
        "consent": {"purpose": "sms", "status": "granted"},
        "enrollments": {"contact_ids": [1]},
        "status": {"status": "paused"},
        "schedule": {"send_at": None},
        "publish": None,
        "unpublish": None,
        "variants": {"copy_of": None},
        "winner": {"variant_id": None},
        "messages": {"text": "x", "client_id": "x" * 8},
        "return": {"step": ""},
        "close": None,
        "transcript": {"email": "x@example.com"},
        "webhook": None,
    }
    schema = ninja_api.get_openapi_schema()
    tried = 0
    for path, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        url = path.removeprefix("/api/v1")
        for param in params:
            url = url.replace("{" + param + "}", str(ids[param]))
        for method in operations:
            body = None
            if method == "post" and url.startswith("/duplicates/"):
                body = {"choices": {}} if url.endswith("/merge") else None
            elif method == "post" and url.startswith("/segments/"):
                body = {"contact_ids": [1]}
            elif method == "post" and url.startswith("/nurture/enrollments/"):
                body = {"reason": "x"}
            elif method == "post" and url.endswith("/seats/release"):
                body = {"contact_id": 1}
            elif method == "post":
                body = bodies[url.rsplit("/", 1)[-1]]
            elif method == "patch" and "/variants/" in url:
                body = {"weight": 1}
            elif method == "patch" and "/team-members/" in url:
                body = {"weight": 2}
            elif method == "patch" and "/nurture/identities/" in url:
                body = {"from_name": "x"}
            elif method == "patch" and "/pages/images/" in url:
                body = {"alt": "x"}
            elif method == "patch" and (
                "/chat/knowledge/" in url or "/chat/canned-replies/" in url
            ):
                body = {"title": "x"}
            elif method == "patch" and any(
                part in url
                for part in (
                    "/forms/",
                    "/capture/popups/",
                    "/lead-sources/",
                    "/engagement-rules/",
                    "/email-templates/",
                    "/sales/teams/",
                    "/sales/rules/",
                    "/pipelines/",
                    "/stages/",
                    "/nurture/offers/",
                    "/capture/magnets/",
                    "/nurture/topics/",
                    "/nurture/templates/",
                    "/segments/",
                    "/nurture/sequences/",
                    "/nurture/broadcasts/",
                    "/pages/",
                    "/deals/products/",
                    "/chat/flows/",
                    "/chat/channels/",
                )
            ):
                body = {"name": "x"}
            elif method == "patch" and "/deals/" in url:
                body = {"title": "x"}
            elif method == "patch" and "/imports/" in url:
                body = {"save_as": "x"}
            elif method == "patch":
                body = (
                    {"label": "x"}
                    if "custom-fields" in url
                    else {"name": "x"}
                    if "companies" in url
                    else {"title": "x"}
                    if "followups" in url
                    else {"first_name": "x"}
                )
            query = "?contact_id=1" if method == "get" and url.endswith("/preview") else ""
            if method == "post" and url.endswith("/file"):  # a multipart upload
                upload = SimpleUploadedFile("x.pdf", b"%PDF-1.4\n", "application/pdf")
                response = api.client.post(
                    f"/api/v1{url}", data={"file": upload}, headers=api.headers
                )
            else:
                sent = {"body": body} if body is not None else {}
                response = getattr(api, method)(url + query, **sent)
            assert response.status_code == 404, (method, path, response.content)
            assert response["Content-Type"] == "application/problem+json"
            tried += 1
    assert tried >= 12
    assert Contact.objects.filter(workspace=other_workspace).count() == 2
    assert not Contact.objects.filter(first_name="x").exists()
    assert not PersonalEmail.objects.exists()
    assert EmailTemplate.objects.get(workspace=other_workspace).name == "T"
    assert Team.objects.filter(workspace=other_workspace, name="Other team").exists()
    assert AssignmentRule.objects.get(workspace=other_workspace).name == "Other routing"
    assert TeamMember.objects.get(team__workspace=other_workspace).weight == 1
    assert not FollowUp.objects.filter(title="x").exists()
    assert FollowUp.objects.get().done_at is None
    assert sorted(Deal.objects.values_list("title", "status")) == [
        ("Other deal", "open"),
        ("Other kite", "open"),  # the order's deal
    ]
    assert not LeadSnooze.objects.exists()
    from leadflow.chat.models import CannedReply, Conversation, Message

    assert list(CannedReply.objects.values_list("title", flat=True)) == ["Other"]
    assert not Message.objects.filter(author="agent").exists()
    assert Conversation.objects.get().assignee_id is None
    assert list(Popup.objects.values_list("name", flat=True)) == ["Other popup"]
    assert not Contact.objects.filter(lifecycle_stage="disqualified").exists()
    assert Contact.objects.filter(workspace=other_workspace, owner__isnull=False).count() == (
        owned_before
    )


def test_committed_openapi_schema_matches_the_code():
    generated = json.dumps(ninja_api.get_openapi_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_PATH.read_text() == generated, (
        "docs/api/openapi.json is stale: run `make openapi` and commit it"
    )


def test_docs_page_and_schema_are_served(db):
    client = Client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_every_write_endpoint_rejects_unknown_fields(api, workspace):
    """Bad input on every write endpoint: an unknown field is named in a 422 problem."""
    ids = _object_ids(workspace)
    schema = ninja_api.get_openapi_schema()
    tried = 0
    for path, operations in schema["paths"].items():
        url = path.removeprefix("/api/v1")
        for param in re.findall(r"{(\w+)}", path):
            url = url.replace("{" + param + "}", str(ids[param]))
        for method, operation in operations.items():
            if method not in ("post", "patch") or "requestBody" not in operation:
                continue
            if "multipart/form-data" in operation["requestBody"]["content"]:
                upload = SimpleUploadedFile("x.csv", b"Email\na@b.com\n", "text/csv")
                response = api.client.post(
                    f"/api/v1{url}",
                    data={"file": upload, "no_such_field": "1"},
                    headers=api.headers,
                )
            else:
                response = getattr(api, method)(url, body={"no_such_field": 1})
            assert response.status_code == 422, (method, path, response.content)
            fields = [error["field"] for error in response.json()["errors"]]
            assert "no_such_field" in fields, (method, path, fields)
            tried += 1
    assert tried >= 8
