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


def load(n: int, reload: bool, index: bool) -> dict:
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
        return {"loaded": False, "rows": n, **_sorted_index(index)}
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


def draw(n: int, check: bool, sealed: bool, workers: int | None) -> dict:
    from shuangsuiji.directory.models import Target
    from shuangsuiji.draws import population as P
    from shuangsuiji.protocol import draw as D
    from shuangsuiji.protocol import stream as S

    files = OUT / f"draw-files-{n}"
    shutil.rmtree(files, ignore_errors=True)
    reports = []
    from shuangsuiji.core.models import Jurisdiction

    # The prefecture's directory, as a draw's scope query filters it (by id, not by a join).
    queryset = Target.objects.filter(jurisdiction=Jurisdiction.objects.get(code=PREFECTURE[0]))
    c0 = _cpu()
    t0 = time.perf_counter()
    frozen = P.freeze(
        task_code="2027-XJ-BENCH",
        draw_number=1,
        rows=P.rows(queryset, "risk"),
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
    }
    if check:
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
    parser.add_argument("--child", choices=["load", "draw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    database = args.database or f"sqlite:///{OUT / f'draw-{args.rows}.sqlite3'}"
    data_dir = str(OUT / "draw-data")
    if args.child:
        setup(database, data_dir)
        if args.child == "load":
            result = load(args.rows, args.reload, args.sorted_index)
        else:
            result = draw(args.rows, args.check, not args.public, args.workers)
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
    if loaded.get("sorted_index"):
        print(f"sorted index {SORTED_INDEX} in place ({loaded['sorted_index_s']} s)", flush=True)
    r = child(args, "draw")
    r["sorted_index"] = loaded["sorted_index"]
    print(
        f"{r['database']} {r['rows']:,} candidates, 5 strata ({r['strata']}), "
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
