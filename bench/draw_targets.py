"""Benchmark: the target draw (ssj-draw/1, 5 strata) over 1,000,000 or 20,000,000 candidates.

    .venv/bin/python bench/draw_targets.py --rows 1000000                    # SQLite file
    .venv/bin/python bench/draw_targets.py --rows 20000000 \\
        --database postgres://postgres@127.0.0.1:5432/ssj_perf_draw
    .venv/bin/python bench/draw_targets.py --rows 1000000 --check            # + compare in memory
    .venv/bin/python bench/draw_targets.py --rows 1000000 --sorted-index     # + the proposed index

1. Load (not part of the draw; printed for information): N targets with valid 统一社会信用代码
   (identifiers.make_uscc), risk classes A 30% / B 50% / C 15% / D 4% / U 1% (5 strata), spread
   over 9 counties, written with COPY (PostgreSQL) or executemany (SQLite) with the table's
   indexes dropped and re-built after. A database that already holds exactly N targets is reused
   (``--reload`` forces a new load). SQLite: ``bench/out/draw-<N>.sqlite3``.
2. **freeze** (timed, in a fresh child process): ``draws.population.rows`` streams
   ``(code, risk class)`` in byte order from the database (PostgreSQL: COPY of the sorted query)
   into ``draws.population.freeze``, which checks, counts and hashes it and writes
   population.tsv / excluded.tsv / strata.tsv (sealed strata: the risk class is internal).
3. **perform** (timed, same child): ``draws.population.perform`` with a server entropy item:
   the seed, the file hashes checked again, the threshold selection (two processes from 2 M
   candidates), the published order.

``--department-share S`` (0 < S <= 1): also load ACTIVE directory entries of one department
(``BENCH``) for that share of the targets (every ``round(1/S)``-th id, made in SQL:
``generate_series`` on PostgreSQL, a recursive CTE on SQLite), plus, for the other targets, one
inactive entry of that department for every 10th and an active entry of a second department
(``OTHER``) for every 7th, so the semi-join has rows to skip; then draw through
``directory.selectors.scope_targets(department, {})`` (the draw's real population query) instead of
the whole jurisdiction.

``--query-cpu`` (PostgreSQL, with ``--department-share``): before the draw, run the scope's
population query alone (``COPY (…) TO STDOUT`` read and dropped by psycopg, the freeze's session
settings, parallel workers off so that one backend does all the work) in each shape — as
Django writes it (hash join + sort), as a hashed SubPlan (``(id IN (…)) IS TRUE``, only when
planned so) and with the bitmap (the members' ids read first, then ``get_bit`` on the ordered
index; what the freeze uses) — and print wall seconds and the backend's CPU seconds (from
``/proc/<pid>/stat``: the server is on this machine) and its peak RSS. The draw prints how the
freeze read the rows (``bitmap``, ``hashed``, ``as written``); ``SHUANGSUIJI_DRAW_BITMAP=0`` in the
environment draws without the bitmap. With ``--check`` and a share, also whether the bitmap's
rows are byte for byte those of the query without it.

``--sorted-index`` keeps (else drops, to measure without it) the index that gives the codes in
byte order with the risk class (PostgreSQL ``(jurisdiction_id, code COLLATE "C") INCLUDE
(risk_class, id)``, SQLite ``(jurisdiction_id, code, risk_class)``), so that the database does not
sort. It is part of the schema since directory migration 0005 (first measured here as a proposal).

Printed: seconds per phase, rows/s, CPU seconds, the peak RSS of the child and of its largest
own child (psql or the second scoring process), and with
``--check`` whether protocol.draw.freeze/perform in memory give the identical files and selection
(and how long they take). Targets (ARCHITECTURE.md): 1 M < 3 s, 20 M < 30 s on PostgreSQL, < 2 GB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

PREFECTURE = ("652800", "巴音郭楞蒙古自治州")
COUNTIES = ["652801", "652822", "652823", "652824", "652825", "652826", "652827", "652828",
            "652829"]  # fmt: skip
KINDS = [("9", "1"), ("9", "2"), ("9", "3"), ("5", "2"), ("1", "2")]
RISKS = ["A"] * 30 + ["B"] * 50 + ["C"] * 15 + ["D"] * 4 + ["U"]
ALLOCATION = "mode=ratio;A=300;B=500;C=1500;D=3000;U=500"
SALT = "3c" * 32
ENTROPY = {"server": "5e" * 32}
LOAD_ROWS = 200_000


def setup(database: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ["SHUANGSUIJI_DATA"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


# --- load ----------------------------------------------------------------------------------------


def load(n: int, reload: bool, index: bool, share: float) -> dict:
    """In the child: migrate, and (re)load ``n`` targets unless they are there already."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from shuangsuiji.core.models import Jurisdiction
    from shuangsuiji.directory.models import Target

    call_command("migrate", verbosity=0)
    pref, _ = Jurisdiction.objects.get_or_create(
        code=PREFECTURE[0], defaults={"name": PREFECTURE[1], "level": "prefecture"}
    )
    counties = [
        Jurisdiction.objects.get_or_create(
            code=c, defaults={"name": c, "level": "county", "parent": pref}
        )[0].pk
        for c in COUNTIES
    ]
    have = Target.objects.count()
    if have == n and not reload:
        return {"loaded": False, "rows": n, **_sorted_index(index), **_entries(pref, share)}
    t0 = time.perf_counter()
    table = Target._meta.db_table
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Generated rows refer only to the jurisdictions made above: no foreign-key trigger
            # per row (20 M queued trigger events), as in a restore.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"TRUNCATE {table} CASCADE")
        else:
            cursor.execute(f"DELETE FROM {table}")
        dropped = _drop_indexes(cursor, table, postgres)
        now = datetime.datetime.now(datetime.UTC).isoformat()
        columns = ["id", "jurisdiction_id", "code", "code_kind", "name", "object_kind",
                   "entity_type", "registration_authority", "legal_rep", "address", "reg_status",
                   "business_scope", "region_id", "industry", "risk_class", "abnormal",
                   "serious_illegal", "complaints", "created_at", "updated_at"]  # fmt: skip
        names = ", ".join(columns)
        if postgres:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for chunk in _rows(n, pref.pk, counties, now):
                    copy.write(
                        "".join("\t".join(map(str, row)) + "\n" for row in chunk).encode("utf-8")
                    )
        else:
            marks = ", ".join(["%s"] * len(columns))
            for chunk in _rows(n, pref.pk, counties, now):
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)
        t1 = time.perf_counter()
        if postgres:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in dropped:
            cursor.execute(statement)
        if postgres:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1}, false)"
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    t2 = time.perf_counter()
    return {
        "loaded": True,
        "rows": n,
        "insert_s": round(t1 - t0, 1),
        "index_s": round(t2 - t1, 1),
        **_sorted_index(index),
        **_entries(pref, share),
    }


def _entries(pref, share: float) -> dict:
    """``--department-share``: the department's directory entries (see the module docstring).
    Re-made when the share differs from the one loaded; none when ``share`` is 0."""
    from django.db import connection, transaction

    from shuangsuiji.core.models import Department
    from shuangsuiji.directory.models import DirectoryEntry, Target

    if not share:
        return {"entries": 0}
    step = max(1, round(1 / share))
    dept, _ = Department.objects.get_or_create(
        jurisdiction=pref, code="BENCH", defaults={"name": "基准测试部门"}
    )
    other, _ = Department.objects.get_or_create(
        jurisdiction=pref, code="OTHER", defaults={"name": "另一部门"}
    )
    n = Target.objects.count()
    want = len(range(1, n + 1, step))
    active = DirectoryEntry.objects.filter(department=dept, active=True).count()
    if active == want:
        return {"entries": want, "entries_loaded": False, "department": dept.pk}
    table = DirectoryEntry._meta.db_table
    postgres = connection.vendor == "postgresql"
    t0 = time.perf_counter()
    now = datetime.datetime.now(datetime.UTC).isoformat()
    # (target id, department, active) for ids 1..n: every step-th id active in BENCH; of the
    # others, every 10th inactive in BENCH; every 7th id active in OTHER.
    select = (
        "SELECT i, %s, CASE WHEN (i - 1) %% %s = 0 THEN 1 ELSE 0 END FROM ids "
        "WHERE (i - 1) %% %s = 0 OR i %% 10 = 0 "
        "UNION ALL SELECT i, %s, 1 FROM ids WHERE i %% 7 = 0"
    )
    ids = (
        "ids(i) AS (SELECT generate_series(1, %s))"
        if postgres
        else "ids(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM ids WHERE i < %s)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"TRUNCATE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")
        dropped = _drop_indexes(cursor, table, postgres)
        active_sql = "(x.a = 1)" if postgres else "x.a"
        cursor.execute(
            f"WITH {'RECURSIVE ' if not postgres else ''}{ids}, x(t, d, a) AS ({select}) "
            f"INSERT INTO {table} (department_id, target_id, tags, active, added_at, "
            "removed_reason, updated_at) "
            f"SELECT d, t, '', {active_sql}, %s, '', %s FROM x",
            [n, dept.pk, step, step, other.pk, now, now],
        )
        t1 = time.perf_counter()
        if postgres:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in dropped:
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}" if postgres else f"ANALYZE {table}")
    return {
        "entries": want,
        "entries_loaded": True,
        "entries_insert_s": round(t1 - t0, 1),
        "entries_index_s": round(time.perf_counter() - t1, 1),
        "department": dept.pk,
    }


SORTED_INDEX = "directory_target_code_bytes"  # the schema's (directory migration 0005)


def _sorted_index(wanted: bool) -> dict:
    """With ``--sorted-index``: an index that hands the population over in byte order of the
    code, with the risk class, so the database reads it without sorting (PostgreSQL: an
    index-only scan; SQLite: a covering index). A proposal for the directory's schema, made
    here in the bench database only. Without the flag, the index is dropped if there."""
    from django.db import connection

    from shuangsuiji.directory.models import Target

    table = Target._meta.db_table
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        if not wanted:
            cursor.execute(f"DROP INDEX IF EXISTS {SORTED_INDEX}")
            return {"sorted_index": False}
        if connection.vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {SORTED_INDEX} ON {table} "
                '(jurisdiction_id, code COLLATE "C") INCLUDE (risk_class, id)'
            )
            cursor.execute(f"VACUUM ANALYZE {table}")  # index-only scans need the visibility map
        else:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {SORTED_INDEX} ON {table} "
                "(jurisdiction_id, code, risk_class)"
            )
            cursor.execute(f"ANALYZE {table}")
    return {"sorted_index": True, "sorted_index_s": round(time.perf_counter() - t0, 1)}


def _drop_indexes(cursor, table: str, postgres: bool) -> list[str]:
    """Drop the table's indexes and unique constraints; return the statements re-making them."""
    remake = []
    if postgres:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            remake.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT LIKE %s",
            [table, "%_pkey"],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            remake.append(definition)
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            remake.append(definition)
    return remake


def _rows(n: int, jurisdiction: int, counties: list[int], now: str):
    from shuangsuiji.directory.identifiers import make_uscc

    rnd = random.Random(20261126)
    chunk = []
    for i in range(n):
        authority, kind = KINDS[i % len(KINDS)]
        county = i % len(COUNTIES)
        # A bijection of i on 0..10^8-1: codes unique, and not inserted in code order.
        body = f"{(i * 7919 + 12345) % 100_000_000:08d}"
        code = make_uscc(authority, kind, COUNTIES[county], body)
        chunk.append((i + 1, jurisdiction, code, "uscc", f"企业{i}", "company", "", "", "", "",
                      "active", "", counties[county], "F5211", rnd.choice(RISKS), "f", "f", 0,
                      now, now))  # fmt: skip
        if len(chunk) == LOAD_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the draw ------------------------------------------------------------------------------------


def _query_cpu(rows) -> dict:
    """The population query alone, in both shapes (see the module docstring)."""
    import psycopg
    from django.db import connection

    from shuangsuiji.draws import population as P

    connection.ensure_connection()
    from django.db import transaction

    out = {"planned_hashed": rows._ordered_hashed_plan()}
    shapes = [("join_sort", rows.queryset)]
    if out["planned_hashed"]:  # else an unhashed SubPlan would rescan the entries per target
        shapes.append(("hashed", rows.hashed))
    # The bitmap shape: the members' ids (one statement, timed here on Django's connection, in
    # this process) and then the rows with get_bit (timed below like the other shapes).
    with transaction.atomic(), connection.cursor() as cursor:
        P._set_local(cursor)
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        c0, t0, m0 = _server_cpu(pid), time.perf_counter(), _cpu()
        qs, lookup = P._member_semi_join(rows.queryset)
        bits = P._member_bits(cursor, qs, lookup)
        out["bitmap_members"] = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "server_cpu_s": round(_server_cpu(pid) - c0, 2),
            "our_cpu_s": round(_cpu() - m0, 2),
            "bitmap_bytes": len(bits),
            "server_peak_rss_mb": _server_hwm(pid),
            "loadavg": os.getloadavg()[0],
        }
    shapes.append(
        ("bitmap", P._member_semi_join(rows.queryset, lambda lk: P._InBitmap(lk.lhs, bits))[0])
    )
    for shape, qs in shapes:
        sql, params = qs.query.sql_with_params()
        query = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            for name, value in {**P.PG_SETTINGS, "max_parallel_workers_per_gather": 0}.items():
                conn.execute(f"SET {name} = '{value}'")
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            plan = [r[0] for r in conn.execute(f"EXPLAIN {query}")]
            c0, t0, count = _server_cpu(pid), time.perf_counter(), 0
            with conn.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
                for _ in copy:
                    count += 1
            out[shape] = {
                "rows": count,
                "wall_s": round(time.perf_counter() - t0, 2),
                "server_cpu_s": round(_server_cpu(pid) - c0, 2),
                "server_peak_rss_mb": _server_hwm(pid),
                "plan": plan[0].split("  (")[0],
                "loadavg": os.getloadavg()[0],
            }
    return out


def _server_cpu(pid: int) -> float:
    """CPU seconds of a PostgreSQL backend on this machine."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _server_hwm(pid: int) -> int:
    """Peak RSS (MB) of a PostgreSQL backend, shared buffers it touched included."""
    status = Path(f"/proc/{pid}/status").read_text()
    return round(
        int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
    )


def draw(
    n: int, check: bool, sealed: bool, workers: int | None, share: float, query_cpu: bool
) -> dict:
    from shuangsuiji.directory.models import Target
    from shuangsuiji.draws import population as P
    from shuangsuiji.protocol import draw as D
    from shuangsuiji.protocol import stream as S

    queries = {}
    files = OUT / f"draw-files-{n}"
    shutil.rmtree(files, ignore_errors=True)
    reports = []
    from shuangsuiji.core.models import Jurisdiction

    pref = Jurisdiction.objects.get(code=PREFECTURE[0])
    if share:
        # The draw's real population: the department's scope (active entries, a semi-join).
        from shuangsuiji.core.models import Department
        from shuangsuiji.directory.selectors import scope_targets

        queryset = scope_targets(Department.objects.get(jurisdiction=pref, code="BENCH"), {})
        n = len(range(1, n + 1, max(1, round(1 / share))))
        if query_cpu:
            queries = _query_cpu(P.rows(queryset, "risk"))
    else:
        # The prefecture's directory, as a draw's scope query filters it (by id, not by a join).
        queryset = Target.objects.filter(jurisdiction=pref)
    c0 = _cpu()
    t0 = time.perf_counter()
    rows = P.rows(queryset, "risk")
    frozen = P.freeze(
        task_code="2027-XJ-BENCH",
        draw_number=1,
        rows=rows,
        excluded=[],
        allocation=ALLOCATION,
        sealed=sealed,
        salt=SALT if sealed else None,
        directory=files,
        progress=lambda done, total=None: reports.append(done),
    )
    t1 = time.perf_counter()
    c1 = _cpu()
    rss_freeze = _rss()
    result = S.perform(frozen, ENTROPY, workers=workers)
    t2 = time.perf_counter()
    c2 = _cpu()
    assert frozen.size == n, (frozen.size, n)
    out = {
        "database": _vendor(),
        "rows": n,
        "strata": "sealed" if sealed else "public",
        "counts": frozen.counts,
        "k": frozen.k,
        "selected": len(result.selected),
        "freeze_s": round(t1 - t0, 2),
        "perform_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        # CPU seconds of this process and its children (psql, the scoring process); the
        # PostgreSQL server's own work (the sort) is not in them.
        "freeze_cpu_s": round(c1 - c0, 2),
        "perform_cpu_s": round(c2 - c1, 2),
        "progress_calls": len(reports),
        "rss_after_freeze_mb": rss_freeze,
        "peak_rss_mb": _rss(),
        "scoring_child_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
        "population_mb": round(frozen.population_path.stat().st_size / 2**20),
        "loadavg": os.getloadavg()[0],
        "shape": rows.shape,  # PostgreSQL: how the freeze read a scope (bitmap, hashed, ...)
    }
    if queries:
        out["query_cpu"] = queries
    if check:
        if share:
            # The rows as the freeze read them (bitmap) against the query as Django writes it.
            import hashlib

            def digest(enabled: bool) -> str:
                P.USE_BITMAP, before = enabled, P.USE_BITMAP
                try:
                    h = hashlib.sha256()
                    for block in P.rows(queryset, "risk").blocks():
                        h.update(block)
                    return h.hexdigest()
                finally:
                    P.USE_BITMAP = before

            out["same_rows_as_written"] = digest(True) == digest(False)
        rows = list(P.rows(queryset, "risk"))
        t3 = time.perf_counter()
        memory = D.freeze(
            task="2027-XJ-BENCH",
            draw=1,
            population=rows,
            allocation=ALLOCATION,
            sealed=sealed,
            salt=SALT if sealed else None,
        )
        t4 = time.perf_counter()
        want = D.perform(memory, ENTROPY)
        t5 = time.perf_counter()
        out["check"] = {
            "identical": memory.population_sha256 == frozen.population_sha256
            and memory.strata_sha256 == frozen.strata_sha256
            and memory.k == frozen.k
            and want.seed == result.seed
            and want.selected == result.selected,
            "in_memory_freeze_s": round(t4 - t3, 2),
            "in_memory_perform_s": round(t5 - t4, 2),
            "peak_rss_mb": _rss(),
        }
    shutil.rmtree(files, ignore_errors=True)
    return out


def _cpu() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _rss() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


# --- main ----------------------------------------------------------------------------------------


def child(args, what: str) -> dict:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, __file__, *sys.argv[1:], "--child", what],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit(f"{what} failed")
    return json.loads(line[7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="", help="postgres://… (default: a SQLite file)")
    parser.add_argument("--reload", action="store_true", help="load the targets again")
    parser.add_argument("--check", action="store_true", help="compare with protocol.draw")
    parser.add_argument("--public", action="store_true", help="public strata (default sealed)")
    parser.add_argument("--workers", type=int, default=None, help="scoring processes")
    parser.add_argument(
        "--sorted-index",
        action="store_true",
        help="add an index giving the codes in byte order (else drop it)",
    )
    parser.add_argument(
        "--department-share",
        type=float,
        default=0.0,
        help="load a department's directory for this share of the targets and draw its scope",
    )
    parser.add_argument(
        "--query-cpu",
        action="store_true",
        help="PostgreSQL: time the scope query alone in both shapes, with the server's CPU",
    )
    parser.add_argument("--child", choices=["load", "draw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    database = args.database or f"sqlite:///{OUT / f'draw-{args.rows}.sqlite3'}"
    data_dir = str(OUT / "draw-data")
    if args.child:
        setup(database, data_dir)
        if args.child == "load":
            result = load(args.rows, args.reload, args.sorted_index, args.department_share)
        else:
            result = draw(
                args.rows,
                args.check,
                not args.public,
                args.workers,
                args.department_share,
                args.query_cpu,
            )
        print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)
        return
    ensure_database(database)
    loaded = child(args, "load")
    if loaded["loaded"]:
        print(
            f"load: {args.rows:,} targets in {loaded['insert_s']} s + indexes "
            f"{loaded['index_s']} s",
            flush=True,
        )
    else:
        print(f"load: reusing the {args.rows:,} targets already in the database", flush=True)
    if loaded.get("entries"):
        how = (
            f"loaded in {loaded['entries_insert_s']} s + indexes {loaded['entries_index_s']} s"
            if loaded.get("entries_loaded")
            else "reused"
        )
        print(f"department BENCH: {loaded['entries']:,} active entries ({how})", flush=True)
    if loaded.get("sorted_index"):
        print(f"sorted index {SORTED_INDEX} in place ({loaded['sorted_index_s']} s)", flush=True)
    r = child(args, "draw")
    r["sorted_index"] = loaded["sorted_index"]
    r["department_share"] = args.department_share
    scope = (
        f" (department scope, share {args.department_share} of {args.rows:,} targets)"
        if args.department_share
        else ""
    )
    print(
        f"{r['database']} {r['rows']:,} candidates{scope}, 5 strata ({r['strata']}), "
        f"{'with' if r['sorted_index'] else 'without'} the sorted index, "
        f"{r['selected']:,} selected: freeze (stream from the DB + files + hashes) "
        f"{r['freeze_s']:.2f} s ({r['rows'] / r['freeze_s']:,.0f} rows/s), "
        f"perform {r['perform_s']:.2f} s, total {r['total_s']:.2f} s "
        f"(CPU: freeze {r['freeze_cpu_s']:.2f} s "
        f"{'+ the server' if r['database'] == 'postgresql' else 'with SQLite in-process'}, "
        f"perform {r['perform_cpu_s']:.2f} s); "
        f"peak RSS {r['peak_rss_mb']:,} MB (after freeze {r['rss_after_freeze_mb']:,} MB, "
        f"largest child (psql, scoring) {r['scoring_child_rss_mb']:,} MB); population.tsv "
        f"{r['population_mb']} MB; load average {r['loadavg']:.1f}",
        flush=True,
    )
    if r.get("shape"):
        print(f"the freeze read the rows as: {r['shape']}", flush=True)
    for shape, q in r.get("query_cpu", {}).items():
        if shape == "planned_hashed":
            print(f"query: the hashed shape would be planned: {q}", flush=True)
            continue
        if shape == "bitmap_members":
            print(
                f"query alone, bitmap: the members' ids in {q['wall_s']:.2f} s, server CPU "
                f"{q['server_cpu_s']:.2f} s, ours {q['our_cpu_s']:.2f} s, bitmap "
                f"{q['bitmap_bytes']:,} bytes, server peak RSS {q['server_peak_rss_mb']} MB, "
                f"load average {q['loadavg']:.1f}",
                flush=True,
            )
            continue
        print(
            f"query alone, {shape} ({q['plan']}): {q['rows']:,} rows in {q['wall_s']:.2f} s, "
            f"server CPU {q['server_cpu_s']:.2f} s, server peak RSS {q['server_peak_rss_mb']} MB, "
            f"load average {q['loadavg']:.1f}",
            flush=True,
        )
    if "same_rows_as_written" in r:
        print(
            "check: the bitmap's rows are byte for byte those of the query as Django writes it: "
            f"{r['same_rows_as_written']}",
            flush=True,
        )
    if "check" in r:
        c = r["check"]
        print(
            f"check: identical to protocol.draw in memory: {c['identical']}; in-memory freeze "
            f"{c['in_memory_freeze_s']:.2f} s, perform {c['in_memory_perform_s']:.2f} s, "
            f"peak RSS then {c['peak_rss_mb']:,} MB",
            flush=True,
        )
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
