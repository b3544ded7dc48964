#!/usr/bin/env python
"""Benchmark: the platform's enterprise import against a floor, on PostgreSQL.

Not a test (pytest's testpaths is ``tests/``). Run from the repository root:

    .venv/bin/python bench/import.py                 # 100,000 rows
    .venv/bin/python bench/import.py --rows 20000    # quicker (the goal is stated at 100,000)

In one run:

* the workbook: ``--rows`` enterprises (valid credit codes, the core template's
  Chinese headers, 15 columns), written once with xlsxwriter ``constant_memory``;
* the FLOOR: python-calamine reads the same file, then a bulk insert of the same
  rows into a scratch table with psycopg ``COPY``, one transaction;
* the platform's import of that file into an empty tenant (the real
  ``enterprise_import`` job run through ``anjian.jobs.service.run_job``: storage
  read, parse, validation, upsert, audit, progress), then a re-import of the
  unchanged file (every row "unchanged"), then an import of a second workbook
  in which every enterprise's name differs (every row "updated"; not one of the
  goals, measured so that the update path is seen).

Each measurement runs in a child process of its own, which reports its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``). A throwaway PostgreSQL cluster is
started through ``bench/harness.py``, unless ``ANJIAN_BENCH_POSTGRES_URL`` names a
server (``postgresql+psycopg://postgres@host:port/db``; a superuser, the database is
dropped and recreated as ``anjian_bench``). The app connects as the unprivileged role
``anjian_app``, so Row-Level Security applies as in deployment.

Goal: ratio <= 3 at 100,000 rows (the floor measured in the same run). The last line
is one JSON object: ``{"bench": "import", "ratio": ..., "goal": "ratio <= 3",
"goal_met": ..., "rows_per_s": ..., "peak_rss_mb": ..., "reimport_s": ...,
"update_s": ...}`` (ratio = import seconds / floor seconds; peak_rss_mb: the larger
of the import's and the re-import's).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "plugins"), str(ROOT)]

from bench.harness import Postgres, libpq  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
APP_ROLE = "anjian_app"
GOAL_RATIO = 3.0  # import seconds / floor seconds, at 100,000 rows
GOAL_ROWS = 100_000
# The core template's headers (anjian.enterprises.importing.profiles.CORE_HEADERS), 15 columns.
HEADERS = ["统一社会信用代码", "企业名称", "地址", "行业", "行业代码", "规模", "限上", "从业人数",
           "安全管理人员数", "特种作业人员数", "主要产品", "主要风险因素", "主要负责人",
           "负责人电话", "状态"]
INDUSTRIES = [("机械", "C3411"), ("建材", "C3021"), ("轻工", "C1922"), ("化工", "C2614"),
              ("纺织", "C1711"), ("商贸", "F5124"), ("冶金", "C3120")]
SCALES = ["规上", "规下", "小微"]
TOWNS = ["梅李镇", "海虞镇", "古里镇", "支塘镇", "董浜镇", "辛庄镇", "尚湖镇", "沙家浜镇"]


def credit_code(n: int) -> str:
    from stdnum.cn import uscc

    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def make_rows(count: int, renamed: bool = False):
    rnd = random.Random(20261101)
    kind = "有限责任公司" if renamed else "有限公司"
    for n in range(1, count + 1):
        industry, code = INDUSTRIES[n % len(INDUSTRIES)]
        yield [credit_code(n), f"常熟市{TOWNS[n % len(TOWNS)]}第{n}号{industry}{kind}",
               f"江苏省常熟市{TOWNS[n % len(TOWNS)]}工业园{n % 500 + 1}号", industry, code,
               SCALES[n % 3], "是" if n % 7 == 0 else "否", rnd.randint(3, 900),
               rnd.randint(0, 5), rnd.randint(0, 20), f"{industry}产品{n % 37}",
               "机械伤害、触电、火灾", f"张{n % 1000}", f"0512-5{n % 10_000_000:07d}", "在营"]


def write_workbook(path: Path, count: int, renamed: bool = False) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("企业台账")
    for col, label in enumerate(HEADERS):
        sheet.write_string(0, col, label)
    for r, row in enumerate(make_rows(count, renamed), 1):
        for col, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, value)
    book.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- children


def child_floor(url: str, workbook: str) -> dict:
    """Read with python-calamine, then COPY the same rows into a scratch table."""
    import psycopg
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(workbook)
    rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)[1:]
    rows = [[int(v) if isinstance(v, float) and v.is_integer() else v for v in row]
            for row in rows]
    read_s = time.perf_counter() - started
    cols = ", ".join(f"c{i} {'integer' if i in (7, 8, 9) else 'text'}"
                     for i in range(len(HEADERS)))
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(f"CREATE TABLE bench_floor (id serial PRIMARY KEY, tenant_id integer, "
                     f"{cols})")
        conn.commit()
        t1 = time.perf_counter()
        names = ", ".join(f"c{i}" for i in range(len(HEADERS)))
        with conn.cursor() as cur, cur.copy(
                f"COPY bench_floor (tenant_id, {names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([1, *row])
        conn.commit()
    insert_s = time.perf_counter() - t1
    return {"seconds": read_s + insert_s, "read_s": read_s, "insert_s": insert_s,
            "rows": len(rows), "peak_rss_mb": peak_rss_mb()}


def make_app(url: str, data_dir: str):
    from anjian.app import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "ANJIAN_DATA_DIR": data_dir,
        "ANJIAN_STORAGE_URL": (Path(data_dir) / "objects").as_uri(), "ANJIAN_REDIS_URL": "",
        "ANJIAN_TENANTS_DIR": str(ROOT / "tenants"), "ANJIAN_JOBS_EMBEDDED_WORKER": False,
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    })


def run_platform_import(app, tenant_id: int, object_key: str, tenant_code: str) -> dict:
    """The platform's import of a stored file, as its job runs it (``enterprise_import``).

    Needs ``anjian.enterprises.importing`` and the job kind ``enterprise_import``
    (``anjian.enterprises.jobs``); fails with a clear message if they are missing.
    """
    from anjian.extensions import db
    from anjian.jobs import service as jobs
    from anjian.jobs.models import Job
    from anjian.tenancy.scope import Scope, scoped

    try:
        import anjian.enterprises.importing  # noqa: F401
        jobs.get_spec("enterprise_import", app)
    except (ImportError, KeyError) as exc:
        raise SystemExit(f"the platform import is not available ({exc}): bench/import.py needs "
                         "anjian.enterprises.importing and the 'enterprise_import' job") from exc
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = Job(kind="enterprise_import", queue="imports", status="queued", counts={},
                  params={"object_key": object_key, "content_type": XLSX,
                          "file_name": "bench.xlsx", "tenant_code": tenant_code},
                  progress_percent=0)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    started = time.perf_counter()
    with app.app_context():  # run_job uses the app in context (else builds one from env)
        outcome = jobs.run_job(job_id, tenant_id)
    seconds = time.perf_counter() - started
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = db.session.get(Job, job_id)
        result, error = job.result, job.error
    if outcome.get("status") != "finished":
        raise SystemExit(f"the import job ended {outcome}: {error}")
    return {"seconds": seconds, "result": {k: result.get(k) for k in
                                           ("total", "created", "updated", "unchanged",
                                            "rejected")}}


def child_import(url: str, data_dir: str, tenant_id: int, tenant_code: str,
                 object_key: str) -> dict:
    app = make_app(url, data_dir)
    out = run_platform_import(app, tenant_id, object_key, tenant_code)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def child_setup(url: str, migration_url: str, data_dir: str, workbook: str,
                renamed: str) -> dict:
    """Migrate, make the tenant, store both workbooks; returns ids for the import children."""
    import psycopg
    from flask_migrate import upgrade

    from anjian.app import create_app
    from anjian.extensions import db, plugin_registry
    from anjian.storage.service import storage_for
    from anjian.tenancy import service

    migrate_app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                              "ANJIAN_MIGRATION_DATABASE_URL": migration_url,
                              "ANJIAN_DATA_DIR": data_dir})
    with migrate_app.app_context():
        upgrade()
        db.engine.dispose()
    # The app role logs in only once migrated (as in the tests).
    with psycopg.connect(libpq(migration_url), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {APP_ROLE} LOGIN")
    app = make_app(url, data_dir)
    with app.app_context():
        spec = service.validate_spec({"code": "bench", "name": "基准测试租户", "level": "district",
                                      "plugins": [], "settings": {}}, "bench", plugin_registry())
        tenant = service.apply_spec(spec, service.SyncReport())
        db.session.commit()
        tenant_id = tenant.id
        with open(workbook, "rb") as f:
            stored = storage_for(app).put(tenant_id, "imports", f, XLSX, "bench.xlsx")
        with open(renamed, "rb") as f:
            other = storage_for(app).put(tenant_id, "imports", f, XLSX, "renamed.xlsx")
        db.engine.dispose()
    return {"tenant_id": tenant_id, "tenant_code": "bench", "object_key": stored.key,
            "renamed_key": other.key}


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child {args[0]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


def bench(workbook: Path, renamed: Path, rows: int, work: Path) -> dict:
    data_dir = work / "data"
    data_dir.mkdir()
    with Postgres() as admin:
        url = admin.replace("//postgres@", f"//{APP_ROLE}@", 1)
        setup = run_child("setup", url, admin, str(data_dir), str(workbook), str(renamed))
        floor = run_child("floor", admin, str(workbook))
        ids = (str(data_dir), str(setup["tenant_id"]), setup["tenant_code"])
        first = run_child("import", url, *ids, setup["object_key"])
        again = run_child("import", url, *ids, setup["object_key"])
        update = run_child("import", url, *ids, setup["renamed_key"])
    assert first["result"]["created"] == rows, first
    assert again["result"]["unchanged"] == rows, again
    assert update["result"]["updated"] == rows, update
    ratio = first["seconds"] / floor["seconds"]
    goal_met = ratio <= GOAL_RATIO
    print(f"floor: {floor['seconds']:.2f} s (calamine read {floor['read_s']:.2f} s "
          f"+ COPY {floor['insert_s']:.2f} s), {rows / floor['seconds']:,.0f} rows/s, "
          f"peak RSS {floor['peak_rss_mb']:.0f} MB")
    print(f"import: {first['seconds']:.2f} s, {rows / first['seconds']:,.0f} rows/s, "
          f"ratio to floor {ratio:.2f}, peak RSS {first['peak_rss_mb']:.0f} MB  "
          f"{first['result']}")
    print(f"re-import (unchanged): {again['seconds']:.2f} s, "
          f"peak RSS {again['peak_rss_mb']:.0f} MB  {again['result']}")
    print(f"import renaming every row: {update['seconds']:.2f} s, "
          f"peak RSS {update['peak_rss_mb']:.0f} MB  {update['result']}")
    print(f"goal ratio <= {GOAL_RATIO:g}: {'met' if goal_met else 'NOT met'}"
          + ("" if rows == GOAL_ROWS else f" (the goal is stated at {GOAL_ROWS:,} rows; "
             f"this run had {rows:,})"), flush=True)
    return {"bench": "import", "ratio": round(ratio, 2), "goal": f"ratio <= {GOAL_RATIO:g}",
            "goal_met": goal_met, "rows": rows,
            "rows_per_s": round(rows / first["seconds"]),
            "peak_rss_mb": round(max(first["peak_rss_mb"], again["peak_rss_mb"]), 1),
            "reimport_s": round(again["seconds"], 2),
            "import_s": round(first["seconds"], 2), "floor_s": round(floor["seconds"], 2),
            "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
            "update_s": round(update["seconds"], 2),
            "update_peak_rss_mb": round(update["peak_rss_mb"], 1)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, args = sys.argv[2], sys.argv[3:]
        if kind == "floor":
            out = child_floor(*args)
        elif kind == "setup":
            out = child_setup(*args)
        else:
            url, data_dir, tenant_id, code, key = args
            out = child_import(url, data_dir, int(tenant_id), code, key)
        print(json.dumps(out, ensure_ascii=False))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=GOAL_ROWS)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anjian-bench-") as tmp:
        work = Path(tmp)
        workbook, renamed = work / "enterprises.xlsx", work / "renamed.xlsx"
        started = time.perf_counter()
        write_workbook(workbook, options.rows)
        print(f"workbook: {options.rows:,} rows x {len(HEADERS)} columns, "
              f"{workbook.stat().st_size / 1e6:.1f} MB, written in "
              f"{time.perf_counter() - started:.1f} s (xlsxwriter constant_memory)", flush=True)
        write_workbook(renamed, options.rows, renamed=True)
        result = bench(workbook, renamed, options.rows, work)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
