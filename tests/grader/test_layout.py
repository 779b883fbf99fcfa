"""The layout of grader/: no import cycle between its modules, and no module reaching into
another subpackage's private names (README, "Map").  Read with `ast`; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

GRADER = Path(__file__).resolve().parents[2] / "grader"


def module_name(path: Path) -> str:
    parts = path.relative_to(GRADER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(GRADER.rglob("*.py"))}


def subpackage(module: str) -> str:
    """grader.batch.run -> grader.batch; grader.cli (a top-level module) -> grader."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and MODULES[module].name == "__init__.py"):
        return ".".join(parts[:2])
    return "grader"


def imports(module: str):
    """(imported module, names taken from it, line) for every import in `module`, lazy ones
    (inside functions) included: a cycle through one is a cycle all the same."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:  # `from grader.batch import run`
                    yield f"{target}.{alias.name}", (), node.lineno
                else:
                    yield target, (alias.name,), node.lineno


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t in MODULES and t != m} for m in MODULES}


def test_the_walk_sees_the_whole_package() -> None:
    assert {"grader.cli", "grader.scoring.pipeline", "grader.submission.stage",
            "grader.batch.job", "grader.worker.client"} <= set(MODULES)
    edges = graph()
    assert "grader.submission.stage" in edges["grader.scoring.pipeline"]
    assert "grader.batch.job" in edges["grader.batch.cluster"]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_grader_modules() -> None:
    assert cycles(graph()) == []


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_takes_a_private_name_from_another_subpackage() -> None:
    found = []
    for module, path in MODULES.items():
        own = subpackage(module)
        bound = {}  # local name -> grader module it stands for
        for target, names, line in imports(module):
            if target not in MODULES:
                continue
            for name in names:  # from grader.x.y import _private
                if private(name) and subpackage(target) != own:
                    found.append(f"{module}:{line} takes {target}.{name}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    for target, _, line in imports(module):
                        if (line == node.lineno and target in MODULES
                                and target.rpartition(".")[2] == alias.name.rpartition(".")[2]):
                            bound[local] = target
        for node in ast.walk(tree):  # module._private, the module bound by an import
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and private(node.attr)
                    and subpackage(bound[node.value.id]) != own):
                found.append(f"{module}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    assert found == [], "\n".join(found)
