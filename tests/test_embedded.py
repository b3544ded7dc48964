"""`make run` (``anjian embedded``): a PostgreSQL server of its own under the data folder,
the app served as the unprivileged ``anjian_app`` role under RLS, the server stopped when
the app is stopped with Ctrl-C, and the data found again by the next start."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.services import _free_port, _pid_alive, _read_int

ROOT = Path(__file__).resolve().parents[1]


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http, loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}
ANJIAN = Path(sys.executable).parent / "anjian"


class Embedded:
    """One ``anjian embedded`` process group, its log and its port."""

    def __init__(self, data_dir: Path, log: Path):
        self.port = _free_port()
        self.log = log
        env = {k: v for k, v in os.environ.items()
               if k not in ("ANJIAN_DATABASE_URL", "ANJIAN_MIGRATION_DATABASE_URL",
                            "ANJIAN_REDIS_URL", "ANJIAN_STORAGE_URL", "ANJIAN_TENANTS_DIR")}
        env["ANJIAN_DATA_DIR"] = str(data_dir)
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([str(ANJIAN), "embedded", "--port", str(self.port)],
                                         cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"anjian embedded exited:\n{self.log.read_text()}"
            with contextlib.suppress(OSError):
                if get(self.url("/readyz"))[0] == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"anjian embedded did not get ready:\n{self.log.read_text()}")

    def ctrl_c(self, timeout: float = 60.0) -> int:
        """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def _postmaster(pgdata: Path) -> tuple[int | None, str | None]:
    """The pid and socket folder that ``postmaster.pid`` names (None, None: no server)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None, None
    return _read_int(pgdata / "postmaster.pid"), lines[4].strip()


def test_make_run_serves_on_its_own_postgresql_and_stops_it(tmp_path):
    data = tmp_path / "var"
    pgdata = data / "postgres"
    first = Embedded(data, tmp_path / "first.log")
    postmaster = None
    try:
        first.wait_ready()
        token = re.search(r"ajt_\S+", first.log.read_text()).group(0)
        status, body = get(first.url("/api/v1/tenants"), token)
        assert status == 200
        # tenants/ holds five jurisdictions' files, synced by the same command.
        assert {t["code"] for t in body["items"]} == {
            "changshu", "jinbei", "qhd-etdz", "shenyang-street", "tj-hebei-commerce"}

        postmaster, socket_dir = _postmaster(pgdata)
        assert postmaster is not None and _pid_alive(postmaster)
        with psycopg.connect(host=socket_dir, user="postgres", dbname="anjian") as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]
            assert int(version) >= 180000
            # The app's own connections are the app role's, which bypasses nothing.
            users = {row[0] for row in conn.execute(
                "SELECT usename FROM pg_stat_activity WHERE datname = 'anjian'"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")}
            assert users == {"anjian_app"}
            assert conn.execute(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'anjian_app'"
            ).fetchone() == (False, False)
            forced = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relname = 'enterprises'"
                " AND relrowsecurity AND relforcerowsecurity").fetchone()[0]
            assert forced == 1

        assert first.ctrl_c() == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _pid_alive(postmaster):
            time.sleep(0.1)
        assert not _pid_alive(postmaster), "the postmaster outlived the app"
    finally:
        if first.proc.poll() is None:
            first.kill()

    second = Embedded(data, tmp_path / "second.log")
    try:
        second.wait_ready()
        text = second.log.read_text()
        assert "platform admin exists" in text and "ajt_" not in text
        # The data is the first run's: its token still answers.
        status, body = get(second.url("/api/v1/me"), token)
        assert status == 200 and body["username"] == "admin"
        postmaster, _ = _postmaster(pgdata)
        assert second.ctrl_c() == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _pid_alive(postmaster):
            time.sleep(0.1)
        assert not _pid_alive(postmaster)
    finally:
        if second.proc.poll() is None:
            second.kill()
        pid, _ = _postmaster(pgdata)
        if pid is not None and _pid_alive(pid):
            os.kill(pid, signal.SIGQUIT)
