"""The import graph of ``proctor_web`` has no cycle (house rule 15), read from the source.

Every ``import`` counts, at module level or inside a function or an ``if TYPE_CHECKING``
block: an import moved into a function body still ties the two modules together. A
package's implicit import by its submodules does not count (Python does that for every
package); ``from package import name`` counts as an import of the submodule ``name`` when
there is one, else of the package.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import proctor_web

PACKAGE = Path(proctor_web.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".")
        if not is_package:
            base.pop()
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
            for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            for target in _imported(node, name, path.name == "__init__.py", known):
                while target and target not in known:  # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the whole package was read
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError("import cycle: " + " -> ".join(cycle.args[1])) from None


def test_the_reader_sees_imports_inside_functions() -> None:
    """The check itself: a cycle made of a function-body import is found."""
    tree = ast.parse("def f():\n    from proctor_web.services import outbox\n")
    targets = [t for node in ast.walk(tree)
               for t in _imported(node, "proctor_web.tasks.jobs", False,
                                  {"proctor_web.services.outbox"})]
    assert targets == ["proctor_web.services.outbox"]
    graph = {"a": {"b"}, "b": {"a"}}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        pass
    else:
        raise AssertionError("a two-module cycle was not found")


def test_the_lifecycle_imports_none_of_its_subscribers() -> None:
    graph = import_graph()
    lifecycle = {name for name in graph if name.startswith("proctor_web.services.attempts")}
    reached: set[str] = set()
    todo = list(lifecycle)
    while todo:
        for target in graph[todo.pop()]:
            if target not in reached:
                reached.add(target)
                todo.append(target)
    subscribers = {"proctor_web.services.provider_sync", "proctor_web.services.notifications",
                   "proctor_web.services.reviews", "proctor_web.services.registration",
                   "proctor_web.lti.grades", "proctor_web.tasks.dispatch"}
    assert reached.isdisjoint(subscribers), reached & subscribers
