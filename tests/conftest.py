"""Shared fixtures. The suite runs on PostgreSQL when DATABASE_URL is set, else on SQLite."""

import json

import pytest
from django.test import Client

from leadflow.core.actors import Actor
from leadflow.core.models import ALL_API_SCOPES, Membership, Role
from leadflow.core.services import apikey_create, member_add, workspace_create

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests change forms and submit at once; tests/capture/test_form_cache.py covers caching.
    settings.LEADFLOW_PUBLIC_CACHE_SECONDS = 0


@pytest.fixture
def workspace(db):
    workspace, _ = workspace_create(
        name="Acme Widgets",
        owner_email="owner@acme-widgets.com",
        owner_password=PASSWORD,
        default_country="GB",
    )
    return workspace


@pytest.fixture
def owner(workspace):
    return Membership.objects.get(workspace=workspace, role=Role.OWNER).user


@pytest.fixture
def owner_actor(workspace, owner):
    return Actor.for_user(owner, Membership.objects.get(workspace=workspace, user=owner))


@pytest.fixture
def other_workspace(db):
    workspace, _ = workspace_create(
        name="Other Co", owner_email="owner@other-co.com", owner_password=PASSWORD
    )
    return workspace


@pytest.fixture
def make_member(workspace, owner_actor):
    def make(role: str, email: str | None = None):
        membership, _ = member_add(
            workspace=workspace,
            email=email or f"{role}@acme-widgets.com",
            role=role,
            actor=owner_actor,
            password=PASSWORD,
        )
        return membership

    return make


class ApiClient:
    """A test client that speaks JSON to /api/v1 with a Bearer key."""

    def __init__(self, secret: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def _call(self, method: str, path: str, body=None, headers=None, **extra):
        kwargs = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs, **extra)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self._call("post", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self._call("patch", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def api_key_for(owner_actor):
    def make(workspace, scopes=None):
        _, secret = apikey_create(
            workspace=workspace, name="tests", scopes=scopes or ALL_API_SCOPES, actor=owner_actor
        )
        return ApiClient(secret)

    return make


@pytest.fixture
def api(workspace, api_key_for):
    return api_key_for(workspace)


@pytest.fixture
def other_api(other_workspace, api_key_for):
    return api_key_for(other_workspace)
