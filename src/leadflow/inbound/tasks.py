"""Side effects of an accepted delivery, run by the worker after commit; safe to run twice.

A mail server that is down makes an email task try again later (``core.tasks.mail_retrying``)
and never fails the delivery: the lead is committed.
The owner's notice goes out through ``core.notifications.member_notify``.
"""

from django.tasks import task
from django.urls import reverse

from leadflow.core.notifications import link_base, member_notify
from leadflow.core.tasks import mail_retrying
from leadflow.inbound.models import Delivery, DeliveryStatus, LeadNotification


@task()
@mail_retrying
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
    link = link_base(base_url) + reverse(
        "contact_detail",
        kwargs={"workspace_slug": delivery.workspace.slug, "contact_id": delivery.contact_id},
    )
    # The record is written in the transaction that sends (member_notify): a failed send
    # leaves none (the retry sends), and a concurrent run waits on the unique record, then
    # sends nothing.
    return member_notify(
        workspace=delivery.workspace,
        users=[delivery.source.default_owner],
        subject=f"New lead from {delivery.source.name}: {delivery.contact}",
        template="inbound/email/notify",
        context={
            "source": delivery.source,
            "contact": delivery.contact,
            "answers": _answers(delivery),
            "link": link,
        },
        record=lambda user: LeadNotification.objects.create(
            workspace=delivery.workspace,
            contact=delivery.contact,
            delivery=delivery,
            user=user,
            recipient=user.email,
        ),
    )


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
