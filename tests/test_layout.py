"""The package's layout: every module imports on its own in a fresh interpreter, and the
static import graph between modules has no circles (a lower module never imports a higher
one, even inside a function)."""

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import shoprec

PACKAGE = Path(shoprec.__file__).parent


def module_names():
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_graph():
    """Edges module -> module it imports, from the source. A subpackage is a node of its own
    (its ``__init__``); the root package is not a target (every module is inside it)."""
    modules = {name: PACKAGE.parent.joinpath(*name.split(".")) for name in module_names()}
    files = {}
    for name, base in modules.items():
        files[name] = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    packages = {name for name, f in files.items() if f.name == "__init__.py"}
    edges = {name: set() for name in files}
    for name, path in files.items():
        here = name if name in packages else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = here.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                submodules = [f"{module}.{alias.name}" for alias in node.names]
                # "from . import x" of a submodule x imports x (and only runs the package's
                # __init__, which is already running or done); other names come from the module.
                targets = submodules if all(s in files for s in submodules) else [module] + submodules
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target in files and target != name and target != "shoprec":
                    edges[name].add(target)
    return edges


def test_no_import_circles():
    edges = import_graph()
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    # The graph is not empty: the check can fail (models import io, io imports errors).
    assert "shoprec.io" in edges["shoprec.models._base"]


def test_every_module_imports_alone():
    def run(name):
        result = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
        return name, result.returncode, result.stderr[-2000:]

    names = [n for n in module_names() if not n.endswith(".export")]  # export needs torch
    with ThreadPoolExecutor(2) as pool:
        failures = [(n, err) for n, code, err in pool.map(run, names) if code != 0]
    assert not failures, failures
