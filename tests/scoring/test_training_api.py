"""The conversion model through the API, the page and the command line: versions and
their metrics, training on demand, a contact's prediction; another workspace's ids are
404, bad input is a 4xx naming the field."""

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from leadflow.cli import main
from leadflow.contacts.models import Contact
from leadflow.scoring.models import ConversionModel, ModelStatus
from leadflow.scoring.services import predictions_write
from leadflow.scoring.services.training import model_train
from tests.scoring.history import history_make
from tests.web.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(workspace):
    history_make(workspace, contacts=120, unlabelled=10)
    model = model_train(workspace=workspace)  # 120 outcomes: low data, the frequency model
    predictions_write(workspace_id=workspace.pk)
    return model


def test_models_and_a_contacts_prediction_are_read_through_the_api(api, workspace, trained):
    listed = api.get("/scoring/models").json()["items"]
    assert [item["id"] for item in listed] == [trained.pk]
    assert listed[0]["status"] == "active" and listed[0]["rows"] == 120
    one = api.get(f"/scoring/models/{trained.pk}").json()
    assert one["metrics"]["cv"]["roc_auc"] > 0.5
    assert one["low_data"] and [c["family"] for c in one["candidates"]] == ["frequency"]
    assert any(feature["name"] == "custom.budget" for feature in one["features"])
    contact = Contact.objects.filter(workspace=workspace).order_by("pk").last()
    prediction = api.get(f"/contacts/{contact.pk}/prediction").json()
    assert prediction["probability"] == pytest.approx(contact.conversion_probability)
    assert 3 <= len(prediction["factors"]) <= 5
    assert prediction["model_version"] == trained.version


def test_training_is_queued_once_with_202(api, workspace):
    first = api.post("/scoring/models/train", {"force": True})
    assert first.status_code == 202
    assert first.json()["status"] == "training"
    again = api.post("/scoring/models/train", {})
    assert again.json()["id"] == first.json()["id"]
    assert DBTaskResult.objects.filter(task_path__endswith="tasks.model_train").count() == 1
    assert ConversionModel.objects.get(pk=first.json()["id"]).forced


def test_another_workspaces_models_and_contacts_are_404(api, other_api, trained, workspace):
    contact = Contact.objects.filter(workspace=workspace).first()
    assert other_api.get(f"/scoring/models/{trained.pk}").status_code == 404
    assert other_api.get(f"/contacts/{contact.pk}/prediction").status_code == 404
    assert other_api.get("/scoring/models").json()["items"] == []


def test_bad_input_is_a_4xx_naming_the_field(api, workspace):
    assert api.post("/scoring/models/train", {"force": "maybe"}).status_code == 422
    unknown = api.post("/scoring/models/train", {"forced": True})
    assert unknown.status_code == 422
    assert "forced" in unknown.content.decode()
    assert api.get("/scoring/models?limit=0").status_code == 422
    assert api.get("/scoring/models/abc").status_code == 422
    assert api.get(f"/scoring/models/{2**70}").status_code in (404, 422)
    contact = Contact.objects.create(workspace=workspace, email="new@example.com")
    missing = api.get(f"/contacts/{contact.pk}/prediction")
    assert missing.status_code == 404 and missing.json()["code"] == "no_prediction"


def test_the_model_page_shows_the_model_and_forces_a_rejected_version(
    workspace, owner, trained, other_workspace
):
    rejected = ConversionModel.objects.create(
        workspace=workspace,
        version=trained.version + 1,
        status=ModelStatus.REJECTED,
        family="frequency",
        artifact=trained.artifact,
        message="Not used: its ROC AUC is below the model in use.",
    )
    client = Client()
    client.force_login(owner)
    page = client.get(url(workspace, "settings/scoring/model/"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Calibration" in text and "<svg" in text and "Time hold-out" in text
    assert "Not used: its ROC AUC is below the model in use." in text
    assert f"settings/scoring/model/{rejected.pk}/force/" in text
    forced = client.post(url(workspace, f"settings/scoring/model/{rejected.pk}/force/"))
    assert forced.status_code == 302
    rejected.refresh_from_db()
    trained.refresh_from_db()
    assert (rejected.status, trained.status) == (ModelStatus.ACTIVE, ModelStatus.RETIRED)
    # Another workspace's version is not found; a version in use cannot be forced.
    theirs = ConversionModel.objects.create(workspace=other_workspace, version=1, status="rejected")
    assert (
        client.post(url(workspace, f"settings/scoring/model/{theirs.pk}/force/")).status_code == 404
    )
    again = client.post(url(workspace, f"settings/scoring/model/{rejected.pk}/force/"))
    assert again.status_code in (302, 409)
    rejected.refresh_from_db()
    assert rejected.status == ModelStatus.ACTIVE


def test_train_and_evaluate_on_the_command_line(workspace, capsys):
    history_make(workspace, contacts=120)
    assert main(["scoring", "train", "--workspace", workspace.slug]) == 0
    out = capsys.readouterr()
    assert "candidate" in out.out and "cross-validated ROC AUC" in out.out
    assert "Chosen:" in out.out and "Status: In use" in out.out
    assert "reading outcomes" in out.err  # progress, one line per step off a terminal
    assert main(["scoring", "evaluate", "--workspace", workspace.slug]) == 0
    out = capsys.readouterr().out
    for words in ("ROC AUC", "average precision", "top 10 %", "top 20 %", "lift", "Brier",
                  "Calibration"):  # fmt: skip
        assert words in out
    assert main(["scoring", "evaluate", "--workspace", "nope"]) == 1


def test_the_web_and_the_api_never_load_scikit_learn():
    """A fresh process importing every page and endpoint (the conversion model's among them)
    has not imported scikit-learn or the learner: training runs in the worker only."""
    import os
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup(); "
        "import leadflow.config.urls, leadflow.config.api, leadflow.web.views.scoring_model; "
        "print(sorted(m for m in ('sklearn', 'leadflow.scoring.learn', 'joblib') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "leadflow.config.settings"},
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
