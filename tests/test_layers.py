"""The floors of the house (ARCHITECTURE.md), checked over the real import graph.

`make test` runs import-linter's contracts from pyproject.toml too; this walks every import
statement itself (those inside functions and under ``TYPE_CHECKING`` included), so the order
holds even for an import that only runs on one path, and adds what a layers contract does not
say: no module of simkeeper imports, through any chain, a module that imports it back.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import simkeeper

PACKAGE = Path(simkeeper.__file__).parent
ROOT = PACKAGE.parent.parent


def layers() -> list[set[str]]:
    """The layers contract of pyproject.toml, top floor first: each a set of packages."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["type"] == "layers"]
    return [{p.strip() for p in re.split(r"[|:]", layer)} for layer in contract["layers"]]


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(package: Path) -> dict[str, set[str]]:
    """Every module of ``package`` and the modules of that package it imports, anywhere in its
    text (a ``from p import m`` of a submodule ``m`` counts as importing ``p.m``)."""
    root = package.name
    known = {module_name(p, package) for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                subs = {f"{base}.{a.name}" for a in node.names} & known
                found.update(subs or {base})
        graph[name] = {m for m in found if m.split(".")[0] == root and m in known} - {name}
    return graph


def floor(module: str, order: list[set[str]]) -> int | None:
    """The index of the layer holding ``module`` (0: the top floor), None for the root."""
    for i, layer in enumerate(order):
        if any(module == p or module.startswith(p + ".") for p in layer):
            return i
    return None


def package_of(module: str, order: list[set[str]]) -> str | None:
    for layer in order:
        for p in layer:
            if module == p or module.startswith(p + "."):
                return p
    return None


def upward(graph: dict[str, set[str]], order: list[set[str]]) -> list[str]:
    """Imports that go up a floor, or sideways between packages of one floor."""
    wrong = []
    for module, targets in sorted(graph.items()):
        mine = floor(module, order)
        for target in sorted(targets):
            theirs = floor(target, order)
            if mine is None or theirs is None:
                continue  # the root package (its __version__) is below every floor
            same = package_of(module, order) == package_of(target, order)
            if theirs < mine or (theirs == mine and not same):
                wrong.append(f"{module} -> {target}")
    return wrong


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_a_floor_above_its_own():
    order = layers()
    graph = imports(PACKAGE)
    unplaced = [m for m in graph if floor(m, order) is None and m not in ("simkeeper",)]
    assert unplaced == [], "every module belongs to a floor of the layers contract"
    assert upward(graph, order) == []


def test_no_import_circle_between_any_two_modules():
    assert circles(imports(PACKAGE)) == []


def test_the_checks_see_a_lazy_upward_import_and_a_circle(tmp_path):
    """The two checks above can fail: a planted package with an upward import inside a
    function and a circle through a ``TYPE_CHECKING`` import is caught by both."""
    pkg = tmp_path / "house"
    for sub in ("low", "high"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from house.high import b\n")
    (pkg / "high" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..high import c\n"
    )
    (pkg / "high" / "c.py").write_text("from house.high.b import x\n")
    order = [{"house.high"}, {"house.low"}]
    graph = imports(pkg)
    assert upward(graph, order) == ["house.low.a -> house.high.b"]
    assert circles(graph) == [["house.high.b", "house.high.c"]]
