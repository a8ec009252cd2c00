"""scikit-learn stays off web requests: serving the app never imports it.

The learning package imports scikit-learn at module level in its modules, except its
``__init__`` and ``dataset`` (plain numpy: the feature builder that web code may import
describes its columns with them). So the boundary is what the web process loads: the WSGI
application with every URL and API route resolved.
"""

import os
import subprocess
import sys

SERVE = """
import sys
from leadflow.config.wsgi import application
from django.urls import get_resolver
get_resolver().url_patterns
import leadflow.config.api
print(sorted(name for name in sys.modules if name.split(".")[0] == "sklearn")[:5])
"""
DATASET = """
import sys
from leadflow.scoring.learn.dataset import Dataset, FeatureSpec
print(sorted(name for name in sys.modules if name.split(".")[0] == "sklearn")[:5])
"""
FIT = DATASET.replace("dataset import Dataset, FeatureSpec", "select import model_fit")


def _loaded(code: str, tmp_path) -> str:
    env = {**os.environ, "LEADFLOW_DATA_DIR": str(tmp_path)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_serving_the_app_never_imports_scikit_learn(tmp_path):
    assert _loaded(SERVE, tmp_path) == "[]"


def test_the_dataset_module_is_plain_numpy_and_the_learner_is_not(tmp_path):
    assert _loaded(DATASET, tmp_path) == "[]"
    assert _loaded(FIT, tmp_path) != "[]"  # the check sees scikit-learn when it is there
