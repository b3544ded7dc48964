"""The whole stack as real processes, for tests/test_stack.py (and anyone who needs it).

Uses the session's services from ``tests/services.py`` (PostgreSQL cluster, Redis,
moto S3) and starts beside them, natively, what a deployment runs:

* migrations as a one-shot (``anjian db upgrade`` as the owner) into a database of
  its own (``anjian_stack``) on the session's cluster; the app connects as
  ``anjian_app`` (RLS applies);
* gunicorn with ``deploy/gunicorn.conf.py`` (2 sync workers) on a free port;
* ``anjian worker`` processes and the one scheduler (``anjian scheduler``), run by the
  installed ``anjian`` script as systemd runs them.

Every process runs in a session (process group) of its own, writes stdout and stderr
to a log file under the given folder, and carries ``ANJIAN_TEST_PROCS=<token>`` in
its environment, which every fork inherits (gunicorn's workers, RQ's work horses,
which put themselves in process groups of their own): ``Stack.stop()`` stops the
groups, then kills whatever still carries the token, and a later session reaps the
leftovers of a pytest process killed outright (``tests/services.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests import services

ROOT = Path(__file__).resolve().parents[1]
APP_ROLE = "anjian_app"
STACK_DB = "anjian_stack"
# A Redis database of its own: other tests flush database 0 of the session's server.
REDIS_DB = 7
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def anjian_command() -> list[str]:
    """The ``anjian`` command of this interpreter's environment: its installed script, or
    ``python -m anjian.cli`` where there is none."""
    exe = Path(sys.executable).parent / "anjian"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "anjian.cli"]


class StackError(AssertionError):
    """Something the stack should do did not happen in time (the message has the logs)."""


def wait_for(what: str, probe: Callable[[], object], timeout: float, interval: float = 0.05,
              explain: Callable[[], str] | None = None):
    """Call ``probe`` until it returns something truthy; raise StackError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # a probe may fail while a service comes up
            value, last = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last!r})" if last else ""
            raise StackError(f"timed out after {timeout:.0f} s waiting for {what}{detail}"
                             + (f"\n{explain()}" if explain else ""))
        time.sleep(interval)


# --------------------------------------------------------------------------- processes


def _ppid_and_pgid(pid: int) -> tuple[int, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2])


def descendants(root: int) -> list[int]:
    """Live descendants of ``root`` (children first), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        info = _ppid_and_pgid(int(entry.name))
        if info is not None:
            children.setdefault(info[0], []).append(int(entry.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class Proc:
    """One long-running process of the stack, in its own session, logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(self.cmd)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tree(self) -> list[int]:
        """The process and its live descendants."""
        if not self.alive:
            return []
        return [self.pid, *descendants(self.pid)]

    def _signal_tree(self, signum: int) -> None:
        pids = self.tree()
        groups = {info[1] for info in map(_ppid_and_pgid, pids) if info is not None}
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)
        for pid in pids:  # a descendant that left the group and took none of its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def kill(self) -> list[int]:
        """SIGKILL the process, its group and every descendant (RQ's work horse sits in a
        group of its own); returns the pids killed."""
        pids = self.tree()
        self._signal_tree(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)
        for pid in pids:
            services._wait_pid_gone(pid, 5.0)
        return pids

    def terminate(self) -> list[int]:
        """SIGTERM the tree (without waiting); returns its pids for ``finish``."""
        pids = self.tree()
        self._signal_tree(signal.SIGTERM)
        return pids

    def finish(self, pids: list[int], timeout: float = 10.0) -> None:
        """Wait for a terminated tree to exit, then SIGKILL what is left."""
        if self.popen is None:
            return
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)
        for pid in pids:
            services._wait_pid_gone(pid, max(0.0, deadline - time.monotonic()))
        if any(services._pid_alive(pid) for pid in pids) or self.alive:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            self.popen.wait(10)
            for pid in pids:
                services._wait_pid_gone(pid, 5.0)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the tree, wait, then SIGKILL what is left."""
        if self.alive:
            self.finish(self.terminate(), timeout)

    def tail(self, lines: int = 60) -> str:
        return services._log_tail(self.log, lines)


# --------------------------------------------------------------------------- the stack


def _swap_db(url: str, dbname: str) -> str:
    return f"{url.rsplit('/', 1)[0]}/{dbname}"


class Stack:
    """PostgreSQL + Redis + S3 (the session's) and gunicorn, workers, scheduler (its own)."""

    def __init__(self, *, folder: Path, postgres_admin_url: str, redis_url: str,
                 s3: dict[str, str], postgres_cluster=None, redis_server=None,
                 worker_args: tuple[str, ...] = (), env: dict[str, str] | None = None):
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.cluster = postgres_cluster
        self.redis_server = redis_server
        self.owner_url = _swap_db(postgres_admin_url, STACK_DB)
        self.app_url = self.owner_url.replace("//postgres@", f"//{APP_ROLE}@", 1)
        self.redis_url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
        self.s3 = s3
        self.token = secrets.token_hex(8)
        self.bucket = f"anjian-stack-{self.token}"
        self.port = services._free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.worker_args = tuple(worker_args)
        self.web: Proc | None = None
        self.workers: list[Proc] = []
        self.scheduler: Proc | None = None
        self._worker_seq = 0
        # A folder the next session's reaper finds should this process be killed outright.
        self._marker = services._make_workdir("stack")
        (self._marker / services.PROCS_TOKEN_FILE).write_text(self.token)
        self._cleanup = services._Cleanup(self._kill_all)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ANJIAN_")},
            "ANJIAN_DATABASE_URL": self.app_url,
            "ANJIAN_REDIS_URL": self.redis_url,
            "ANJIAN_STORAGE_URL": f"s3://{self.bucket}/objects",
            "ANJIAN_S3_ENDPOINT_URL": s3["endpoint_url"],
            "AWS_ACCESS_KEY_ID": s3["access_key"],
            "AWS_SECRET_ACCESS_KEY": s3["secret_key"],
            "AWS_DEFAULT_REGION": s3["region"],
            "ANJIAN_SECRET_KEY": secrets.token_urlsafe(48),
            "ANJIAN_DATA_DIR": str(folder / "data"),
            "ANJIAN_TENANTS_DIR": str(folder / "tenants"),
            "ANJIAN_PORT": str(self.port),
            "ANJIAN_BIND": f"127.0.0.1:{self.port}",
            "ANJIAN_WEB_WORKERS": "2",
            services.PROCS_TOKEN_ENV: self.token,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
            **(env or {}),
        }

    # ------------------------------------------------------------------ set-up

    def prepare(self) -> None:
        """A fresh database (migrated as the owner), an empty Redis db, the bucket."""
        import psycopg
        import redis

        with psycopg.connect(services.to_libpq_url(_swap_db(self.owner_url, "postgres")),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{STACK_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{STACK_DB}"')
        self.cli("db", "upgrade", env={"ANJIAN_MIGRATION_DATABASE_URL": self.owner_url},
                 timeout=120)
        self.owner_sql(f"ALTER ROLE {APP_ROLE} LOGIN")
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()
        with self.s3_client() as client:
            client.create_bucket(Bucket=self.bucket)

    @contextlib.contextmanager
    def s3_client(self) -> Iterator:
        """A boto3 S3 client of the stack's endpoint (closed afterwards)."""
        import boto3
        from botocore.config import Config

        client = boto3.session.Session().client(
            "s3", endpoint_url=self.s3["endpoint_url"], aws_access_key_id=self.s3["access_key"],
            aws_secret_access_key=self.s3["secret_key"], region_name=self.s3["region"],
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        try:
            yield client
        finally:
            client.close()

    def bucket_keys(self) -> set[str]:
        """Every object key in the stack's bucket."""
        keys = set()
        with self.s3_client() as client:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                keys |= {o["Key"] for o in page.get("Contents", [])}
        return keys

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess:
        """``anjian ARGS`` as a one-shot process with the stack's environment."""
        done = subprocess.run([*anjian_command(), *args], cwd=ROOT, env={**self.env, **(env or {})},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, start_new_session=True)
        if check and done.returncode != 0:
            raise StackError(f"anjian {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def start(self, workers: int = 2, scheduler: bool = True) -> Stack:
        self.start_web()
        for _ in range(workers):
            self.start_worker()
        if scheduler:
            self.start_scheduler()
        self.wait_web()
        self.wait_workers()
        return self

    def start_web(self) -> Proc:
        self.web = Proc("gunicorn", [
            sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
            # gunicorn 27's control socket defaults to one path per user (~/.gunicorn):
            # two servers on one machine would take it from each other.
            "--no-control-socket", "wsgi:app",
        ], self.env, self.logs).start()
        return self.web

    def start_worker(self) -> Proc:
        self._worker_seq += 1
        proc = Proc(f"worker-{self._worker_seq}",
                    [*anjian_command(), "worker", *self.worker_args], self.env, self.logs).start()
        self.workers.append(proc)
        return proc

    def start_scheduler(self) -> Proc:
        self.scheduler = Proc("scheduler", [*anjian_command(), "scheduler"], self.env,
                              self.logs).start()
        return self.scheduler

    def wait_scheduler(self, timeout: float = 60) -> None:
        """Until the scheduler holds the one scheduler lock (anjian.jobs.scheduler)."""
        from anjian.jobs.scheduler import LOCK_KEY

        def holding():
            if not self.scheduler.alive:
                raise StackError(f"the scheduler exited ({self.scheduler.popen.returncode})\n"
                                 f"{self.scheduler.tail()}")
            with self.redis() as conn:
                return conn.exists(LOCK_KEY)

        wait_for("the scheduler to take its lock", holding, timeout, 0.1, self.explain)

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (children of the master)."""
        assert self.web is not None
        return sorted(descendants(self.web.pid)) if self.web.alive else []

    def wait_web(self, timeout: float = 60) -> None:
        def up():
            if not self.web.alive:
                raise StackError(f"gunicorn exited ({self.web.popen.returncode})\n"
                                 f"{self.web.tail()}")
            return len(self.web_workers()) == 2 and self.request("GET", "/healthz").status_code \
                == 200

        wait_for("gunicorn with 2 workers to answer /healthz", up, timeout, 0.1, self.explain)

    def rq_workers(self) -> list:
        from rq import Worker

        with self.redis() as conn:
            return [w for w in Worker.all(connection=conn)]

    def wait_workers(self, timeout: float = 60) -> None:
        """Until every worker process started here is registered with RQ (a worker killed
        outright stays registered until its key expires: it does not count)."""
        def registered():
            for proc in self.workers:
                if not proc.alive:
                    raise StackError(f"{proc.name} exited ({proc.popen.returncode})\n"
                                     f"{proc.tail()}")
            return {p.pid for p in self.workers} <= {w.pid for w in self.rq_workers()}

        wait_for("the RQ workers to register", registered, timeout, 0.1, self.explain)

    @contextlib.contextmanager
    def redis(self) -> Iterator:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)
        try:
            yield client
        finally:
            client.close()

    def worker_running(self, rq_job_id: str) -> Proc:
        """The worker process whose work horse runs ``rq_job_id``: from RQ's worker registry,
        else (a Redis that lost its data forgets its workers) the one worker with a work
        horse (a child that leads a process group of its own)."""
        for w in self.rq_workers():
            if w.get_current_job_id() == rq_job_id:
                for proc in self.workers:
                    if proc.alive and proc.pid == w.pid:
                        return proc
        busy = [proc for proc in self.workers if proc.alive and any(
            (info := _ppid_and_pgid(pid)) is not None and info[1] == pid
            for pid in descendants(proc.pid))]
        if len(busy) == 1:
            return busy[0]
        raise LookupError(f"no single worker runs {rq_job_id} (busy: {busy})")

    # ------------------------------------------------------------------ HTTP and SQL

    def request(self, method: str, path: str, token: str | None = None, *,
                timeout: float = 30, **kwargs):
        """One HTTP request to gunicorn (a new connection each time)."""
        import requests

        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else f"{self.base}{path}"
        with requests.Session() as session:
            response = session.request(method, url, headers=headers, timeout=timeout,
                                       allow_redirects=False, **kwargs)
            response.content  # noqa: B018 -- read it all before the session closes
            return response

    def owner_sql(self, sql: str, params=None) -> list[tuple]:
        """Run SQL as the owner (superuser here: RLS does not hide anything)."""
        import psycopg

        with psycopg.connect(services.to_libpq_url(self.owner_url), autocommit=True,
                             connect_timeout=10) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    # ------------------------------------------------------------------ faults

    def restart_postgres(self) -> None:
        if self.cluster is None:
            raise RuntimeError("ANJIAN_TEST_POSTGRES_URL given: the tests cannot restart it")
        self.cluster.restart("fast")

    # ------------------------------------------------------------------ stopping

    def processes(self) -> list[Proc]:
        return [p for p in (self.web, *self.workers, self.scheduler) if p is not None]

    def explain(self) -> str:
        """The tail of every process's log, for a failure message."""
        parts = []
        for proc in self.processes():
            state = "running" if proc.alive else f"exited {proc.popen.returncode}"
            parts.append(f"----- {proc.name} (pid {proc.pid}, {state}) {proc.log} -----\n"
                         f"{proc.tail()}")
        return "\n".join(parts)

    def stop(self) -> list[int]:
        """Stop everything started here; return the pids that had to be killed afterwards
        (found by the token: processes that outlived their group's SIGTERM/SIGKILL)."""
        running = [(proc, proc.terminate()) for proc in self.processes() if proc.alive]
        for proc, pids in running:  # all told at once, then waited for
            proc.finish(pids)
        leftovers = services.kill_tokened(self.token)
        self._cleanup.close()
        return leftovers

    def _kill_all(self) -> None:
        for proc in self.processes():
            with contextlib.suppress(Exception):
                proc.kill()
        services.kill_tokened(self.token)
        import shutil

        shutil.rmtree(self._marker, ignore_errors=True)


# --------------------------------------------------------------------------- workbooks


def credit_code(prefix: str, n: int) -> str:
    """A valid unified social credit code: ``prefix`` (8 characters) + ``MA`` + 7 digits."""
    from stdnum.cn import uscc

    base = f"{prefix}MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def enterprise_workbook(rows: int, prefix: str = "91120105", first: int = 1,
                        variant: int = 0) -> bytes:
    """An .xlsx of ``rows`` enterprises in the core template's headers; variants 0 and 1
    of the same rows differ in every name and address (importing them in turn updates
    every row)."""
    import xlsxwriter

    from anjian.enterprises.importing.profiles import CORE_HEADERS

    columns = ["credit_code", "name", "address", "industry", "scale", "employees", "status"]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("企业台账")
    for col, key in enumerate(columns):
        sheet.write_string(0, col, CORE_HEADERS[key])
    for r, n in enumerate(range(first, first + rows), 1):
        values = [credit_code(prefix, n), f"河北区第{n}号商贸{('有限公司', '有限责任公司')[variant]}",
                  f"天津市河北区中山路{n}号{('', '乙座')[variant]}", "商贸",
                  ("规上", "规下", "小微")[n % 3], 10 + n % 300, "在营"]
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, value)
    book.close()
    return buffer.getvalue()


def multipart_file(data: bytes, name: str, field: str = "file",
                   content_type: str = XLSX) -> tuple[bytes, str]:
    """A multipart/form-data body holding one file; returns (body, its Content-Type)."""
    boundary = secrets.token_hex(16)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
    return (head + data + f"\r\n--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}")


__all__ = [
    "XLSX",
    "Proc",
    "Stack",
    "StackError",
    "credit_code",
    "descendants",
    "enterprise_workbook",
    "multipart_file",
    "wait_for",
]
