"""`temporal-agents dev | worker | api [--app myapp.agents,myapp.flows]`.

Like `uvicorn app:app` or `celery -A`: run from the folder that holds your package (the
current directory is importable), point `--app` at the modules that define your agents,
workflows and activity groups, and every other setting comes from the environment
(`--help` lists them). An app that does not import fails in one line before anything
starts, and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from agents import Settings

EXIT_APP = 2
"""Exit code of a command whose app does not import (or whose settings are wrong)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_APP
    _importable_here()
    if args.app:
        os.environ["AGENT_MODULES"] = args.app
    try:
        settings = Settings()
    except ValueError as err:
        print(f"temporal-agents: bad setting: {_one_line(err)}", file=sys.stderr)
        return EXIT_APP
    if (problem := app_problem(settings.module_list)) is not None:
        print(f"temporal-agents: {problem}", file=sys.stderr)
        return EXIT_APP
    if args.command == "dev":
        from .dev import run_dev

        return run_dev(settings)
    if args.command == "worker":
        from .worker import run

        run()
    from .api import run

    run()


def app_problem(modules: list[str]) -> str | None:
    """One line saying why the app does not load (which module, what error, the fix),
    or None when every module imports and registers."""
    from agents import AppRegistry

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as err:  # any error of the user's module: say it in one line
            where = _where(err)
            fix = (
                "run from the folder that holds the package, or fix --app / AGENT_MODULES"
                if isinstance(err, ModuleNotFoundError) and err.name and module.startswith(err.name)
                else "fix the module (python -c 'import " + module + "' shows the traceback)"
            )
            return f"the app module {module!r} does not import: {type(err).__name__}: {_one_line(err)}{where}; {fix}"
    try:
        AppRegistry.from_modules(modules)
    except Exception as err:
        return f"the app does not load: {type(err).__name__}: {_one_line(err)}; fix --app / AGENT_MODULES"
    return None


def _importable_here() -> None:
    """The current directory on the path of this process and of the processes it starts,
    as `python -m` and uvicorn do: an app package beside you imports without PYTHONPATH."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([here, *parts])


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _where(err: BaseException) -> str:
    """` (file.py, line N)` of the innermost frame outside the import machinery."""
    if isinstance(err, SyntaxError) and err.filename:
        return f" ({err.filename}, line {err.lineno})"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename]
    return f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""


def _parser() -> argparse.ArgumentParser:
    settings = _settings_help()
    parser = argparse.ArgumentParser(
        prog="temporal-agents",
        description="Durable, human-steerable agents on Temporal and Redis.",
        epilog="Run `temporal-agents <command> --help` for the settings each command reads.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{dev,worker,api}")
    for name, text in (
        (
            "dev",
            "the whole local stack: Temporal (with its UI) and Valkey unless TEMPORAL_ADDRESS / "
            "REDIS_URL point elsewhere, then the worker and the API, restarted if they die",
        ),
        ("worker", "the Temporal worker of your app (what `python worker.py` runs)"),
        ("api", "the HTTP and WebSocket API of your app (what `python api.py` runs)"),
    ):
        sub = commands.add_parser(
            name,
            help=text,
            description=text,
            epilog=settings,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--app",
            metavar="MODULES",
            help="comma-separated modules of your app (sets AGENT_MODULES; the current directory is importable)",
        )
    return parser


def _settings_help() -> str:
    """Every setting, its environment variable and default, and what it does."""
    lines = ["settings (environment variables; a .env is not read):"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default in (None, "", {}) else f" (default {default})"
        if name in ("api_keys", "jwt_secret"):
            shown = ""
        about = " ".join((field.description or "").split())
        lines.append(f"  {name.upper()}{shown}")
        if about:
            lines.append(f"      {about}")
    return "\n".join(lines)
