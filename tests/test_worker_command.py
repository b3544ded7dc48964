"""``anjian worker`` and ``anjian scheduler``: the RQ processes as commands of the installed
``anjian`` script (a built wheel runs them; ``python worker.py`` is the same, kept for
checkouts). The processes themselves run in test_jobs.py, test_schedules.py and the stack
test; here, their command lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from anjian.cli import main
from anjian.jobs import worker as job_worker

ROOT = Path(__file__).resolve().parents[1]


def anjian_command() -> list[str]:
    exe = Path(sys.executable).parent / "anjian"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "anjian.cli"]


@pytest.fixture
def calls(monkeypatch):
    """No app, no Redis: create_app gives a stand-in configured with Redis, and the
    worker and scheduler loops record how they were called."""
    seen: dict = {"redis": "redis://127.0.0.1:1/0"}

    def create_app():
        seen["apps"] = seen.get("apps", 0) + 1
        return SimpleNamespace(config={"ANJIAN_REDIS_URL": seen["redis"]})

    def run_worker(app, queues=(), **options):
        seen["worker"] = (tuple(queues), options)
        return 0

    def run_scheduler(app):
        seen["scheduler"] = True
        return 0

    monkeypatch.setattr(job_worker, "create_app", create_app)
    monkeypatch.setattr(job_worker, "run_worker", run_worker)
    monkeypatch.setattr(job_worker, "run_scheduler", run_scheduler)
    return seen


def test_worker_and_scheduler_are_commands_with_help():
    # On the group itself (`anjian --help` would build the app to list app.cli's too).
    assert main.commands["worker"] is job_worker.worker
    assert main.commands["scheduler"] is job_worker.scheduler
    runner = CliRunner()
    worker = runner.invoke(main, ["worker", "--help"])
    assert worker.exit_code == 0, worker.output
    for option in ("--burst", "--reap-interval", "--stale-after", "--worker-ttl",
                   "--maintenance-interval", "[QUEUE]..."):
        assert option in worker.output
    scheduler = runner.invoke(main, ["scheduler", "--help"])
    assert scheduler.exit_code == 0, scheduler.output
    assert "ANJIAN_REDIS_URL" in scheduler.output


def test_the_worker_takes_the_options_it_took_as_worker_py(calls):
    runner = CliRunner()
    done = runner.invoke(main, ["worker", "--burst", "--reap-interval", "2", "--stale-after", "7",
                                "--worker-ttl", "20", "--maintenance-interval", "5",
                                "imports", "reports"])
    assert done.exit_code == 0, done.output
    assert calls["worker"] == (("imports", "reports"), {
        "burst": True, "reap_interval": 2.0, "stale_after": 7.0, "worker_ttl": 20,
        "maintenance_interval": 5})
    done = runner.invoke(main, ["worker"])
    assert done.exit_code == 0, done.output
    assert calls["worker"] == ((), {"burst": False, "reap_interval": job_worker.REAP_INTERVAL,
                                    "stale_after": None, "worker_ttl": None,
                                    "maintenance_interval": None})
    done = runner.invoke(main, ["scheduler"])
    assert done.exit_code == 0, done.output
    assert calls["scheduler"] is True


def test_bad_arguments_are_refused_before_any_app_is_built(calls):
    runner = CliRunner()
    for args in (["worker", "nosuchqueue"], ["worker", "--stale-after", "0"],
                 ["worker", "--reap-interval", "-1"], ["worker", "--worker-ttl", "0"],
                 ["scheduler", "default"]):
        done = runner.invoke(main, args)
        assert done.exit_code == 2, (args, done.output)
    assert "apps" not in calls and "worker" not in calls and "scheduler" not in calls


def test_without_redis_both_refuse_with_exit_2(calls):
    calls["redis"] = ""
    runner = CliRunner()
    for command in ("worker", "scheduler"):
        done = runner.invoke(main, [command])
        assert done.exit_code == 2, done.output
        assert "ANJIAN_REDIS_URL" in done.output
    assert "worker" not in calls and "scheduler" not in calls


def test_worker_py_is_the_same_command(calls):
    for argv, expected in ((["--burst", "default"], "worker"), (["--scheduler"], "scheduler")):
        with pytest.raises(SystemExit) as exited:
            job_worker.legacy_main(argv)
        assert exited.value.code == 0
        assert expected in calls
    assert calls["worker"][0] == ("default",) and calls["worker"][1]["burst"] is True


@pytest.mark.parametrize("args", [["worker", "--help"], ["scheduler", "--help"]])
def test_the_installed_command_answers(args):
    done = subprocess.run([*anjian_command(), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f" {args[0]} [OPTIONS]" in done.stdout.splitlines()[0]


def test_the_worker_py_shim_answers():
    for args, usage in ((["--help"], "[QUEUE]..."), (["--scheduler", "--help"], "scheduler")):
        done = subprocess.run([sys.executable, "worker.py", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("Usage: worker.py") and usage in done.stdout
