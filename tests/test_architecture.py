"""House rules the import-linter contracts cannot say, read from the source with `ast`.

- No module uses another module's private name: neither `from x import _y` nor `x._y` on a
  module it imported. A helper two modules share is public, under a name that says what it is.
- No app imports another app's endpoint modules (`api`, `views`, `public`, `public_urls`,
  `urls`): apps meet through services, selectors and hooks registered in `AppConfig.ready`.
  `leadflow.config` is the one place that wires every app's urls and API routers together.
"""

import ast
from pathlib import Path

import leadflow

SOURCE = Path(leadflow.__file__).parent
ENDPOINT_MODULES = {"api", "views", "public", "public_urls", "urls"}
# Importers that wire apps' endpoints together: the assembled urls and API (config), and the
# CLI's `openapi` command, which prints the schema of the API config assembles.
WIRING = {"config", "cli"}


def _module_name(path: Path) -> str:
    parts = ["leadflow", *path.relative_to(SOURCE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.relative_to(SOURCE).parts
    }


MODULES = _modules()


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if MODULES[module].name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _app(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _is_endpoint_module(module: str) -> bool:
    return any(part in ENDPOINT_MODULES for part in module.split(".")[2:])


def _imports(module: str, source: str | None = None) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every leadflow import in `module`."""
    found = []
    for node in ast.walk(ast.parse(source or MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            found += [(source, alias.name) for alias in node.names]
    return [(source, name) for source, name in found if source.split(".")[0] == "leadflow"]


def _private_uses(module: str, source: str | None = None) -> set[str]:
    """`from x import _y` and `x._y` where x is another leadflow module, as 'x._y'."""
    tree = ast.parse(source or MODULES[module].read_text())
    uses = set()
    bound: dict[str, str] = {}  # local name -> leadflow module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("leadflow"):
                    bound[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else "leadflow"
                    )
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if not source.startswith("leadflow"):
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif _is_private(alias.name) and source != module:
                    uses.add(f"{source}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                target = ".".join([bound[value.id], *chain])
                if target in MODULES and target != module:
                    uses.add(f"{target}.{node.attr}")
    return uses


def test_no_module_uses_another_modules_private_names():
    found = {(module, use) for module in MODULES for use in _private_uses(module)}
    assert not found, "private names used across modules:\n" + "\n".join(sorted(map(str, found)))


def _endpoint_imports(module: str, source: str | None = None) -> set[str]:
    """Other apps' endpoint modules `module` imports (none for the wiring: config, cli)."""
    if _app(module) in WIRING:
        return set()
    found = set()
    for imported, name in _imports(module, source):
        target = f"{imported}.{name}" if f"{imported}.{name}" in MODULES else imported
        if _app(target) != _app(module) and _is_endpoint_module(target):
            found.add(target)
    return found


def test_no_app_imports_another_apps_endpoint_modules():
    found = {(module, target) for module in MODULES for target in _endpoint_imports(module)}
    assert not found, "endpoint modules imported across apps:\n" + "\n".join(
        sorted(map(str, found))
    )


def test_the_checks_see_a_private_import_and_an_endpoint_import():
    """The scanner itself, on a made-up module body: a test that cannot fail is a defect."""
    body = """
import leadflow.core.selectors
from leadflow.contacts import services
from leadflow.contacts.services import _hidden, contact_upsert
from ..core import tasks as jobs
from . import views

def f():
    from leadflow.capture.api import router
    services._private_helper()
    leadflow.core.selectors._inner
    jobs._schedule
    services.__doc__
    _own_helper()
"""
    assert _private_uses("leadflow.inbound.services", body) == {
        "leadflow.contacts.services._hidden",
        "leadflow.contacts.services._private_helper",
        "leadflow.core.selectors._inner",
        "leadflow.core.tasks._schedule",
    }
    assert _endpoint_imports("leadflow.inbound.services", body) == {"leadflow.capture.api"}
    assert _endpoint_imports("leadflow.config.urls", body) == set()
    assert _is_endpoint_module("leadflow.capture.api")
    assert _is_endpoint_module("leadflow.web.views.forms")
    assert not _is_endpoint_module("leadflow.capture.services")


LONG_MODULE = 600


def long_modules_without_a_reason(root: Path = SOURCE) -> list[str]:
    """Modules past ~600 lines whose docstring does not say why (the house rule)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        if text.count("\n") > LONG_MODULE:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "Longer than the house's ~600 lines:" not in docstring:
                found.append(str(path.relative_to(root)))
    return found


def test_a_module_past_600_lines_says_why_at_its_top(tmp_path):
    assert long_modules_without_a_reason() == []
    # The check sees a long module without its reason, and accepts one with it.
    (tmp_path / "long.py").write_text('"""A module."""\n' + "x = 1\n" * (LONG_MODULE + 1))
    (tmp_path / "said.py").write_text(
        '"""A module.\n\nLonger than the house\'s ~600 lines: a reason.\n"""\n'
        + "x = 1\n" * (LONG_MODULE + 1)
    )
    assert long_modules_without_a_reason(tmp_path) == ["long.py"]
