"""Imports run one way: `workflows` <- `agents` <- `activities` <- the entry points;
inside `agents`, room by room (`core` <- `store` <- `actor` <- `control` <- `runtime` <-
the adapters); no module imports another in a circle; a package reaches another only
through its public modules. Read from the source: every import, those inside functions
and those under `if TYPE_CHECKING:` too (a reader sees a circle whether or not Python
does)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"workflows": 0, "agents": 1, "activities": 2, "temporal_agents": 3}
"""A package may import its own layer and those below: the workflow side knows nothing of
agents, and the agent layer nothing of the bridge that runs workflow effects."""


def _modules() -> dict[str, Path]:
    out = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules an import statement loads (a package's own `__init__` is not
    counted for its submodules: Python loads it first whatever imports them)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = module.split(".")
            package = here if MODULES[module].name == "__init__.py" else here[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([node.module] if node.module else [])])
        submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
        names = submodules if submodules and len(submodules) == len(node.names) else [base, *submodules]
    out = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
            out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    return {
        m: set().union(*[_targets(m, n) for n in _imports(ast.parse(p.read_text()))], set()) for m, p in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _is_demo(module: str) -> bool:
    """The demo app (`agents.demo`, `workflows.demo`, ...): an app like a user's, which may
    import any framework package's public front."""
    return module.split(".")[1:2] == ["demo"]


ROOMS = {
    "core": 0,
    "store": 1,
    "actor": 2,
    "control": 3,
    "runtime": 4,
    "": 4,
    "chat": 5,
    "bridge": 6,
    "http": 6,
    "ws": 6,
    "client": 6,
}
"""The rooms of `agents`, lowest first: `core` (errors, settings, names, keys: no I/O),
`store` (Redis), `actor` (the Agent), `control` (Temporal), the composition root
(`agents.runtime` and the package's front), `chat` (chat agents), then the adapters. A room imports its own
and lower ones."""


def _room(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "agents" or _is_demo(module):
        return None
    return ROOMS[parts[1] if len(parts) > 1 else ""]


def test_no_module_imports_another_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_the_rooms_of_agents_import_only_their_own_and_lower_ones() -> None:
    wrong = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if (here := _room(module)) is not None and (there := _room(target)) is not None and there > here
    ]
    assert wrong == []
    top = sorted(p.name for p in (ROOT / "agents").glob("*.py"))
    assert top == ["__init__.py", "bridge.py", "runtime.py"]  # everything else lives in a room


def test_packages_import_only_downwards_and_only_public_modules_of_others() -> None:
    wrong = []
    for module, targets in _graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if _is_demo(target) and not _is_demo(module):
                wrong.append(f"{module} -> {target}: the framework never imports the demo app")
            elif other == package:
                continue
            elif not _is_demo(module) and LAYERS[other] > LAYERS[package]:
                wrong.append(f"{module} -> {target}: {package} is below {other}")
            elif any(part.startswith("_") for part in target.split(".")[1:]) and not _is_demo(target):
                wrong.append(f"{module} -> {target}: a private module of another package")
    assert wrong == []


def test_the_check_sees_what_it_should() -> None:
    graph = _graph()
    assert "workflows" in graph["agents.control.runs"] or "workflows.contracts" in graph["agents.control.runs"]
    assert "agents.control.ports" in graph["agents.control.runs"]  # an import under TYPE_CHECKING counts
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_lua_lives_in_lua_files() -> None:
    """Scripts are `agents/store/lua/*.lua` resources (loaded by `agents.store.scripts`), not strings in
    Python modules, so Python and Lua never both build the same names."""
    inline = [m for m, path in MODULES.items() if "redis.call(" in path.read_text()]
    assert inline == []
    assert {"run_transition", "state_write", "turn_acquire"} <= {
        p.stem for p in (ROOT / "agents" / "store" / "lua").glob("*.lua")
    }


def test_the_api_process_never_loads_the_worker_machinery() -> None:
    """The API imports the app's modules (agents, workflows, activities) to learn what
    they define; Temporal's worker machinery (about 10 MB of the process) is the worker's,
    and so is the model library the demo chat answers with (1.5 s of the API's start)."""
    code = (
        "import sys, api\n"
        "from agents import AppRegistry, Settings\n"
        "AppRegistry.from_modules(Settings().module_list)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('temporalio.worker', 'pydantic_ai'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
