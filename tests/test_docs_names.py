"""The names the architecture docs give must exist, so the docs cannot rot silently.

Read from docs/architecture.md, docs/conditions.md, docs/import.md and decisions 0018-0019:

- every dotted name of our code, written `leadflow.x.y` or, in backticks, `x.y` with `x` one
  of our apps (`contacts.services.lead_receive`), imports and resolves attribute by
  attribute; a Django label `app.Model` resolves in the app's models;
- every keyword a dotted call names (`lead_receive(workspace=, contact=, arrival=)`) is a
  parameter of that callable;
- every file path (`src/leadflow/...`, `leadflow/...`, `contacts/services/leads.py`,
  `tests/...`, `docs/...`) and every relative link to another page exists;
- every Python code block parses; its `from leadflow... import ...` names resolve and the
  keyword arguments of calls to those names are parameters of theirs.

Names of the apps not written yet (scoring, sales, deals, ...) are skipped while their
package does not exist; once it does, they are checked like any other.
"""

import ast
import contextlib
import importlib
import inspect
import re
import tomllib
from pathlib import Path

import pytest

import leadflow

SOURCE = Path(leadflow.__file__).parent
ROOT = SOURCE.parent.parent
DOCS = [
    ROOT / "docs" / "architecture.md",
    ROOT / "docs" / "conditions.md",
    ROOT / "docs" / "import.md",
    ROOT / "docs" / "scoring.md",
    *sorted((ROOT / "docs" / "scoring").glob("*.md")),
    *sorted((ROOT / "docs" / "sales").glob("*.md")),
    *sorted((ROOT / "docs" / "nurture").glob("*.md")),
    *sorted((ROOT / "docs" / "contacts").glob("*.md")),
    *sorted((ROOT / "docs" / "pages").glob("*.md")),
    *sorted((ROOT / "docs" / "capture").glob("*.md")),
    *sorted((ROOT / "docs" / "chat").glob("*.md")),
    ROOT / "docs" / "deals.md",
    ROOT / "docs" / "home.md",
    ROOT / "docs" / "nurture" / "segments.md",
    *sorted((ROOT / "docs" / "decisions").glob("001[89]-*.md")),
]
# leadflow's apps and top-level modules (cli, server, demo, ...)
APPS = {path.name for path in SOURCE.iterdir() if (path / "__init__.py").exists()} | {
    path.stem for path in SOURCE.glob("*.py")
}
NEXT_APPS = {"scoring", "sales", "deals", "nurture", "pages", "chat", "integrations", "analytics"}

CODE_SPAN = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(r"\b((?:leadflow\.)?[a-z_]+(?:\.[A-Za-z_]\w*)+)(\((?:[^()]|\([^()]*\))*\))?")
PATH = re.compile(r"^(?:src/)?[\w.-]+(?:/[\w.-]+)+/?$")
LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
KEYWORD = re.compile(r"(?:^|[,\s])(\w+)=")


class NotYetWritten(Exception):
    """A name of an app that is not written yet."""


def _resolve(dotted: str):
    """The object a dotted name of ours stands for; LookupError naming what is missing."""
    parts = dotted.split(".")
    if parts[0] != "leadflow":
        parts.insert(0, "leadflow")
    if len(parts) > 1 and parts[1] not in APPS:
        if parts[1] in NEXT_APPS:
            raise NotYetWritten(dotted)
        raise LookupError(f"{dotted}: leadflow has no app {parts[1]!r}")
    if parts[1:] == ["__main__"]:  # importing it would run the command line
        return SOURCE / "__main__.py"
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        rest = parts[cut:]
        if cut == 2 and len(rest) == 1 and rest[0][:1].isupper():
            # A Django label ("contacts.ActivityWatermark") names a model of the app.
            with contextlib.suppress(ModuleNotFoundError):
                found = importlib.import_module(".".join([*parts[:2], "models"]))
        for name in rest:
            if not hasattr(found, name):
                raise LookupError(f"{dotted}: {found.__name__} has no {name!r}")
            found = getattr(found, name)
        return found
    raise LookupError(f"{dotted}: no such module")


def _keywords_missing(target, keywords) -> list[str]:
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [keyword for keyword in keywords if keyword not in parameters]


def _is_ours(dotted: str) -> bool:
    first = dotted.split(".")[0]
    return first == "leadflow" or first in APPS or first in NEXT_APPS


def _prose(text: str) -> str:
    return PYTHON_BLOCK.sub("", text)


def _dotted_problems(doc: Path) -> list[str]:
    problems = []
    text = _prose(doc.read_text())
    spans = CODE_SPAN.findall(text)
    bare = [m.group(0) for m in re.finditer(r"(?<![\w/.-])leadflow(?:\.\w+)+", text)]
    for candidate in [*spans, *bare]:
        if "/" in candidate:
            continue
        for match in DOTTED.finditer(candidate):
            dotted, call = match.group(1), match.group(2)
            if not _is_ours(dotted) or dotted.split(".")[-1] in {"py", "md", "txt", "html"}:
                continue
            try:
                found = _resolve(dotted)
            except NotYetWritten:
                continue
            except LookupError as missing:
                problems.append(f"{doc.name}: {missing}")
                continue
            if call:
                # The call's own keywords: a nested call's (`arrival=Arrival(...)`) are left out.
                own = re.sub(r"\([^()]*\)", "", call[1:-1])
                for keyword in _keywords_missing(found, KEYWORD.findall(own)):
                    problems.append(f"{doc.name}: {dotted}() takes no {keyword!r}")
    return problems


def _path_problems(doc: Path) -> list[str]:
    problems = []
    text = _prose(doc.read_text())
    for span in CODE_SPAN.findall(text):
        path = span.strip()
        if "<" in path or " " in path or not PATH.match(path) or "://" in path:
            continue
        first = path.removeprefix("src/").removeprefix("leadflow/").split("/")[0]
        if path.startswith(("src/", "leadflow/")):
            where = ROOT / "src" / path.removeprefix("src/")
        elif first in ("tests", "docs", "bench"):
            where = ROOT / path
        elif first in APPS:
            where = SOURCE / path
        elif first in NEXT_APPS:
            continue
        else:
            continue
        where = Path(str(where).split("::")[0])
        if not where.exists():
            problems.append(f"{doc.name}: no file {path}")
    for link in LINK.findall(text):
        if "://" not in link and not (doc.parent / link).exists():
            problems.append(f"{doc.name}: broken link {link}")
    return problems


def _code_problems(doc: Path) -> list[str]:
    problems = []
    for block in PYTHON_BLOCK.findall(doc.read_text()):
        try:
            tree = ast.parse(block)
        except SyntaxError as error:
            problems.append(f"{doc.name}: a code block does not parse: {error}")
            continue
        imported = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leadflow"):
                for alias in node.names:
                    try:
                        imported[alias.asname or alias.name] = _resolve(
                            f"{node.module}.{alias.name}"
                        )
                    except NotYetWritten:
                        continue
                    except LookupError as missing:
                        problems.append(f"{doc.name}: {missing}")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            chain, func = [], node.func
            while isinstance(func, ast.Attribute):
                chain.insert(0, func.attr)
                func = func.value
            if not isinstance(func, ast.Name) or func.id not in imported:
                continue
            target = imported[func.id]
            for name in chain:
                target = getattr(target, name, None)
            if target is None:
                problems.append(f"{doc.name}: {func.id}.{'.'.join(chain)} does not exist")
                continue
            keywords = [keyword.arg for keyword in node.keywords if keyword.arg]
            for keyword in _keywords_missing(target, keywords):
                problems.append(f"{doc.name}: {func.id}() takes no {keyword!r}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_the_names_a_doc_gives_exist(doc):
    problems = _dotted_problems(doc) + _path_problems(doc) + _code_problems(doc)
    assert not problems, "\n".join(problems)


def test_a_wrong_name_is_caught(tmp_path):
    """The checks can fail: a planted wrong name, keyword, path and import are each named."""
    doc = tmp_path / "planted.md"
    doc.write_text(
        "`contacts.services.lead_recieve` and `leadflow.contacts.activity_log.activities_announce"
        "(workspace=, contacts=, up_to_id=)` in `contacts/services/leeds.py`, see [x](nope.md).\n"
        "`contacts.services.lead_receive(workspace=..., lead=..., arrival=Arrival(actor=...))`\n"
        "```python\nfrom leadflow.core.publickit import cors, site_alowed\n"
        "from leadflow.contacts.services import Arrival\n"
        "Arrival(actor=None, submitted={}, stage_why='')\n```\n"
    )
    problems = "\n".join(_dotted_problems(doc) + _path_problems(doc) + _code_problems(doc))
    for wrong in ("lead_recieve", "'contacts'", "leeds.py", "nope.md", "site_alowed", "stage_why"):
        assert wrong in problems
    assert "takes no 'lead'" in problems and "'actor'" not in problems  # Arrival's, not its


def test_the_layers_drawn_are_the_contract():
    """docs/architecture.md draws the first import-linter contract of pyproject.toml: its
    rows naming leadflow modules are the contract's layers, in order (the "next" rows name
    apps not written yet)."""
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = contract["contracts"][0]["layers"]
    text = (ROOT / "docs" / "architecture.md").read_text()
    drawing = text.split("## The layers", 1)[1].split("```", 2)[1]
    drawn = [
        found.group(0)
        for line in drawing.splitlines()
        if (found := re.search(r"leadflow\.\w+(?: \| leadflow\.\w+)*", line))
    ]
    assert drawn == layers
