"""Writes for companies, and the company a contact belongs to."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.contacts.identity import company_domain, company_name_from_domain
from leadflow.contacts.models import (
    Company,
    CompanySize,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.core.validation import country_normalise, email_domain


def company_for_contact(
    *, workspace: Workspace, email: str | None, company_name: str
) -> Company | None:
    """The company a contact belongs to: by corporate email domain first, then by name.

    Free-mail and disposable domains (gmail.com, mailinator.com, ...) never create a company.
    Creation is race-safe: the unique (workspace, domain) constraint decides.
    """
    domain = company_domain(email_domain(email or "")) if email else ""
    if domain:
        company = Company.objects.filter(workspace=workspace, domain=domain).first()
        if company:
            return company
        try:
            with transaction.atomic():
                return Company.objects.create(
                    workspace=workspace,
                    domain=domain,
                    name=company_name or company_name_from_domain(domain),
                )
        except IntegrityError:
            return Company.objects.get(workspace=workspace, domain=domain)
    if company_name:
        company = (
            Company.objects.filter(workspace=workspace, name__iexact=company_name)
            .order_by("id")
            .first()
        )
        return company or Company.objects.create(workspace=workspace, name=company_name)
    return None


def company_input_clean(
    data: Mapping[str, Any], *, partial: bool, workspace: Workspace | None = None
) -> dict[str, Any]:
    """A company's fields checked; ``owner_id`` (the account owner) must be a member of
    ``workspace`` who may own leads, or None."""
    allowed = {"name", "domain", "size", "industry", "country", "owner_id"}
    errors = [FieldError(key, "Unknown field.") for key in data if key not in allowed]
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", "A company needs a name."))
        elif len(name) > 200:
            errors.append(FieldError("name", "At most 200 characters."))
        clean["name"] = name
    if "domain" in data:
        domain = str(data["domain"] or "").strip().lower().removeprefix("www.")
        if domain and ("." not in domain or " " in domain or len(domain) > 253):
            errors.append(FieldError("domain", "Use a domain such as example.com."))
        clean["domain"] = domain or None
    if "size" in data:
        if data["size"] not in [*CompanySize.values, "", None]:
            errors.append(FieldError("size", f"Choose one of: {', '.join(CompanySize.values)}."))
        clean["size"] = data["size"] or ""
    if "industry" in data:
        clean["industry"] = str(data["industry"] or "").strip()[:100]
    if "country" in data:
        try:
            clean["country"] = country_normalise(str(data["country"] or ""))
        except ValidationFailed as failure:
            errors.extend(failure.errors)
    if "owner_id" in data:
        owner_id = data["owner_id"]
        if owner_id in ("", None):
            owner_id = None
        elif isinstance(owner_id, str) and owner_id.strip().isdigit():
            owner_id = int(owner_id)
        if owner_id is not None and (
            workspace is None
            or not is_member_id(workspace, owner_id, permission=LEAD_OWNER_PERMISSION)
        ):
            errors.append(FieldError("owner_id", "A member of this workspace who may own leads."))
        clean["owner_id"] = owner_id
    if errors:
        raise ValidationFailed(errors)
    return clean


def _company_save(workspace: Workspace, company: Company, clean: dict) -> Company:
    for key, value in clean.items():
        setattr(company, key, value)
    company.updated_at = timezone.now()
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:
        raise ValidationFailed(
            [FieldError("domain", "Another company in this workspace has this domain.")]
        ) from None
    return company


@transaction.atomic
def company_create(*, workspace: Workspace, data: Mapping[str, Any], actor: Actor) -> Company:
    clean = company_input_clean(data, partial=False, workspace=workspace)
    company = _company_save(workspace, Company(workspace=workspace), clean)
    audit_record(workspace=workspace, actor=actor, action="company.created", obj=company)
    return company


@transaction.atomic
def company_update(
    *, workspace: Workspace, company_id: int, data: Mapping[str, Any], actor: Actor
) -> Company:
    company = Company.objects.filter(workspace=workspace, pk=company_id).first()
    if company is None:
        raise NotFound("No such company.")
    clean = company_input_clean(data, partial=True, workspace=workspace)
    changes = {
        key: [getattr(company, key), value]
        for key, value in clean.items()
        if getattr(company, key) != value
    }
    company = _company_save(workspace, company, clean)
    if changes:
        audit_record(
            workspace=workspace, actor=actor, action="company.updated", obj=company, changes=changes
        )
    return company


@transaction.atomic
def company_delete(*, workspace: Workspace, company_id: int, actor: Actor) -> None:
    """Delete a company; its contacts stay, without a company."""
    company = Company.objects.filter(workspace=workspace, pk=company_id).first()
    if company is None:
        raise NotFound("No such company.")
    audit_record(workspace=workspace, actor=actor, action="company.deleted", obj=company)
    company.delete()
