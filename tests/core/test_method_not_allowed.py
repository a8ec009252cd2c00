"""A method a route does not serve answers 405 as application/problem+json with an Allow
header on the API and the public JSON endpoints, like every other error there."""

import json

import pytest
from django.test import Client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/contacts"),
        ("put", "/api/v1/contacts"),
        ("get", "/e"),
        ("post", "/e/config"),
        ("delete", "/in/some-key"),
    ],
)
def test_a_wrong_method_answers_a_405_problem_with_an_allow_header(db, method, path):
    response = getattr(Client(), method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"]
    body = json.loads(response.content)
    assert body["status"] == 405
    assert body["title"] == "Method not allowed"
    assert method.upper() in body["detail"]


def test_a_wrong_method_from_a_page_on_another_site_can_be_read_by_its_script(db):
    response = Client().get("/e", headers={"Origin": "https://www.example.com"})
    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"


def test_a_wrong_method_on_an_app_page_is_not_a_problem_document(client, owner):
    client.force_login(owner)
    response = client.get("/logout/")
    assert response.status_code == 405
    assert response["Content-Type"] != "application/problem+json"
