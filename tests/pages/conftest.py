import pytest

from leadflow.capture import services as capture_services
from leadflow.pages import counters, services


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    from django.core.cache import cache

    settings.LEADFLOW_PAGE_VIEWS_FLUSH_SECONDS = 3600  # the tests write the views themselves
    cache.clear()
    counters.views_discard()
    yield
    cache.clear()


@pytest.fixture
def page_form(workspace, owner_actor):
    return capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Guide request",
            "min_fill_seconds": 0,
            "fields": [
                {"name": "email", "type": "email", "label": "Email", "required": True},
                {"name": "first_name", "type": "text", "label": "First name"},
            ],
        },
    )


@pytest.fixture
def published(workspace, owner_actor, page_form):
    """A page with variants A and B split 50/50, published."""
    page = services.page_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Spring guide", "slug": "spring-guide", "form_id": page_form.pk},
    )
    services.variant_create(workspace=workspace, page_id=page.pk, actor=owner_actor)
    return services.page_publish(
        workspace=workspace, page_id=page.pk, actor=owner_actor, base_url="http://testserver"
    )
