"""Settings → Custom fields: a field can be marked as identifying a person, with its
comparison, when created or edited; the list says which fields identify."""

from html import unescape

from leadflow.contacts.models import CustomField
from tests.web.conftest import url


def test_the_form_offers_identifying_and_the_comparisons(owner_client, workspace):
    html = unescape(owner_client.get(url(workspace, "settings/fields/")).content.decode())
    assert 'name="identifying"' in html
    assert "Identifies a person (used to find duplicates)" in html
    for value, label in (
        ("exact", "Exact value"),
        ("digits", "Same digits (ignores spaces, dashes, letters)"),
        ("fuzzy", "Similar text (typos allowed)"),
    ):
        assert f'<option value="{value}">{label}</option>' in html


def test_create_an_identifying_field_and_see_it_in_the_list(owner_client, workspace):
    response = owner_client.post(
        url(workspace, "settings/fields/"),
        {
            "label": "Customer number",
            "field_type": "text",
            "identifying": "on",
            "match_type": "digits",
        },
    )
    assert response.status_code == 302, response.content.decode()
    field = CustomField.objects.get(workspace=workspace)
    assert (field.key, field.identifying, field.match_type) == ("customer_number", True, "digits")
    html = unescape(owner_client.get(url(workspace, "settings/fields/")).content.decode())
    assert "identifies a person · Same digits (ignores spaces, dashes, letters)" in html


def test_errors_show_beside_the_checkbox_and_the_comparison(owner_client, workspace):
    response = owner_client.post(
        url(workspace, "settings/fields/"),
        {"label": "Customer number", "field_type": "text", "identifying": "on"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_match_type_error"' in html
    assert "Choose how values are compared" in html
    assert 'name="identifying" checked' in html  # what was ticked stays ticked
    response = owner_client.post(
        url(workspace, "settings/fields/"),
        {"label": "Renewal", "field_type": "date", "identifying": "on", "match_type": "exact"},
    )
    assert response.status_code == 422
    assert 'id="id_identifying_error"' in response.content.decode()
    assert not CustomField.objects.exists()


def test_edit_marks_changes_and_unmarks_a_field(owner_client, workspace):
    owner_client.post(url(workspace, "settings/fields/"), {"label": "Ref", "field_type": "text"})
    field = CustomField.objects.get(workspace=workspace)
    edit = url(workspace, f"settings/fields/{field.pk}/")
    page = owner_client.get(edit).content.decode()
    assert 'name="identifying"' in page and 'name="identifying" checked' not in page
    response = owner_client.post(edit, {"label": "Ref", "identifying": "on", "match_type": "fuzzy"})
    assert response.status_code == 302, response.content.decode()
    field.refresh_from_db()
    assert (field.identifying, field.match_type) == (True, "fuzzy")
    page = owner_client.get(edit).content.decode()
    assert 'name="identifying" checked' in page
    assert '<option value="fuzzy" selected>' in page
    response = owner_client.post(edit, {"label": "Ref", "match_type": "fuzzy"})  # unticked
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.identifying, field.match_type) == (False, "")


def test_another_workspace_field_answers_404(owner_client, workspace, other_workspace):
    theirs = CustomField.objects.create(
        workspace=other_workspace, key="member_id", label="Member id", field_type="text"
    )
    edit = url(workspace, f"settings/fields/{theirs.pk}/")
    assert owner_client.get(edit).status_code == 404
    response = owner_client.post(
        edit, {"label": "Mine now", "identifying": "on", "match_type": "exact"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.label, theirs.identifying) == ("Member id", False)
