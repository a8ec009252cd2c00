"""A database that cannot be reached answers 503 with Retry-After, never 2xx.

The failure is real: the connection is pointed at a server that is not there (PostgreSQL)
or a file that cannot be opened (SQLite); nothing is mocked.
"""

import contextlib

import pytest
from django.db import connection
from django.test import Client


@contextlib.contextmanager
def database_down():
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory/leadflow.sqlite3"
    else:
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_when_the_database_is_down(api):
    with database_down():
        response = api.post("/contacts", {"email": "lost@initech.com"})
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response["Content-Type"] == "application/problem+json"
    from leadflow.contacts.models import Contact

    assert not Contact.objects.filter(email="lost@initech.com").exists()
    assert api.post("/contacts", {"email": "kept@initech.com"}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_health_check_answers_503_when_the_database_is_down():
    client = Client()
    assert client.get("/healthz").status_code == 200
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"]
