"""scikit-learn stays off web requests: serving the app never imports it (nor this package).

The learning package imports scikit-learn at module level, so the boundary is what the web
process loads: the WSGI application with every URL and API route resolved.
"""

import os
import subprocess
import sys

CHECK = """
import sys
from leadflow.config.wsgi import application
from django.urls import get_resolver
get_resolver().url_patterns
import leadflow.config.api
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "sklearn"
                or name.startswith("leadflow.scoring.learn"))
print(loaded[:5])
"""


def test_serving_the_app_never_imports_scikit_learn(tmp_path):
    env = {**os.environ, "LEADFLOW_DATA_DIR": str(tmp_path)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
