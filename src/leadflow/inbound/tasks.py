"""Side effects of an accepted delivery, run by the worker after commit; safe to run twice.

A failure here (SMTP down, say) fails the task, never the delivery: the lead is committed.
"""

import contextlib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse

from leadflow.core.models import Membership
from leadflow.inbound.models import Delivery, DeliveryStatus, LeadNotification


@task()
def delivery_notify(delivery_pk: int, base_url: str = "") -> int:
    """Email the source's fixed owner the lead's answers and a link to the contact.

    The member is notified even when the lead was known already and belongs to someone
    else: the notification record lets them open it (``inbound.selectors``). Nothing is
    sent for a delivery that is no longer accepted, or to someone no longer a member.
    """
    delivery = (
        Delivery.objects.select_related("source", "source__default_owner", "contact", "workspace")
        .filter(pk=delivery_pk, status=DeliveryStatus.ACCEPTED, contact__isnull=False)
        .first()
    )
    if delivery is None:
        return 0
    user = delivery.source.default_owner
    if (
        user is None
        or not Membership.objects.filter(workspace=delivery.workspace, user=user).exists()
    ):
        return 0
    if LeadNotification.objects.filter(delivery=delivery, recipient=user.email).exists():
        return 0
    base = (settings.LEADFLOW_BASE_URL or base_url or "http://127.0.0.1:8000").rstrip("/")
    link = base + reverse(
        "contact_detail",
        kwargs={"workspace_slug": delivery.workspace.slug, "contact_id": delivery.contact_id},
    )
    # Recorded in the transaction that sends: a failed send leaves no record (the retry
    # sends), and a concurrent run waits on the unique record, then sends nothing.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        LeadNotification.objects.create(
            workspace=delivery.workspace,
            contact=delivery.contact,
            delivery=delivery,
            user=user,
            recipient=user.email,
        )
        context = {
            "source": delivery.source,
            "contact": delivery.contact,
            "answers": _answers(delivery),
            "link": link,
        }
        message = EmailMultiAlternatives(
            subject=f"New lead from {delivery.source.name}: {delivery.contact}"[:200],
            body=render_to_string("inbound/email/notify.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("inbound/email/notify.html", context), "text/html"
        )
        message.send()
        return 1
    return 0


def _answers(delivery: Delivery) -> list[tuple[str, str]]:
    """The contact's main fields as the email lists them."""
    contact = delivery.contact
    pairs = [
        ("Name", f"{contact.first_name} {contact.last_name}".strip()),
        ("Email", contact.email or ""),
        ("Phone", contact.phone or ""),
        ("Job title", contact.job_title),
    ]
    form = delivery.attribution.get("form_name") or delivery.attribution.get("form")
    if form:
        pairs.append(("Form", str(form)))
    return [(label, value) for label, value in pairs if value]
