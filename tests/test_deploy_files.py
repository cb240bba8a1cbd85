"""docker-compose.yml and Dockerfile, checked without a Docker engine (none runs here):
services, ports, settings names, and that every command our image runs is in it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from agents import Settings
from devstack import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _copied() -> set[str]:
    """Paths the Dockerfile copies into the image (relative to /app)."""
    out: set[str] = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            *sources, _dest = line.split()[1:]
            out.update(s.rstrip("/") for s in sources)
    return out


def test_the_stack_has_every_service_with_its_ports() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgresql", "temporal", "temporal-setup", "temporal-ui", "redis", "worker", "api"}
    assert "8000:8000" in services["api"]["ports"]
    assert "8233:8080" in services["temporal-ui"]["ports"]
    assert "7233:7233" in services["temporal"]["ports"]
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]
    for name in ("postgresql", "temporal", "redis", "api"):
        assert "healthcheck" in services[name], name


def test_worker_and_api_use_the_settings_names_and_wait_for_their_dependencies() -> None:
    fields = set(Settings.model_fields)
    for name in ("worker", "api"):
        service = COMPOSE["services"][name]
        env = service["environment"]
        assert {"TEMPORAL_ADDRESS", "REDIS_URL", "TASK_QUEUE", "AGENT_MODULES"} <= set(env)
        unknown = {key for key in env if key.lower() not in fields}
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233" and env["REDIS_URL"].startswith("redis://redis:6379")
        assert service["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"
        assert service["build"] == "."


def test_search_attributes_are_registered_at_start() -> None:
    command = " ".join(COMPOSE["services"]["temporal-setup"]["command"])
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert f"--name {name} --type {kind}" in command


def test_every_command_our_image_runs_is_in_the_image() -> None:
    assert re.search(r"^FROM python:3\.1[1-9]", DOCKERFILE, re.M), "the image must ship python"
    copied = _copied()
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in packages:
        assert pattern.rstrip("*") in copied, f"package {pattern} is not copied into the image"
    cmd = re.search(r'^CMD \["python", "(\S+)"\]', DOCKERFILE, re.M)
    assert cmd and cmd.group(1) in copied
    for name in ("worker", "api"):
        service = COMPOSE["services"][name]
        program, script = service["command"]
        assert program == "python" and script in copied
        test = service.get("healthcheck", {}).get("test", ["CMD", "python"])
        assert test[1] == "python"
