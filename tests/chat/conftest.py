"""Members who answer chats in the inbox tests: two salespeople with full names."""

import pytest


@pytest.fixture
def sam(make_member):
    user = make_member("sales", "sam@acme-widgets.com").user
    user.full_name = "Sam Rivera"
    user.save()
    return user


@pytest.fixture
def kim(make_member):
    user = make_member("sales", "kim@acme-widgets.com").user
    user.full_name = "Kim Lee"
    user.save()
    return user
