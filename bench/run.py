"""Run every benchmark in bench/ (files named bench_*.py) and print their figures.

Each benchmark reports a ratio against a baseline measured in the same run on the same
machine, so figures compare across machines. Results are also written as JSON under
bench/results/. Set DATABASE_URL to run against PostgreSQL (recommended).
"""

import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    os.environ.setdefault("LEADFLOW_DATA_DIR", tempfile.mkdtemp(prefix="leadflow-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
    selected = sys.argv[1:]
    results = {
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": {},
    }
    sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("bench_*.py")):
        if selected and path.stem not in selected:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        results["runs"][path.stem] = module.run()
        for key, value in results["runs"][path.stem].items():
            print(f"   {key}: {value}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"results-{int(time.time())}.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {results['machine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
