"""A target import whose transaction is the outermost one (as in the job worker and the CLI):
its writes run in a worker thread (bulk.Pipeline) with look-ups, one chunk ahead, on other connections (on
PostgreSQL, and on SQLite with a database file: the test database in memory cannot, see
test_bench_sqlite_file for that case). Real transactions here, several small chunks, and the same outcomes as without it:
new, changed, removed rows, all-or-nothing refusal of a later invalid chunk, and an error in the
worker rolling everything back."""

import threading

import pytest
from django.db import connection

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.directory.models import DirectoryEntry, Target
from shuangsuiji.transfer import bulk, changelog, services
from shuangsuiji.transfer.models import AuditChunk, ImportBatch

from .helpers import TARGET_HEADINGS, target_row, uscc, write_csv

pytestmark = pytest.mark.django_db(transaction=True)
Status = ImportBatch.Status


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 2)
    used = []
    real = bulk.Pipeline.submit

    def submit(self, work):
        used.append(1)
        return real(self, work)

    monkeypatch.setattr(bulk.Pipeline, "submit", submit)
    real_look_up = bulk.Pipeline.look_up

    def look_up(self, work):
        used.append("look-up")
        return real_look_up(self, work)

    monkeypatch.setattr(bulk.Pipeline, "look_up", look_up)
    real_allocate = bulk.allocate_ids

    def allocate_ids(model, count, **kwargs):
        used.append(("ids", threading.current_thread().name.startswith("import-lookup")))
        return real_allocate(model, count, **kwargs)

    monkeypatch.setattr(bulk, "allocate_ids", allocate_ids)
    return used


def run(org, tmp_path, rows, name="t.csv", valid_only=False):
    path = write_csv(tmp_path / name, rows)
    batch = services.create_batch(
        user=org.scjgj_admin,
        department=org.scjgj,
        kind="targets",
        filename=name,
        fileobj_or_path=path,
    )
    batch = services.preview_batch(batch)
    assert not connection.in_atomic_block  # the apply's transaction will be the outermost
    return services.apply_batch(batch, user=org.scjgj_admin, valid_only=valid_only)


def test_chunks_written_by_the_worker_match_the_file(org, tmp_path, small_chunks):
    first = run(org, tmp_path, [TARGET_HEADINGS, *(target_row(n) for n in range(1, 8))])
    assert first.status == Status.APPLIED and first.new == 7
    piped = 1 in small_chunks  # writes handed to the worker thread
    assert piped or (connection.vendor == "sqlite" and connection.is_in_memory_db())
    # the look-ups of later chunks ran ahead, in the pipeline's look-up thread
    assert "look-up" in small_chunks or not piped
    if connection.vendor == "postgresql":  # ids too, but for the last chunk (not looked up ahead)
        assert ("ids", True) in small_chunks
    rows = [
        TARGET_HEADINGS + ["出入库"],
        target_row(1, 名称="改名一") + ["入库"],
        target_row(2, 标签="") + ["入库"],
        target_row(3) + ["出库"],
        *(target_row(n) + ["入库"] for n in range(4, 8)),
        *(target_row(n) + ["入库"] for n in range(8, 11)),
    ]
    second = run(org, tmp_path, rows, name="b.csv")
    assert (second.new, second.changed, second.removed, second.unchanged) == (3, 2, 1, 4)
    assert Target.objects.count() == 10 and Target.objects.get(code=uscc(1)).name == "改名一"
    assert DirectoryEntry.objects.get(target__code=uscc(2)).tags == ""
    assert not DirectoryEntry.objects.get(target__code=uscc(3)).active
    assert DirectoryEntry.objects.filter(active=True).count() == 9
    [update, create] = changelog.history([Target.objects.get(code=uscc(1))])
    assert update.after == {"name": "改名一"} and create.after["code"] == uscc(1)
    for n in range(8, 11):
        [created] = changelog.history([Target.objects.get(code=uscc(n))])
        assert created.action == "create" and created.note == f"导入批次 #{second.pk}：b.csv"
    assert AuditEntry.objects.filter(action="import").count() == 2


def test_invalid_row_in_a_later_chunk_writes_nothing(org, tmp_path, small_chunks):
    from shuangsuiji.core.models import Jurisdiction

    town = Jurisdiction.objects.create(
        code="652801001", name="测试街道", level="town", parent=org.korla
    )
    rows = [TARGET_HEADINGS, *(target_row(n) for n in range(1, 6))]
    rows.append(target_row(6, **{"所属区域(行政区划代码)": town.code}))
    path = write_csv(tmp_path / "t.csv", rows)
    batch = services.create_batch(
        user=org.scjgj_admin, department=org.scjgj, kind="targets", filename="t.csv",
        fileobj_or_path=path,
    )  # fmt: skip
    batch = services.preview_batch(batch)
    assert batch.invalid == 0
    town.delete()  # the last row's region is gone by the time of the apply
    batch = services.apply_batch(batch, user=org.scjgj_admin)
    assert batch.status == Status.PREVIEWED and batch.invalid == 1 and "重新校验" in batch.message
    assert 1 in small_chunks or (connection.vendor == "sqlite" and connection.is_in_memory_db())
    assert not Target.objects.exists() and not AuditChunk.objects.exists()
    assert not AuditEntry.objects.filter(action="import").exists()
    batch = services.apply_batch(batch, user=org.scjgj_admin, valid_only=True)
    assert batch.status == Status.APPLIED and Target.objects.count() == 5


def test_an_error_in_the_worker_rolls_everything_back(org, tmp_path, small_chunks, monkeypatch):
    real = changelog.insert
    calls = []

    def failing(rows, *, using=None):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(rows, using=using)

    monkeypatch.setattr(changelog, "insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run(org, tmp_path, [TARGET_HEADINGS, *(target_row(n) for n in range(1, 8))])
    assert not Target.objects.exists() and not DirectoryEntry.objects.exists()
    assert not AuditChunk.objects.exists()
    assert ImportBatch.objects.get().status == Status.FAILED


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_look_ups_probe_the_unique_index_on_an_analysed_table(org, tmp_path):
    """Once ANALYZE has counted the rows, the planner would hash-join the look-up with a scan
    of the whole table (per chunk of every later import); bulk.index_probes leaves it the
    index probes, and puts the settings back."""
    assert run(org, tmp_path, [TARGET_HEADINGS, *(target_row(n) for n in range(1, 40))]).new == 39
    batch = ImportBatch.objects.latest("pk")
    importer = services.TargetImporter(batch=batch, user=org.scjgj_admin, apply=False)
    codes = [uscc(n) for n in range(1, 3000)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_target")
        cursor.execute("SET enable_indexscan = on")  # the probe needs no other help
        explain = "EXPLAIN " + importer._select_targets
        cursor.execute(explain, [codes, org.scjgj.jurisdiction_id])
        default = "\n".join(r[0] for r in cursor.fetchall())
        with bulk.index_probes(cursor):
            cursor.execute(explain, [codes, org.scjgj.jurisdiction_id])
            probed = "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("SHOW enable_hashjoin")
        assert cursor.fetchone()[0] == "on"
    assert "Hash Join" in default  # what the planner does on its own (the reason for the fix)
    assert "Hash" not in probed and "Seq Scan" not in probed
    assert "Nested Loop" in probed and "target_code_unique" in probed
    assert len(importer._lookup(importer._select_targets, org.scjgj.jurisdiction_id, codes)) == 39
