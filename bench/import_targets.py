"""Benchmark: import 1,000,000 generated target rows (CSV and .xlsx) into a fresh database.

    .venv/bin/python bench/import_targets.py                      # SQLite in a temp folder
    .venv/bin/python bench/import_targets.py --database postgres://postgres@127.0.0.1:5432/ssj_bench
    .venv/bin/python bench/import_targets.py --rows 100000 --formats csv

The files are generated once into bench/out/ (valid 统一社会信用代码 of every kind from
identifiers.make_uscc, spread over counties, industries, risk classes, with tags). Each format is
imported in its own child process into a freshly created database (PostgreSQL: the database is
dropped and re-created; SQLite: a new file), through the same services the web page and the CLI
use: preview (read + full validation + comparison with the database) and apply (re-validation +
writes + audit entries in one transaction). Printed: rows/s for preview, apply and in total, and
the child's peak memory (max RSS). Target (ARCHITECTURE.md): ≥ 20,000 rows/s for CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

HEADINGS = [
    "统一社会信用代码/注册号", "名称", "市场主体类型", "登记机关", "法定代表人", "住所", "登记状态", "成立日期",
    "经营范围", "所属区域(行政区划代码)", "行业代码", "信用风险分类", "经营异常名录", "严重违法失信名单",
    "投诉举报次数", "标签", "出入库",
]  # fmt: skip
PREFECTURE = ("652800", "巴音郭楞蒙古自治州")
COUNTIES = [
    ("652801", "库尔勒市"), ("652822", "轮台县"), ("652823", "尉犁县"), ("652824", "若羌县"),
    ("652825", "且末县"), ("652826", "焉耆回族自治县"), ("652827", "和静县"), ("652828", "和硕县"),
    ("652829", "博湖县"),
]  # fmt: skip
# (authority+type, entity type, name suffix, share)
KINDS = [
    ("91", "有限责任公司(自然人投资或控股)", "有限公司", 45),
    ("92", "个体工商户", "经营部", 38),
    ("93", "农民专业合作社", "专业合作社", 6),
    ("51", "社会团体", "协会", 3),
    ("52", "民办非企业单位", "培训中心", 2),
    ("12", "事业单位", "服务中心", 2),
    ("N2", "农村集体经济组织", "股份经济合作社", 2),
    ("Y1", "其他组织", "办事处", 2),
]  # fmt: skip
WORDS = [
    "天山",
    "孔雀河",
    "博斯腾",
    "梨城",
    "丝路",
    "塔里木",
    "罗布",
    "楼兰",
    "和硕",
    "开都",
    "金沙",
    "绿洲",
    "昆仑",
    "阳光",
    "鑫源",
    "恒通",
    "华泰",
    "宏达",
]
TRADES = [("F5211", "百货零售"), ("H6210", "正餐服务"), ("C1391", "食品加工"), ("E4790", "建筑安装"),
          ("F5126", "食品批发"), ("O8010", "家庭服务"), ("A0190", "农作物种植"), ("G5430", "道路货运"),
          ("L7212", "企业管理"), ("R8810", "文艺创作")]  # fmt: skip
STATUSES = ["存续"] * 90 + ["在业"] * 4 + ["停业"] * 2 + ["注销"] * 2 + ["吊销"] * 2
RISKS = ["A"] * 30 + ["B"] * 50 + ["C"] * 15 + ["D"] * 4 + [""]
TAGS = ["", "", "", "食品经营", "特种设备", "食品经营|重点监管", "药品零售", "广告"]


def generate_rows(n: int):
    from shuangsuiji.directory.identifiers import make_uscc

    rnd = random.Random(20260101)
    weights = [k[3] for k in KINDS]
    for i in range(n):
        prefix, etype, suffix, _ = rnd.choices(KINDS, weights)[0]
        county, county_name = COUNTIES[i % len(COUNTIES)]
        code = make_uscc(
            prefix[0], prefix[1], county, f"MA{i:06d}"[-8:] if i < 10**6 else f"{i:08d}"
        )
        industry, scope = TRADES[rnd.randrange(len(TRADES))]
        day = datetime.date(1995, 1, 1) + datetime.timedelta(days=rnd.randrange(11000))
        yield [
            code,
            f"{county_name}{rnd.choice(WORDS)}{rnd.choice(WORDS)}{scope}{suffix}{i}",
            etype,
            f"{county_name}市场监督管理局",
            rnd.choice("张王李赵刘陈杨黄吴周")
            + rnd.choice(["伟", "芳", "娜", "强", "军", "古丽", "买买提"]),
            f"新疆巴州{county_name}{rnd.choice(WORDS)}路{rnd.randrange(1, 999)}号",
            rnd.choice(STATUSES),
            day.isoformat() if i % 3 else day.strftime("%Y/%-m/%-d"),
            f"{scope}；日用百货销售",
            county,
            industry,
            rnd.choice(RISKS),
            "是" if rnd.random() < 0.02 else "否",
            "是" if rnd.random() < 0.002 else "否",
            str(rnd.choice([0, 0, 0, 0, 1, 2, 5])),
            rnd.choice(TAGS),
            "入库",
        ]


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADINGS)
        w.writerows(generate_rows(n))


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(path: Path, n: int) -> None:
    """A minimal valid .xlsx written directly (inline strings), far faster than a library."""
    cols = [_col(i) for i in range(len(HEADINGS))]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>",
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        zf.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="检查对象名录库" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f'<dimension ref="A1:{cols[-1]}{n + 1}"/><sheetData>'
                ).encode()
            )

            def row_xml(r: int, cells) -> str:
                parts = [f'<row r="{r}">']
                for c, value in zip(cols, cells, strict=True):
                    if value:
                        parts.append(
                            f'<c r="{c}{r}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
                        )
                parts.append("</row>")
                return "".join(parts)

            buf = [row_xml(1, HEADINGS)]
            for r, cells in enumerate(generate_rows(n), start=2):
                buf.append(row_xml(r, cells))
                if len(buf) >= 5000:
                    fh.write("".join(buf).encode())
                    buf = []
            buf.append("</sheetData></worksheet>")
            fh.write("".join(buf).encode())


def ensure_files(n: int, formats: list[str]) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in formats:
        path = OUT / f"targets_{n}.{fmt}"
        if not path.exists():
            t = time.perf_counter()
            print(f"generating {path.name} …", flush=True)
            tmp = path.with_suffix(path.suffix + ".part")
            (write_csv if fmt == "csv" else write_xlsx)(tmp, n)
            tmp.rename(path)
            print(
                f"  {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s",
                flush=True,
            )
        files[fmt] = path
    return files


def fresh_database(url: str | None, data_dir: str) -> str:
    if not url:
        return f"sqlite:///{data_dir}/bench.sqlite3"
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def run_child(path: Path, fmt: str, n: int) -> dict:
    """In the child process: set up the organisation, import the file, measure."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from shuangsuiji.core.models import Department, Jurisdiction
    from shuangsuiji.directory.models import DirectoryEntry, Target
    from shuangsuiji.transfer import services

    pref = Jurisdiction.objects.create(code=PREFECTURE[0], name=PREFECTURE[1], level="prefecture")
    for code, name in COUNTIES:
        Jurisdiction.objects.create(code=code, name=name, level="county", parent=pref)
    dept = Department.objects.create(jurisdiction=pref, code="SCJGJ", name="州市场监督管理局")
    user = services.system_user()

    server = _server_cpu(connection)
    t0 = time.perf_counter()
    batch = services.create_batch(
        user=user, department=dept, kind="targets", filename=path.name, fileobj_or_path=path
    )
    t1 = time.perf_counter()
    c1, s1 = _cpu(), server()
    batch = services.preview_batch(batch)
    t2 = time.perf_counter()
    c2, s2 = _cpu(), server()
    preview_phases = dict(services.PHASES)
    assert batch.status == "previewed", batch.message
    assert batch.invalid == 0 and batch.new == n, batch.counts
    batch = services.apply_batch(batch, user=user)
    t3 = time.perf_counter()
    c3, s3 = _cpu(), server()
    apply_phases = dict(services.PHASES)
    assert batch.status == "applied", batch.message
    assert Target.objects.count() == n and DirectoryEntry.objects.count() == n
    return {
        "format": fmt,
        "rows": n,
        "database": connection.vendor,
        "store_s": round(t1 - t0, 2),
        "preview_s": round(t2 - t1, 2),
        "apply_s": round(t3 - t2, 2),
        "preview_rows_s": round(n / (t2 - t1)),
        "apply_rows_s": round(n / (t3 - t2)),
        "total_rows_s": round(n / (t3 - t0)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # CPU seconds of this process and of its PostgreSQL backend: less sensitive than the
        # wall-clock figures to other jobs on a shared machine.
        "preview_cpu_s": round(c2 - c1, 2),
        "apply_cpu_s": round(c3 - c2, 2),
        "preview_server_cpu_s": round(s2 - s1, 2),
        "apply_server_cpu_s": round(s3 - s2, 2),
        "preview_phases": _phases(preview_phases),
        "apply_phases": _phases(apply_phases),
        "loadavg": os.getloadavg()[0],
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(connection):
    """A function returning the CPU seconds used so far by this connection's PostgreSQL backend
    (read from /proc: the server runs on this machine), or 0 on SQLite."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return lambda: 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    return read


def _phases(raw: dict) -> dict:
    """services.PHASES as phases: validate = read + clean (everything in the row loop that is
    neither classify nor write); build_rows = making the rows and the audit change sets;
    insert_* = time inside the database writes (update_* included). On PostgreSQL the writes
    run in a worker thread (bulk.Pipeline), overlapping validate/build of the next chunk:
    wait_writer is the main thread's wait for it, and the insert_* times are the worker's."""
    writes = (
        "insert_targets",
        "insert_entries",
        "insert_audit",
        "update_targets",
        "update_entries",
    )
    inserts = sum(raw.get(k, 0.0) for k in writes)
    waited = raw.get("wait_writer", 0.0)
    in_worker = "wait_writer" in raw
    out = {
        "validate": raw.get("process", 0.0) - raw.get("classify", 0.0) - raw.get("write", 0.0),
        "classify": raw.get("classify", 0.0),
        "build_rows": raw.get("write", 0.0) - (waited if in_worker else inserts),
        "wait_writer": waited,
        "insert_targets": raw.get("insert_targets", 0.0) + raw.get("update_targets", 0.0),
        "insert_entries": raw.get("insert_entries", 0.0) + raw.get("update_entries", 0.0),
        "insert_audit": raw.get("insert_audit", 0.0),
        "commit": raw.get("commit", 0.0),
    }
    return {k: round(v, 2) for k, v in out.items() if v or (k == "wait_writer" and in_worker)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx", help="csv,xlsx")
    parser.add_argument(
        "--database",
        default=os.environ.get("DATABASE_URL", ""),
        help="postgres://… (default SQLite)",
    )
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fmt, file = args.child
        print("RESULT " + json.dumps(run_child(Path(file), fmt, args.rows)), flush=True)
        return
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    files = ensure_files(args.rows, formats)
    results = []
    for fmt in formats:
        with tempfile.TemporaryDirectory(prefix="ssj-bench-") as data_dir:
            env = dict(
                os.environ,
                SHUANGSUIJI_DATA=data_dir,
                DATABASE_URL=fresh_database(args.database, data_dir),
                # A million-row CSV is ~280 MB, above the default upload limit of 200 MB.
                SHUANGSUIJI_MAX_UPLOAD_BYTES=str(2 * 1024**3),
            )
            proc = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--child", fmt, str(files[fmt])],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if proc.returncode or line is None:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                raise SystemExit(f"{fmt}: the import failed")
            result = json.loads(line[7:])
            results.append(result)
            print(
                f"{fmt:>4} {result['database']:<10} {args.rows:,} rows: "
                f"preview {result['preview_s']:.1f} s ({result['preview_rows_s']:,} rows/s), "
                f"apply {result['apply_s']:.1f} s ({result['apply_rows_s']:,} rows/s), "
                f"total {result['total_rows_s']:,} rows/s, peak memory {result['peak_rss_mb']:,} MB, "
                f"load average {result['loadavg']:.1f}",
                flush=True,
            )
            print(
                f"     CPU seconds: preview {result['preview_cpu_s']:.1f}"
                + (f" + server {result['preview_server_cpu_s']:.1f}" if args.database else "")
                + f", apply {result['apply_cpu_s']:.1f}"
                + (f" + server {result['apply_server_cpu_s']:.1f}" if args.database else ""),
                flush=True,
            )
            for kind in ("preview", "apply"):
                phases = ", ".join(f"{k} {v:.1f} s" for k, v in result[f"{kind}_phases"].items())
                print(f"     {kind} phases: {phases}", flush=True)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
