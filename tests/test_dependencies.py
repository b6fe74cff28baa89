"""Every library simkeeper's code imports is one its wheel depends on.

The suite's venv holds the test tools too (Babel among them), so a module that imports a
test-only library passes every other test and fails only once installed without them (the web
face's dates once did: 500 on the status page under systemd). This reads every import statement
of the package, those inside functions included, and maps each to the distribution providing it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import simkeeper

PACKAGE = Path(simkeeper.__file__).parent
REPO = PACKAGE.parent.parent


def imported_top_levels(package: Path) -> dict[str, str]:
    """Each top-level module imported anywhere in ``package`` -> one file importing it."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(package)))
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run_time_dependencies() -> set[str]:
    """The dependencies, and those of the optional extras a user installs for a feature
    (``simkeeper[postgresql]``): the ``test`` extra is not one."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra, deps in project.get("optional-dependencies", {}).items():
        if extra != "test":
            wanted += deps
    return {normalized(re.split(r"[<>=!~ \[;]", d)[0]) for d in wanted}


def missing(
    imports: dict[str, str], providers: dict[str, list[str]], wanted: set[str]
) -> list[str]:
    """The imports no run-time dependency provides (stdlib and simkeeper itself aside)."""
    wrong = []
    for top, where in sorted(imports.items()):
        if top in sys.stdlib_module_names or top in ("simkeeper", "__future__"):
            continue
        dists = {normalized(d) for d in providers.get(top, [])}
        if not dists & wanted:
            wrong.append(f"{where} imports {top} (from {sorted(dists) or 'nothing installed'})")
    return wrong


def test_every_library_the_code_imports_is_a_run_time_dependency():
    found = imported_top_levels(PACKAGE)
    assert missing(found, packages_distributions(), run_time_dependencies()) == []


def test_the_check_sees_a_test_only_library(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from babel.dates import format_date\n")
    found = imported_top_levels(tmp_path / "pkg")
    wrong = missing(found, {"babel": ["babel"]}, {"jinja2"})
    assert wrong == ["a.py imports babel (from ['babel'])"]
    assert missing(found, {"babel": ["Babel"]}, {"babel"}) == []
