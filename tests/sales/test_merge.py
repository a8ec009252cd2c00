"""The merge-field language of personal emails: values, fallbacks, empty fields, escaping in
the HTML part, and template code that stays text or is refused, never run."""

import pytest

from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import ValidationFailed
from leadflow.sales import selectors
from leadflow.sales.merge import merge, merge_field_names, merged_html, unknown_merge_fields
from leadflow.sales.services import email_template_create, email_template_update

VALUES = {"first_name": "Kim", "last_name": "", "company_name": "Initech"}


def test_a_value_replaces_its_field_and_spaces_inside_the_braces_do_not_matter():
    merged = merge("Hi {{first_name}} of {{  company_name  }}!", VALUES)
    assert merged.text == "Hi Kim of Initech!"
    assert merged.empty_fields == [] and merged.unknown_fields == []


def test_an_empty_value_takes_its_fallback_quoted_or_not():
    assert merge("Hi {{ last_name | there }}", VALUES).text == "Hi there"
    assert merge('Hi {{ last_name | "dear friend" }}', VALUES).text == "Hi dear friend"
    assert merge("Hi {{ last_name|'you' }}", VALUES).text == "Hi you"
    # A value wins over its fallback.
    assert merge("Hi {{ first_name | there }}", VALUES).text == "Hi Kim"


def test_an_empty_value_without_fallback_is_empty_and_reported():
    merged = merge("Dear {{ last_name }},", VALUES)
    assert merged.text == "Dear ,"
    assert merged.empty_fields == ["last_name"]
    # With a fallback nothing is reported: the sender chose what shows.
    assert merge("Dear {{ last_name | Sir }},", VALUES).empty_fields == []


@pytest.mark.parametrize(
    "attempt",
    [
        "{{ contact.__class__ }}",
        "{{ contact.__class__.__mro__ }}",
        "{{ settings.SECRET_KEY }}",
        "{{ first_name.upper }}",
        "{{ request.user.password }}",
        "{{ __import__('os') }}",
    ],
)
def test_a_name_that_is_not_a_merge_field_is_unknown_and_never_looked_up(attempt):
    merged = merge(f"Hi {attempt}!", VALUES)
    assert merged.text == "Hi !"
    assert merged.unknown_fields  # the service refuses to save or send it
    assert unknown_merge_fields(attempt, custom_keys=[]) == merge_field_names(attempt)


def test_django_template_tags_and_filters_stay_literal_text():
    text = "{% load static %}{% debug %}{{ first_name|upper }}{# note #}"
    merged = merge(text, VALUES)
    # "upper" is a fallback here, not a filter: the value is used as it is.
    assert merged.text == "{% load static %}{% debug %}Kim{# note #}"
    assert merged.unknown_fields == []


def test_braces_that_are_not_a_merge_field_stay_as_written():
    assert merge("a {single} b {{ }} c {{first_name", VALUES).text == "a {single} b  c {{first_name"


def test_the_html_part_escapes_every_value_and_the_text_around_it():
    merged = merge("<b>Hi</b> {{ first_name }}", {"first_name": "<script>alert(1)</script>"})
    html = merged_html(merged.text)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert merged_html("one\n\ntwo\nthree") == "<p>one</p>\n\n<p>two<br>three</p>"


def test_a_contact_merge_uses_its_fields_custom_fields_and_the_sender(
    workspace, owner, owner_actor
):
    from leadflow.contacts.models import CustomField

    CustomField.objects.create(workspace=workspace, key="plan", label="Plan", field_type="text")
    contact = contact_upsert(
        workspace=workspace,
        data={"email": "kim@gmail.com", "first_name": "Kim", "custom_fields": {"plan": "Pro"}},
        actor=owner_actor,
    ).contact
    owner.full_name = "Olga Owner"
    preview = selectors.email_merge(
        workspace,
        contact,
        subject="For {{ first_name }}\nat {{ company_name | your company }}",
        body="{{ custom.plan }} · {{ sender_name }} <{{ sender_email }}> · {{ workspace_name }}",
        sender=owner,
    )
    assert preview.subject == "For Kim at your company"  # on one line
    assert preview.body == "Pro · Olga Owner <owner@acme-widgets.com> · Acme Widgets"
    assert preview.unknown_fields == []


def test_a_template_with_an_unknown_field_is_refused_naming_subject_and_body(
    workspace, owner_actor
):
    with pytest.raises(ValidationFailed) as refused:
        email_template_create(
            workspace=workspace,
            data={
                "name": "Bad",
                "subject": "{{ contact.__class__ }}",
                "body": "{{ custom.nope }} {% load x %}",
            },
            actor=owner_actor,
        )
    fields = {error.field: error.message for error in refused.value.errors}
    assert set(fields) == {"subject", "body"}
    assert "{{ contact.__class__ }}" in fields["subject"] and "custom.nope" in fields["body"]

    good = email_template_create(
        workspace=workspace,
        data={"name": "Hello", "subject": "Hi", "body": "Hi {{ first_name | there }}"},
        actor=owner_actor,
    )
    with pytest.raises(ValidationFailed) as refused:
        email_template_update(
            workspace=workspace,
            template_id=good.pk,
            data={"body": "{{ x }}"},
            actor=owner_actor,
        )
    assert [error.field for error in refused.value.errors] == ["body"]
    good.refresh_from_db()
    assert good.body == "Hi {{ first_name | there }}"
