"""Deals' fixtures: the default pipeline, a contact and a helper making deals by the
services (as users do)."""

import pytest

from leadflow.contacts import services as contact_services
from leadflow.deals import services


@pytest.fixture
def pipeline(workspace):
    return services.pipeline_default_ensure(workspace)


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def lead(workspace, owner_actor):
    return contact_services.contact_upsert(
        workspace=workspace,
        data={"email": "ann@initech.com", "first_name": "Ann", "lifecycle_stage": "sql"},
        actor=owner_actor,
    ).contact


@pytest.fixture
def make_deal(workspace, owner_actor, pipeline):
    def make(actor=None, **values):
        values.setdefault("title", "Widgets for Initech")
        return services.deal_create(workspace=workspace, actor=actor or owner_actor, values=values)

    return make


@pytest.fixture
def other_contact(other_workspace):
    from leadflow.core.actors import Actor

    return contact_services.contact_upsert(
        workspace=other_workspace, data={"email": "zed@other-co.com"}, actor=Actor.system()
    ).contact


@pytest.fixture
def make_product(workspace, owner_actor):
    def make(**values):
        values.setdefault("name", "Kite")
        values.setdefault("price", "120.00")
        values.setdefault("currency", "EUR")
        return services.product_create(workspace=workspace, actor=owner_actor, values=values)

    return make
