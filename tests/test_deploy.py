"""The deployment files, checked without a container engine or a cluster: the Kubernetes
manifests against the Kubernetes schemas and the compose file against the Compose
Specification (both offline), then what the schemas cannot see — probes that ask the app for
routes it has, an unprivileged user everywhere, settings that exist, the migration first.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft7Validator
from jsonschema import ValidationError as SchemaError
from limits.storage import storage_from_string

from app.access import PUBLIC, declared_routes
from app.cli import cli
from app.config import Environment, Settings
from app.main import create_app
from tests.support import deployment

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_SCHEMA = ROOT / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
# The oldest Kubernetes the manifests claim to fit, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.35", kubernetes_validate.latest_version()]
APP_COMPONENTS = {"web", "worker", "migrate"}

Manifest = dict[str, Any]


# --- reading the files ---------------------------------------------------------------------


def _manifests() -> list[Manifest]:
    documents: list[Manifest] = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def _one(kind: str, name: str) -> Manifest:
    [found] = [m for m in _manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def _pod_templates() -> Iterator[tuple[str, Manifest]]:
    """(component, pod template) of every Deployment and Job."""
    for manifest in _manifests():
        if manifest["kind"] in ("Deployment", "Job"):
            template = manifest["spec"]["template"]
            yield template["metadata"]["labels"]["app.kubernetes.io/component"], template


def _app_pods() -> list[Manifest]:
    return [pod for component, pod in _pod_templates() if component in APP_COMPONENTS]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return compose


def _image_uid() -> int:
    [user] = deployment.arguments(deployment.stages()[-1], "USER")
    return int(user.split(":")[0])  # a name would fail here: runAsNonRoot needs a number


def _settings_from(environment: dict[str, str]) -> Settings:
    """Settings as a process given these DEVEX_ variables reads them: from its environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        return Settings()


# Production refuses to start without these; the values only have to look real.
PRODUCTION_SECRETS = {
    "DEVEX_ENV": "production",
    "DEVEX_SECRET_KEY": "x" * 40,
    "DEVEX_SMTP_URL": "smtp://mail.example:25",
    "DEVEX_STRIPE_SECRET_KEY": "sk_live_example",
    "DEVEX_STRIPE_WEBHOOK_SECRET": "whsec_example",
}


# --- the schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_follows_the_kubernetes_schemas_offline(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*_args: object) -> None:
        raise AssertionError("the validation tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    manifests = _manifests()
    for manifest in manifests:
        # strict: a field Kubernetes does not know (a typo) is an error, not ignored.
        kubernetes_validate.validate(manifest, version, strict=True)
    assert {m["kind"] for m in manifests} == {
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "Job",
        "PodDisruptionBudget",
    }


def test_the_kubernetes_validation_refuses_a_mistake() -> None:
    web = copy.deepcopy(_one("Deployment", "devex-web"))
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSIONS[0], strict=True)


def _compose_validator() -> Draft7Validator:
    return Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))


def test_the_compose_file_follows_the_compose_specification() -> None:
    _compose_validator().validate(_compose())


def test_the_compose_validation_refuses_a_mistake() -> None:
    compose = _compose()
    compose["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    with pytest.raises(SchemaError):
        _compose_validator().validate(compose)


# --- what the schemas cannot see -----------------------------------------------------------


def _public_get_routes() -> set[str]:
    """What anyone may GET: a probe carries no session."""
    app = create_app(Settings(env=Environment.TEST, database_url="sqlite://"))
    app.state.github.close()
    return {
        route.path
        for route in declared_routes(app)
        if route.method == "GET" and route.access is PUBLIC
    }


def _image_health_check_path() -> str:
    [healthcheck] = deployment.arguments(deployment.stages()[-1], "HEALTHCHECK")
    [url] = re.findall(r"https?://[^'\"\s]+", healthcheck)
    return urlsplit(str(url)).path


def test_the_probes_ask_the_app_for_routes_it_has() -> None:
    web = _one("Deployment", "devex-web")["spec"]["template"]["spec"]["containers"][0]
    # DESIGN: readiness is the database at the latest migration, liveness the process alone.
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    probed = {
        probe["httpGet"]["path"]
        for _, pod in _pod_templates()
        for container in pod["spec"]["containers"]
        for key in ("readinessProbe", "livenessProbe", "startupProbe")
        if "httpGet" in (probe := container.get(key, {}))
    }
    probed.add(_image_health_check_path())
    assert probed <= _public_get_routes(), probed - _public_get_routes()


def test_the_ports_and_names_that_tie_the_manifests_together_agree() -> None:
    containers = {component: pod["spec"]["containers"][0] for component, pod in _pod_templates()}
    web = containers["web"]
    [image_port] = deployment.arguments(deployment.stages()[-1], "EXPOSE")
    assert [p["containerPort"] for p in web["ports"]] == [int(image_port)]
    command = web.get("command", deployment.image_command())
    assert command[command.index("--port") + 1] == image_port
    for component, container in containers.items():
        port_names = {p["name"] for p in container.get("ports", [])}
        for key in ("readinessProbe", "livenessProbe", "startupProbe"):
            for action in ("httpGet", "tcpSocket"):
                port = container.get(key, {}).get(action, {}).get("port")
                assert port is None or port in port_names, (component, key, port)
    pods = [pod for _, pod in _pod_templates()]
    for manifest in _manifests():
        spec = manifest["spec"]
        if manifest["kind"] == "Deployment":
            assert (
                spec["selector"]["matchLabels"].items()
                <= spec["template"]["metadata"]["labels"].items()
            )
        if manifest["kind"] == "Service":
            [pod] = [p for p in pods if spec["selector"].items() <= p["metadata"]["labels"].items()]
            names = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
            assert {port["targetPort"] for port in spec["ports"]} <= names
    service = _one("Service", "devex-web")
    [rule] = _one("Ingress", "devex")["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert _one("HorizontalPodAutoscaler", "devex-web")["spec"]["scaleTargetRef"]["name"] == (
        "devex-web"
    )
    budget = _one("PodDisruptionBudget", "devex-web")["spec"]["selector"]["matchLabels"]
    assert budget == _one("Deployment", "devex-web")["spec"]["selector"]["matchLabels"]


def test_the_image_and_every_pod_run_as_an_unprivileged_user() -> None:
    uid = _image_uid()
    assert uid != 0
    for component, pod in _pod_templates():
        security = pod["spec"]["securityContext"]
        assert security["runAsNonRoot"] is True, component
        assert security["runAsUser"] != 0, component
        if component in APP_COMPONENTS:
            assert security["runAsUser"] == uid, component
        for container in pod["spec"]["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, component
            assert context["readOnlyRootFilesystem"] is True, component
            assert context["capabilities"]["drop"] == ["ALL"], component
    # The app writes only temporary files: /tmp is a volume of its own in every app pod.
    for pod in _app_pods():
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        mounts = pod["spec"]["containers"][0]["volumeMounts"]
        [mount] = [m for m in mounts if m["mountPath"] == "/tmp"]  # noqa: S108 - the pod's own
        assert "emptyDir" in volumes[mount["name"]]


def test_the_image_installs_the_lock_in_a_build_stage_and_ships_only_the_result() -> None:
    builder, final = deployment.stages()[0], deployment.stages()[-1]
    assert len(deployment.stages()) >= 2
    runs = deployment.arguments(builder, "RUN")
    [install_lock] = [run for run in runs if "requirements/runtime.txt" in run]
    [install_app] = [run for run in runs if "-e ." in run]
    assert "--require-hashes" in install_lock
    assert "--no-deps" in install_app
    assert not [run for run in deployment.arguments(final, "RUN") if "pip" in run]
    builder_name = deployment.arguments(builder, "FROM")[0].split()[-1]
    copied = [
        c for c in deployment.arguments(final, "COPY") if c.startswith(f"--from={builder_name}")
    ]
    # The virtual environment and the app, at the paths the editable install recorded.
    assert {tuple(c.split()[1:]) for c in copied} == {
        ("/opt/venv", "/opt/venv"),
        ("/srv/devex", "/srv/devex"),
    }
    assert (
        deployment.arguments(builder, "FROM")[0].split()[0]
        == deployment.arguments(final, "FROM")[0]
    )
    assert deployment.arguments(final, "HEALTHCHECK")


def test_the_image_holds_no_setting_and_only_files_the_build_context_lets_in() -> None:
    for instruction, arguments in deployment.dockerfile():
        if instruction in ("ENV", "ARG"):
            assert "DEVEX_" not in arguments
            assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY", arguments, re.I), arguments
    ignore = [
        line
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert ignore[0] == "*"  # everything is left out but what is let back in
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert not any("env" in name for name in allowed)  # production.env stays out
    for stage in deployment.stages():
        for copy_arguments in deployment.arguments(stage, "COPY"):
            if copy_arguments.startswith("--from="):
                continue
            *sources, _destination = copy_arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is left out of the context"


def _compose_devex_variables() -> dict[str, dict[str, str]]:
    return {
        name: {k: v for k, v in service.get("environment", {}).items() if k.startswith("DEVEX_")}
        for name, service in _compose()["services"].items()
    }


def _kubernetes_devex_variables() -> dict[str, dict[str, str]]:
    return {
        component: {
            e["name"]: e["value"]
            for e in pod["spec"]["containers"][0].get("env", [])
            if e["name"].startswith("DEVEX_")
        }
        for component, pod in _pod_templates()
    }


def _example_variables() -> set[str]:
    text = (DEPLOY / "production.env.example").read_text()
    return set(re.findall(r"^#? ?(DEVEX_[A-Z0-9_]+)=", text, re.M))


def test_every_devex_variable_the_deployment_sets_is_a_setting() -> None:
    settings = {f"DEVEX_{name.upper()}" for name in Settings.model_fields}
    named = _example_variables()
    for variables in [
        *_compose_devex_variables().values(),
        *_kubernetes_devex_variables().values(),
    ]:
        named |= set(variables)
    assert {"DEVEX_DATABASE_URL", "DEVEX_RATE_LIMIT_STORAGE", "DEVEX_WEB_WORKERS"} <= named
    assert named <= settings, named - settings


def test_several_web_processes_share_a_rate_limit_store_the_deployment_runs() -> None:
    compose = _compose()
    web = _compose_devex_variables()["web"]
    assert int(web["DEVEX_WEB_WORKERS"]) > 1
    del web["DEVEX_DATABASE_URL"]  # compose fills in its password
    # Production starts with what compose gives the web service...
    settings = _settings_from({**PRODUCTION_SECRETS, **web})
    # ...on a store the installed libraries can use, kept by a service of the same file.
    storage_from_string(settings.rate_limit_storage)
    assert urlsplit(settings.rate_limit_storage).hostname in compose["services"]
    assert "redis" in compose["services"]["web"]["depends_on"]

    # Kubernetes runs one process per pod, but several pods: the same store, in the cluster.
    assert _one("HorizontalPodAutoscaler", "devex-web")["spec"]["minReplicas"] > 1
    pod = _settings_from({**PRODUCTION_SECRETS, **_kubernetes_devex_variables()["web"]})
    storage_from_string(pod.rate_limit_storage)
    services = {m["metadata"]["name"] for m in _manifests() if m["kind"] == "Service"}
    assert urlsplit(pod.rate_limit_storage).hostname in services


def test_the_migration_runs_before_the_web_and_the_workers() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["devex", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    # "healthy" means PostgreSQL accepts connections, not merely that its container started.
    [kind, check] = services["db"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert shlex.split(check)[0] == "pg_isready"
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["worker"]["deploy"]["replicas"] == 2

    # Kubernetes has no order between objects: the Job runs the same image, and a web pod
    # gets traffic only when /readyz finds every migration of that image applied.
    job = _one("Job", "devex-migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["devex", "db", "upgrade"]
    assert job["restartPolicy"] == "Never"
    images = {pod["spec"]["containers"][0]["image"] for pod in _app_pods()}
    assert len(images) == 1, images


def _commands() -> list[list[str]]:
    """Every `devex …` command the image, compose and the manifests run."""
    commands = [deployment.image_command()]
    commands += [s["command"] for s in _compose()["services"].values() if "command" in s]
    commands += [
        c["command"] for pod in _app_pods() for c in pod["spec"]["containers"] if "command" in c
    ]
    return [devex for command in commands if (devex := deployment.as_devex(command))[0] == "devex"]


def test_every_web_process_runs_as_the_image_starts_it_without_docstrings() -> None:
    """-OO keeps each web process under its memory target (issue 18, point 6); the bytecode for
    it is compiled in the build, since the running image cannot write any."""
    command = deployment.image_command()
    interpreter, *options = command[: command.index("-m")]
    assert interpreter == "python"
    assert "-OO" in options
    [web] = _one("Deployment", "devex-web")["spec"]["template"]["spec"]["containers"]
    # Both run the image's own command: one place to change it.
    assert "command" not in web
    assert "args" not in web  # which would replace the image's CMD too
    assert "command" not in _compose()["services"]["web"]
    builder = deployment.stages()[0]
    [compile_all] = [r for r in deployment.arguments(builder, "RUN") if "compileall" in r]
    assert re.search(r"-o 2\b", compile_all)
    assert re.search(r"-o 0\b", compile_all)


def test_a_web_process_without_docstrings_serves_what_the_app_describes(
    settings: Settings,
) -> None:
    server, url = deployment.serve(settings)
    try:
        served = httpx2.get(f"{url}/api/v1/openapi.json", timeout=60).json()
        pages = {
            (path, lang): httpx2.get(f"{url}{path}", params={"lang": lang}, timeout=60)
            for path in ("/", "/opportunities", "/api/v1/opportunities")
            for lang in ("en", "fr")
        }
        missing = httpx2.get(f"{url}/api/v1/opportunities/999999", timeout=60)
    finally:
        deployment.stop([server])
    # Every description the API publishes, none of them lost with the docstrings.
    assert served == json.loads(json.dumps(create_app(settings).openapi()))
    assert {key: page.status_code for key, page in pages.items()} == dict.fromkeys(pages, 200)
    assert '<html lang="fr' in pages["/", "fr"].text
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_every_command_the_deployment_runs_is_one_the_cli_has() -> None:
    commands = _commands()
    assert {" ".join(c[:3]) for c in commands} >= {
        "devex serve --host",
        "devex worker",
        "devex db upgrade",
    }
    for command in commands:
        # --help after the real arguments: they are parsed (an unknown option fails), nothing runs.
        result = CliRunner().invoke(cli, [*command[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_a_web_process_loads_no_library_only_migrations_feeds_or_workers_need() -> None:
    """Each web process's memory (issue 18, point 6): Alembic and Mako serve only the migration
    job, feedgen and lxml only the Atom feed, procrastinate only the workers (a web process
    writes the jobs table itself); the readiness probe reads the schema's revision without
    Alembic."""
    unwanted = ("alembic", "mako", "feedgen", "lxml", "procrastinate")
    script = (
        "import sys; import app.main; app.main.create_app();"
        f"print(' '.join(m for m in {unwanted!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert loaded == []
