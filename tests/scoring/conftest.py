"""Helpers of scoring's tests: contacts made through the real services."""

import pytest

from leadflow.contacts.models import Company, Contact
from leadflow.contacts.services import company_create, contact_upsert


@pytest.fixture
def person(workspace, owner_actor):
    """person(email, job_title="", size=None, **data) -> Contact, through contact_upsert
    (a corporate email finds or makes its company; ``size`` sets that company's size)."""

    def make(email: str, job_title: str = "", size: str | None = None, **data) -> Contact:
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "job_title": job_title, **data},
            actor=owner_actor,
        ).contact
        if size is not None:
            if contact.company_id is None:
                company = company_create(
                    workspace=workspace, data={"name": email.split("@")[1]}, actor=owner_actor
                )
                Contact.objects.filter(pk=contact.pk).update(company=company)
            else:
                Company.objects.filter(pk=contact.company_id).update(size=size)
            contact.refresh_from_db()
        return contact

    return make
