"""Import and export of the 一单两库: the one place the web pages, the CLI and the jobs call.

The flow (ISSUE3 "Import and export"):

1. :func:`create_batch` stores the uploaded file under ``DATA_DIR/imports/<id>-<random>/`` with its SHA-256.
2. :func:`preview_batch` reads and validates every row, compares it with the database and counts
   new / changed / unchanged / removed (出库) / invalid rows; the per-row errors go to an .xlsx
   report next to the file. A file that cannot be read as a whole is ``rejected``. Nothing is
   written to the directories.
3. :func:`apply_batch` re-reads and re-validates the file (the data may have changed since the
   preview: the preview is advisory, apply is exact) and upserts in ONE transaction: all rows, or
   with ``valid_only`` the valid ones; one audit entry for the batch and one per changed record.
   An applied batch is never applied twice (status checked under ``select_for_update``).

Both run as background jobs (:func:`enqueue_preview`, :func:`enqueue_apply`, handlers in
``jobs.py``) and are safe to re-run from the start after a crash.

Speed (≥ 20,000 rows/s with full validation): rows are cleaned in pure Python, compared in
chunks against the records loaded with one query per chunk, and written with bulk statements.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import io
import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from shuangsuiji.core import audit, jobs, permissions
from shuangsuiji.core.models import AuditEntry, Department, Job, Jurisdiction, User
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, unpack

from . import bulk, changelog, checking, schemas
from .models import ImportBatch
from .readers import FileRejected

Status = ImportBatch.Status
Action = AuditEntry.Action

CHUNK = 5000

# Seconds per phase of the last preview/apply in this process (read by bench/import_targets.py):
# validate (read + clean), classify, write_targets, write_entries, write_audit, write_other, commit.
PHASES: dict[str, float] = {}


@contextlib.contextmanager
def _phase(name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - start


SAMPLE_ERRORS = 200
SYSTEM_USERNAME = "system"

Report = Callable[..., None]


class TransferError(ValidationError):
    """A refused import step; ``message`` is Chinese and meant for the user. A ValidationError,
    so a form can show it on its file field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def system_user() -> User:
    """The account the command line acts as when no ``--user`` is given: it cannot log in (no
    usable password, inactive) and appears in the audit trail as 系统（命令行）."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={
            "full_name": "系统（命令行）",
            "is_active": False,
            "is_superuser": True,
            "role": User.Role.OFFICE,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _noop(*args, **kwargs) -> None:
    return None


# --- storing the upload ----------------------------------------------------------------------------


def imports_dir() -> Path:
    return Path(settings.DATA_DIR) / "imports"


def max_upload_bytes() -> int:
    return int(getattr(settings, "SHUANGSUIJI_MAX_UPLOAD_BYTES", 512 * 1024 * 1024))


def _chunks(fileobj_or_path) -> Iterator[bytes]:
    if isinstance(fileobj_or_path, str | os.PathLike):
        with open(fileobj_or_path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk
    elif hasattr(fileobj_or_path, "chunks"):  # Django UploadedFile
        yield from fileobj_or_path.chunks()
    else:
        if hasattr(fileobj_or_path, "seek"):
            with contextlib.suppress(OSError, ValueError):
                fileobj_or_path.seek(0)
        while chunk := fileobj_or_path.read(1 << 20):
            yield chunk


def _safe_suffix(filename: str) -> str:
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix if suffix in (".xlsx", ".xlsm", ".csv", ".txt", ".xls") else ".bin"


def create_batch(
    *, user: User, department: Department, kind: str, filename: str, fileobj_or_path
) -> ImportBatch:
    """Store an uploaded file as a new batch (status ``uploaded``).

    Refuses (PermissionDenied) a user who may not edit the department's data, and
    (:class:`TransferError`) a file over ``SHUANGSUIJI_MAX_UPLOAD_BYTES`` or of an unknown kind."""
    permissions.require_edit(user, department)
    if kind not in schemas.SCHEMAS:
        raise TransferError(f"未知的导入类型：{kind}")
    filename = PurePosixPath((filename or "upload").replace("\\", "/")).name[:255] or "upload"
    limit = max_upload_bytes()
    staging = imports_dir() / f"tmp-{uuid.uuid4().hex}"
    staging.mkdir(parents=True, exist_ok=True)
    stored_name = "upload" + _safe_suffix(filename)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(staging / stored_name, "wb") as out:
            for chunk in _chunks(fileobj_or_path):
                size += len(chunk)
                if size > limit:
                    raise TransferError(
                        f"文件过大：超过上限 {limit / 1024 / 1024:.0f} MB。请把数据拆分成几个文件分别导入"
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise TransferError("文件是空的（0 字节），请选择填好数据的 .xlsx 或 .csv 文件")
        batch = ImportBatch.objects.create(
            kind=kind,
            department=department,
            user=user,
            user_name=str(user),
            filename=filename,
            stored_path="",
            size=size,
            sha256=digest.hexdigest(),
        )
        # "<id>-<random>": ids start again after a database reset (and in parallel test runs
        # sharing a data folder), and an old batch's files must never be overwritten.
        final = imports_dir() / f"{batch.pk}-{staging.name[4:12]}"
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    batch.stored_path = str((final / stored_name).relative_to(settings.DATA_DIR))
    batch.save(update_fields=["stored_path"])
    return batch


def start_import(
    *, user: User, department: Department, kind: str, filename: str, fileobj_or_path
) -> ImportBatch:
    """:func:`create_batch` and :func:`enqueue_preview` in one transaction: a batch whose preview
    job could not be queued is not left behind as "uploaded" for ever (its stored file is
    removed too). What the upload page calls."""
    batch = None
    try:
        with transaction.atomic():
            batch = create_batch(
                user=user,
                department=department,
                kind=kind,
                filename=filename,
                fileobj_or_path=fileobj_or_path,
            )
            enqueue_preview(batch)
    except BaseException:
        if batch is not None and batch.stored_path:
            shutil.rmtree(batch.file.parent, ignore_errors=True)
        raise
    return batch


# --- the row pipeline ------------------------------------------------------------------------------


@dataclass
class Counts:
    total: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    invalid: int = 0
    errors: int = 0

    @property
    def valid(self) -> int:
        return self.total - self.invalid

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "invalid": self.invalid,
        }


@dataclass
class Row:
    number: int
    values: dict
    status: str = ""  # new / changed / unchanged / removed
    existing: object = None
    errors: list = field(default_factory=list)


class ErrorReport:
    """The per-row error report (.xlsx, streamed with xlsxwriter's constant_memory) plus the first
    errors kept for the page and the console."""

    HEADINGS = ("行号", "列", "填写的值", "错误说明")

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self.sample: list[dict] = []
        self._workbook = None
        self._sheet = None

    def _open(self):
        import xlsxwriter

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._workbook = xlsxwriter.Workbook(
            str(self.path), {"constant_memory": True, "strings_to_numbers": False}
        )
        bold = self._workbook.add_format({"bold": True, "bg_color": "#F2DEDE"})
        self._sheet = self._workbook.add_worksheet("错误报告")
        for i, (heading, width) in enumerate(zip(self.HEADINGS, (8, 24, 30, 70), strict=True)):
            self._sheet.set_column(i, i, width)
            self._sheet.write_string(0, i, heading, bold)
        self._sheet.freeze_panes(1, 0)

    def add(self, row: int, column: str, value, message: str) -> None:
        if self._workbook is None:
            self._open()
        self.count += 1
        shown = "" if value is None else schemas.as_text(value)[:300]
        sheet = self._sheet
        sheet.write_number(self.count, 0, row)
        sheet.write_string(self.count, 1, column)
        sheet.write_string(self.count, 2, shown)
        sheet.write_string(self.count, 3, message)
        if len(self.sample) < SAMPLE_ERRORS:
            self.sample.append(
                {"row": row, "column": column, "value": shown[:100], "message": message}
            )

    def close(self) -> bool:
        """True if a report was written."""
        if self._workbook is None:
            if self.path.exists():
                self.path.unlink()
            return False
        self._workbook.close()
        self._workbook = None
        return True


def _descendant_regions(root: Jurisdiction) -> tuple[dict[str, int], dict[int, str]]:
    """Code (and unambiguous name) → id for the jurisdiction and everything under it."""
    rows = list(Jurisdiction.objects.values_list("id", "code", "name", "parent_id"))
    children: dict[int | None, list] = {}
    for row in rows:
        children.setdefault(row[3], []).append(row)
    found = []
    stack = [r for r in rows if r[0] == root.pk]
    while stack:
        row = stack.pop()
        found.append(row)
        stack.extend(children.get(row[0], []))
    by_key: dict[str, int] = {code: pk for pk, code, _n, _p in found}
    names: dict[str, list[int]] = {}
    for pk, _c, name, _p in found:
        names.setdefault(name, []).append(pk)
    for name, pks in names.items():
        if len(pks) == 1 and name not in by_key:
            by_key[name] = pks[0]
    return by_key, {pk: code for pk, code, _n, _p in found}


def _jsonable(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, datetime.date):
            value = value.isoformat()
        out[key] = value
    return out


class Importer:
    """Per-kind comparison and writing. ``classify`` may add row errors (e.g. an ID number that
    belongs to another department); ``write`` runs inside the apply transaction."""

    def __init__(
        self,
        *,
        batch: ImportBatch,
        user: User | None,
        apply: bool,
        audit_entry=None,
        pipeline: bool = False,
    ):
        self.batch = batch
        # May the writes run in a worker thread (bulk.Pipeline)? Only the apply of an import
        # whose transaction is the outermost one, on PostgreSQL.
        self.pipeline_allowed = pipeline
        # The apply's batch-level audit entry (action 导入); large importers attach the per-record
        # before/after to it (:mod:`.changelog`).
        self.audit_entry = audit_entry
        self.department = batch.department
        self.user = user
        self.apply = apply
        self.note = f"导入批次 #{batch.pk}：{batch.filename}"
        self.now = timezone.now()

    def context(self) -> schemas.Context:
        regions, codes = _descendant_regions(self.department.jurisdiction)
        return schemas.Context(regions=regions, region_codes=codes, today=timezone.localdate())

    # May the rows be read and validated in a second process (checking.open_checked)? Only if
    # the duplicate key is the schema's key column, the one key the second process knows.
    checks_apart = False

    def key(self, values: dict):
        return values.get("code")

    def prefetch(self, rows: list[Row]) -> bool:
        """Start looking ``rows`` up in the background; True if :meth:`classify` of these rows
        is then to be called one chunk later (see TargetImporter)."""
        return False

    def classify(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def close(self) -> None:
        """Always called at the end (also after an error), before the transaction ends."""


# Import fields of a target, in the model's attribute names.
TARGET_IMPORT_FIELDS = (
    "name", "object_kind", "entity_type", "registration_authority", "legal_rep", "address",
    "reg_status", "established", "business_scope", "region", "industry", "risk_class", "abnormal",
    "serious_illegal", "complaints",
)  # fmt: skip
_TARGET_ATTR = {f: ("region_id" if f == "region" else f) for f in TARGET_IMPORT_FIELDS}


_TARGET_TYPE = audit.object_type(Target)
_ENTRY_TYPE = audit.object_type(DirectoryEntry)
_TARGET_DEFAULTS = {f: Target._meta.get_field(f).get_default() for f in TARGET_IMPORT_FIELDS}
_target_fields = itemgetter(*_TARGET_DEFAULTS)  # a target's import fields, in that order
# A new target's audit snapshot, as a list of values in this order (changelog ``fields``).
_TARGET_SNAPSHOT_FIELDS = ("code", "code_kind", *_TARGET_DEFAULTS)
_ESTABLISHED_AT = _TARGET_SNAPSHOT_FIELDS.index("established")
_TARGET_BOOLS = ("abnormal", "serious_illegal")


_ENTRY_COLUMNS = (
    "id", "department_id", "target_id", "tags", "active", "added_at", "removed_at",
    "removed_reason", "updated_at",
)  # fmt: skip


def _row_code(row: Row) -> str:
    return row.values["code"]


class TargetImporter(Importer):
    """Targets: the master record (总库, per jurisdiction) plus the department's entry (入库/出库,
    tags). Reads and writes go through :mod:`.bulk` (see there why)."""

    checks_apart = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.jurisdiction_id = self.department.jurisdiction_id
        self.dept_name = self.department.name
        attrs = ", ".join(bulk.qn(_TARGET_ATTR[f]) for f in TARGET_IMPORT_FIELDS)
        self._select_targets = (
            f"SELECT id, code, {attrs} FROM {bulk.qn(bulk.table(Target))} "
            "WHERE jurisdiction_id = %s AND code IN ({in})"
        )
        self._select_entries = (
            f"SELECT id, target_id, tags, active FROM {bulk.qn(bulk.table(DirectoryEntry))} "
            "WHERE department_id = %s AND target_id IN ({in})"
        )
        if bulk.is_postgres():
            # One index look-up per key, whatever the statistics say (with
            # bulk.index_probes): on a table not analysed since the import began the planner
            # chose the (jurisdiction, region, risk) or (department, active) index for
            # "= ANY(…)", and once analysed a hash join over the whole table; either read
            # every row written so far once per chunk: quadratic. The unique indexes match
            # both equalities here.
            target_table = bulk.qn(bulk.table(Target))
            self._select_targets = (
                f"SELECT t.id, t.code, {attrs} FROM unnest(%s::text[]) AS c(code) "
                f"CROSS JOIN LATERAL (SELECT * FROM {target_table} x "
                "WHERE x.jurisdiction_id = %s AND x.code = c.code) t"
            )
            self._select_entries = (
                "SELECT e.id, e.target_id, e.tags, e.active FROM unnest(%s::bigint[]) AS k(id) "
                f"CROSS JOIN LATERAL (SELECT * FROM {bulk.qn(bulk.table(DirectoryEntry))} x "
                "WHERE x.department_id = %s AND x.target_id = k.id) e"
            )
        self._analyse_targets = bulk.Analyser(Target) if self.apply else None
        self._analyse_entries = bulk.Analyser(DirectoryEntry) if self.apply else None
        use_pipeline = (
            self.apply
            and self.pipeline_allowed
            and getattr(settings, "SHUANGSUIJI_IMPORT_PIPELINE", True)
            # An in-memory SQLite database (tests) shares one cache: a second connection
            # could not read the tables the transaction is writing.
            and not (connection.vendor == "sqlite" and connection.is_in_memory_db())
        )
        self.pipeline = bulk.Pipeline() if use_pipeline else None
        self._ahead: deque[tuple[list[Row], Future]] = deque()  # chunks looked up ahead
        self._ids_ahead: dict = {}  # the classified chunk's ids from _look_ahead, by model
        # Look-ups (and PostgreSQL's ids): the second connection while the worker owns the first.
        self._reader = self.pipeline.reader if self.pipeline else None
        # SQLite: the IMMEDIATE transaction holds the write lock from its start, so the next ids
        # are read once, now, and counted up here (the reader would not see this import's rows).
        self._next_ids = (
            {m: bulk.allocate_ids(m, 1)[0] for m in (Target, DirectoryEntry)}
            if self.pipeline is not None and not bulk.is_postgres()
            else None
        )
        self._target_columns = [
            "id", "jurisdiction_id", "code", "code_kind",
            *(_TARGET_ATTR[f] for f in TARGET_IMPORT_FIELDS), "created_at", "updated_at",
        ]  # fmt: skip

    def prefetch(self, rows: list[Row]) -> bool:
        """Start the look-ups of ``rows`` in the pipeline's look-up thread (the caller then
        classifies them one chunk later). False when there is no pipeline."""
        if self.pipeline is None:
            return False
        codes = [r.values["code"] for r in rows]
        active = [r.values["active"] for r in rows]
        self._ahead.append(
            (rows, self.pipeline.look_up(lambda c: self._look_ahead(codes, active, c)))
        )
        return True

    def _look_ahead(self, codes: list[str], active: list[bool], conn) -> tuple:
        """The look-ups of a chunk, and on PostgreSQL the ids its new rows will need (exactly
        the rows :meth:`write` inserts): the main thread no longer waits for ``nextval`` on a
        server busy with the writes (~5 s of a million-row apply)."""
        existing, entries = self._existing(codes, conn)
        ids = {}
        if self._next_ids is None:  # PostgreSQL: sequences are not transactional
            found = [existing.get(code) for code in codes]
            new_targets = sum(1 for t, a in zip(found, active, strict=True) if a and t is None)
            new_entries = sum(
                1
                for t, a in zip(found, active, strict=True)
                if a and (t is None or t["id"] not in entries)
            )
            ids[Target] = bulk.allocate_ids(Target, new_targets, using=conn)
            ids[DirectoryEntry] = bulk.allocate_ids(DirectoryEntry, new_entries, using=conn)
        return existing, entries, ids

    def _existing(self, codes: list[str], using) -> tuple[dict, dict]:
        """The targets with these codes (by code) and the department's entries (by target id)."""
        keys = ("id", "code", *TARGET_IMPORT_FIELDS)
        existing = {}
        for record in self._lookup(self._select_targets, self.jurisdiction_id, codes, using):
            target = dict(zip(keys, record, strict=True))
            target["established"] = bulk.read_date(target["established"])
            for flag in _TARGET_BOOLS:
                target[flag] = bool(target[flag])
            existing[target["code"]] = target
        entries = {}
        if existing:
            ids = [t["id"] for t in existing.values()]
            for entry_id, target_id, tags, active in self._lookup(
                self._select_entries, self.department.pk, ids, using
            ):
                entries[target_id] = {"id": entry_id, "tags": tags, "active": bool(active)}
        return existing, entries

    def classify(self, rows: list[Row]) -> None:
        if self._ahead and self._ahead[0][0] is rows:
            existing, entries, self._ids_ahead = self._ahead.popleft()[1].result()
        else:
            existing, entries = self._existing([r.values["code"] for r in rows], self._reader)
            self._ids_ahead = {}
        for row in rows:
            values = row.values
            target = existing.get(values["code"])
            entry = entries.get(target["id"]) if target else None
            in_directory = entry is not None and entry["active"]
            row.existing = (target, entry)
            if not values["active"]:
                row.status = "removed" if in_directory else "unchanged"
                continue
            if target is None or not in_directory:
                row.status = "new"
                continue
            changed = any(target[k] != v for k, v in values.items() if k in _TARGET_ATTR)
            if changed or ("tags" in values and entry["tags"] != values["tags"]):
                row.status = "changed"
            else:
                row.status = "unchanged"

    def _lookup(self, sql: str, owner: int, keys: list, using=None) -> list[tuple]:
        if not bulk.is_postgres():
            return bulk.select_in(sql, [owner], keys, using=using)
        out: list[tuple] = []
        with (using or connection).cursor() as cursor, bulk.index_probes(cursor):
            for start in range(0, len(keys), bulk.IN_CHUNK):
                cursor.execute(sql, [list(keys[start : start + bulk.IN_CHUNK]), owner])
                out.extend(cursor.fetchall())
        return out

    def _repr(self, target: dict) -> str:
        return f"{target['name']}（{target['code']}）"

    def write(self, rows: list[Row]) -> None:
        now = bulk.adapt_datetime(self.now)
        date = connection.ops.adapt_datefield_value  # bound once: this runs per row
        log = changelog.ChunkLog(self.audit_entry.pk, self.note)
        dept_id = self.department.pk
        pending = [r for r in rows if r.status != "unchanged"]

        # 1. master records: new ones, then changed ones
        new_rows = [r for r in pending if r.values["active"] and r.existing[0] is None]
        # In code order: the unique (jurisdiction, code) index then grows at its end.
        new_rows.sort(key=_row_code)
        ids = self._allocate(Target, len(new_rows))
        ops = []  # the database writes of this chunk, in order: (phase, work(connection))
        inserts = []
        jurisdiction_id, derive_kind = self.jurisdiction_id, schemas.TargetSchema.derive_kind
        kinds: dict[tuple, str] = {}  # the derived kind depends on the code's first two only
        target_log = log.records(_TARGET_TYPE, fields=_TARGET_SNAPSHOT_FIELDS)
        create = Action.CREATE
        for row, target_id in zip(new_rows, ids, strict=True):
            values = row.values
            # The row's values over the defaults (C-level merges; the extra keys such as
            # ``tags`` are never read from a target).
            target = {**_TARGET_DEFAULTS, **values}
            code = values["code"]
            if "object_kind" not in values:
                key = (values["code_kind"], code[:2])
                kind = kinds.get(key)
                if kind is None:
                    kind = kinds[key] = derive_kind(values)
                target["object_kind"] = kind
            # The audit snapshot (the values core.audit.snapshot would write, in the order of
            # _TARGET_SNAPSHOT_FIELDS) doubles as the row: the ISO date string is what SQLite
            # stores and what COPY's text format reads.
            after = [code, values["code_kind"], *_target_fields(target)]
            if target["established"] is not None:
                after[_ESTABLISHED_AT] = target["established"].isoformat()
            inserts.append((target_id, jurisdiction_id, *after, now, now))
            target["id"], target["code"] = target_id, code
            row.existing = (target, None)
            label = f"{target['name']}（{code}）"[:200]
            target_log.append((target_id, [create, label, None, after]))
        target_inserts = inserts

        def insert_targets(conn):
            bulk.insert_rows(Target, self._target_columns, target_inserts, using=conn)
            self._analyse_targets.added(len(target_inserts), using=conn)

        ops.append(("insert_targets", insert_targets))

        created = {id(r) for r in new_rows}
        updates = []
        for row in pending:
            if not row.values["active"] or id(row) in created:
                continue
            target = row.existing[0]
            diff = {k: v for k, v in row.values.items() if k in _TARGET_ATTR and target[k] != v}
            if not diff:
                continue
            before = {k: target[k] for k in diff}
            target.update(diff)
            updates.append(
                (
                    *(
                        date(target[f]) if f == "established" else target[f]
                        for f in TARGET_IMPORT_FIELDS
                    ),
                    now,
                    target["id"],
                )
            )
            log.add(
                Action.UPDATE,
                _TARGET_TYPE,
                target["id"],
                self._repr(target),
                _jsonable(before),
                _jsonable(diff),
            )
        target_updates = updates
        ops.append(
            (
                "update_targets",
                lambda conn: bulk.update_rows(
                    Target,
                    [*(_TARGET_ATTR[f] for f in TARGET_IMPORT_FIELDS), "updated_at"],
                    target_updates,
                    using=conn,
                ),
            )
        )

        # 2. the department's entries: 入库 (new or re-added), tag changes, 出库
        entry_new = [r for r in pending if r.values["active"] and r.existing[1] is None]
        entry_ids = self._allocate(DirectoryEntry, len(entry_new))
        inserts = []
        entry_log = log.records(_ENTRY_TYPE, fields=("target", "active", "tags"))
        prefix = f"{self.dept_name} · "
        for row, entry_id in zip(entry_new, entry_ids, strict=True):
            target = row.existing[0]
            tags = row.values.get("tags", "")
            target_id = target["id"]
            inserts.append((entry_id, dept_id, target_id, tags, True, now, None, "", now))
            label = f"{prefix}{target['name']}（{target['code']}）"[:200]
            entry_log.append((entry_id, [create, label, None, [target_id, True, tags]]))
        entry_inserts = inserts

        def insert_entries(conn):
            bulk.insert_rows(DirectoryEntry, _ENTRY_COLUMNS, entry_inserts, using=conn)
            self._analyse_entries.added(len(entry_inserts), using=conn)

        ops.append(("insert_entries", insert_entries))
        updates = []
        reason = self.note[:200]
        for row in pending:
            target, entry = row.existing
            if entry is None:
                continue
            label = f"{self.dept_name} · {self._repr(target)}"
            before = {"active": entry["active"], "tags": entry["tags"]}
            if not row.values["active"]:
                updates.append((entry["tags"], False, now, reason, now, entry["id"]))
                log.add(
                    Action.REMOVE,
                    _ENTRY_TYPE,
                    entry["id"],
                    label,
                    before,
                    {"active": False, "removed_reason": reason},
                )
                continue
            tags = row.values.get("tags", entry["tags"])
            if entry["active"] and tags == entry["tags"]:
                continue
            updates.append((tags, True, None, "", now, entry["id"]))
            log.add(
                Action.UPDATE,
                _ENTRY_TYPE,
                entry["id"],
                label,
                before,
                {"active": True, "tags": tags},
            )
        entry_updates = updates
        ops.append(
            (
                "update_entries",
                lambda conn: bulk.update_rows(
                    DirectoryEntry,
                    ["tags", "active", "removed_at", "removed_reason", "updated_at"],
                    entry_updates,
                    using=conn,
                ),
            )
        )
        with _phase("build_audit"):
            chunk_rows = log.build()
        ops.append(("insert_audit", lambda conn: changelog.insert(chunk_rows, using=conn)))
        self._write(ops)

    def _allocate(self, model, count: int) -> list[int]:
        ahead = self._ids_ahead.pop(model, None)
        if ahead is not None and len(ahead) == count:  # allocated by _look_ahead
            return ahead
        if self._next_ids is None:
            return bulk.allocate_ids(model, count, using=self._reader)
        start = self._next_ids[model]
        self._next_ids[model] = start + count
        return list(range(start, start + count))

    def _write(self, ops: list) -> None:
        """Run the chunk's writes now, or hand them to the pipeline's worker thread."""
        if self.pipeline is None:
            for phase, work in ops:
                with _phase(phase):
                    work(connection)
            return

        def work_all(conn):
            for phase, work in ops:
                with _phase(phase):
                    work(conn)

        with _phase("wait_writer"):
            self.pipeline.submit(work_all)

    def finish(self) -> None:
        if self.pipeline is not None:
            with _phase("wait_writer"):
                self.pipeline.wait()

    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None


INSPECTOR_IMPORT_FIELDS = (
    "kind", "name", "gender", "phone", "unit", "division", "level", "certificate_no",
    "certificate_authority", "certificate_valid_from", "certificate_valid_to", "regions",
    "specialities", "tags", "available", "availability_note",
)  # fmt: skip
_INSPECTOR_FIELDS = frozenset(INSPECTOR_IMPORT_FIELDS) | {"active"}


class InspectorImporter(Importer):
    checks_apart = True

    def key(self, values):
        return values.get("id_number")

    def classify(self, rows: list[Row]) -> None:
        ids = [r.values["id_number"] for r in rows]
        existing = {
            v["id_number"]: v
            for v in Inspector.objects.filter(id_number__in=ids).values(
                "id",
                "id_number",
                "department_id",
                "department__name",
                "active",
                *INSPECTOR_IMPORT_FIELDS,
            )
        }
        for row in rows:
            values = row.values
            current = existing.get(values["id_number"])
            row.existing = current
            if current is not None and current["department_id"] != self.department.pk:
                message = f"该身份证号已在执法人员名录库中（所在部门：{current['department__name']}），不能导入本部门"
                row.errors.append(("身份证号", values["id_number"], message))
                continue
            if not values["active"]:
                row.status = "removed" if current and current["active"] else "unchanged"
            elif current is None or not current["active"]:
                row.status = "new"
            elif any(current[k] != v for k, v in values.items() if k in _INSPECTOR_FIELDS):
                row.status = "changed"
            else:
                row.status = "unchanged"

    def write(self, rows: list[Row]) -> None:
        creates, updates, changes = [], [], []
        fields: set[str] = set()
        for row in rows:
            if row.status == "unchanged":
                continue
            values, current = row.values, row.existing
            data = {k: v for k, v in values.items() if k in _INSPECTOR_FIELDS}
            if current is None:
                obj = Inspector(department=self.department, id_number=values["id_number"], **data)
                creates.append(obj)
                continue
            diff = {k: v for k, v in data.items() if current[k] != v}
            obj = Inspector(
                id=current["id"], department=self.department, id_number=current["id_number"]
            )
            for k in _INSPECTOR_FIELDS:
                setattr(obj, k, data.get(k, current[k]))
            obj.updated_at = self.now
            fields.update(diff)
            action = Action.REMOVE if not values["active"] else Action.UPDATE
            updates.append(obj)
            changes.append((action, obj, _jsonable({k: current[k] for k in diff}), _jsonable(diff)))
        if creates:
            Inspector.objects.bulk_create(creates, batch_size=1000)
            changes.extend(
                (
                    Action.CREATE,
                    o,
                    None,
                    _jsonable(
                        {"id_number": o.id_number, **{k: getattr(o, k) for k in _INSPECTOR_FIELDS}}
                    ),
                )
                for o in creates
            )
        if updates:
            Inspector.objects.bulk_update(updates, [*sorted(fields), "updated_at"], batch_size=500)
        audit.record_many(self.user, changes, note=self.note, department=self.department)


ITEM_IMPORT_FIELDS = (
    "category", "name", "target_type", "item_type", "methods", "subject", "frequency", "content",
    "basis", "item_class",
)  # fmt: skip


class ItemImporter(Importer):
    """Items go into the department's draft list (created from the published one if needed, by
    ``catalog.services.draft_for_import``). The preview compares with the draft if there is one,
    else with the latest published version — the draft's starting content."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from shuangsuiji.catalog.models import ItemList

        self.item_list = None
        if self.apply:
            from shuangsuiji.catalog import services as catalog

            draft = catalog.draft_for_import(user=self.user, department=self.department)
            self.item_list = catalog.lock_draft(user=self.user, item_list=draft)
        else:
            lists = ItemList.objects.filter(department=self.department).order_by("-version")
            self.item_list = (
                lists.filter(status=ItemList.Status.DRAFT).first()
                or lists.filter(status=ItemList.Status.PUBLISHED).first()
            )
        self.items = list(self.item_list.items.all()) if self.item_list else []
        self.by_code = {i.code: i for i in self.items}
        self.by_name: dict[str, list] = {}
        for item in self.items:
            self.by_name.setdefault(item.name, []).append(item)
        self.new_items: list = []
        self.deleted: list = []

    def key(self, values):
        return values.get("code") or ("名称:" + values["name"] if values.get("name") else None)

    def _match(self, values):
        if values.get("code"):
            return self.by_code.get(values["code"])
        same = self.by_name.get(values.get("name"), [])
        if len(same) > 1:
            same = [i for i in same if i.target_type == values.get("target_type")] or same[:1]
        return same[0] if same else None

    def classify(self, rows: list[Row]) -> None:
        for row in rows:
            values = row.values
            item = self._match(values)
            row.existing = item
            if not values["active"]:
                row.status = "removed" if item else "unchanged"
            elif item is None:
                row.status = "new"
            elif any(getattr(item, k) != v for k, v in values.items() if k in ITEM_IMPORT_FIELDS):
                row.status = "changed"
            else:
                row.status = "unchanged"

    def write(self, rows: list[Row]) -> None:
        from shuangsuiji.catalog import services as catalog
        from shuangsuiji.catalog.models import Item

        item_list = self.item_list
        creates = [r for r in rows if r.status == "new"]
        changes = []
        if creates:
            wanted = sum(1 for r in creates if not r.values.get("code"))
            fresh = iter(catalog.next_item_codes(item_list, wanted)) if wanted else iter(())
            seq = max((i.seq for i in self.items), default=0)
            objs = []
            for row in creates:
                seq += 1
                data = {k: v for k, v in row.values.items() if k in ITEM_IMPORT_FIELDS}
                obj = Item(
                    item_list=item_list, code=row.values.get("code") or next(fresh), seq=seq, **data
                )
                objs.append(obj)
                self.items.append(obj)
                self.by_code[obj.code] = obj
            Item.objects.bulk_create(objs)
            catalog.remember_codes(item_list, [o.code for o in objs])
            changes.extend((Action.CREATE, o, None, audit.snapshot(o)) for o in objs)
        for row in rows:
            if row.status == "changed":
                item = row.existing
                before = audit.snapshot(item)
                for k, v in row.values.items():
                    if k in ITEM_IMPORT_FIELDS:
                        setattr(item, k, v)
                item.save()
                changes.append((Action.UPDATE, item, before, audit.snapshot(item)))
            elif row.status == "removed":
                self.deleted.append(row.existing)
        audit.record_many(self.user, changes, note=self.note, department=self.department)

    def finish(self) -> None:
        if self.apply and self.deleted:
            from shuangsuiji.catalog import services as catalog

            catalog.delete_items(
                user=self.user, item_list=self.item_list, items=self.deleted, note=self.note
            )


IMPORTERS: dict[str, type[Importer]] = {
    "targets": TargetImporter,
    "inspectors": InspectorImporter,
    "items": ItemImporter,
}


@dataclass
class Outcome:
    counts: Counts
    sheet_name: str
    where: str
    report_written: bool
    sample: list[dict]
    error_count: int


def _process(
    batch: ImportBatch,
    *,
    user: User | None,
    apply: bool,
    valid_only: bool,
    report: Report,
    audit_entry: AuditEntry | None = None,
    pipeline: bool = False,
) -> Outcome:
    """Read, validate and compare every row (and with ``apply``, write). FileRejected propagates."""
    PHASES.clear()
    with _phase("process"):
        return _process_rows(
            batch,
            user=user,
            apply=apply,
            valid_only=valid_only,
            report=report,
            audit_entry=audit_entry,
            pipeline=pipeline,
        )


def _process_rows(
    batch: ImportBatch,
    *,
    user: User | None,
    apply: bool,
    valid_only: bool,
    report: Report,
    audit_entry: AuditEntry | None = None,
    pipeline: bool = False,
) -> Outcome:
    schema = schemas.get_schema(batch.kind)
    importer = IMPORTERS[batch.kind](
        batch=batch, user=user, apply=apply, audit_entry=audit_entry, pipeline=pipeline
    )
    try:
        return _run_importer(
            importer, batch, schema, apply=apply, valid_only=valid_only, report=report
        )
    finally:
        importer.close()  # before the transaction ends: waits for a worker thread


def _run_importer(
    importer: Importer,
    batch: ImportBatch,
    schema,
    *,
    apply: bool,
    valid_only: bool,
    report: Report,
) -> Outcome:
    context = importer.context()
    counts = Counts()
    report_path = batch.file.parent / "errors.xlsx"
    errors = ErrorReport(report_path)
    with checking.open_checked(
        batch.file,
        filename=batch.filename,
        schema=schema,
        context=context,
        key=importer.key,
        apart=importer.checks_apart,
    ) as checked:
        total = checked.total_estimate
        report(0, total, f"正在校验{checked.where}")
        chunk: list[Row] = []
        waiting: list[Row] = []  # a chunk whose look-ups run in the background (prefetch)
        done = 0

        def flush(chunk: list[Row]) -> None:
            if chunk:
                with _phase("classify"):
                    importer.classify(chunk)
            good = []
            for row in chunk:
                if row.errors:
                    counts.invalid += 1
                    for heading, value, message in row.errors:
                        errors.add(row.number, heading, value, message)
                    continue
                good.append(row)
                setattr(counts, row.status, getattr(counts, row.status) + 1)
            if apply and good and (valid_only or counts.invalid == 0):
                with _phase("write"):
                    importer.write(good)

        for number, values, row_errors in checked.rows:
            counts.total += 1
            if row_errors:
                counts.invalid += 1
                for heading, value, message in row_errors:
                    errors.add(number, heading, value, message)
                continue
            chunk.append(Row(number, values))
            if len(chunk) >= CHUNK:
                if importer.prefetch(chunk):  # looked up meanwhile; classified one chunk later
                    flush(waiting)
                    waiting = chunk
                else:
                    flush(chunk)
                chunk = []
                done = counts.total
                report(done, max(total, done), None)
        flush(waiting)
        flush(chunk)
        if counts.total == 0:
            raise FileRejected(f"{checked.where}只有列标题，没有数据行")
        if apply:
            importer.finish()
        counts.errors = errors.count
        written = errors.close()
        return Outcome(
            counts, checked.sheet_name, checked.where, written, errors.sample, errors.count
        )


def _save_outcome(batch: ImportBatch, outcome: Outcome, **extra) -> None:
    c = outcome.counts
    batch.total, batch.new, batch.changed, batch.unchanged = c.total, c.new, c.changed, c.unchanged
    batch.removed, batch.invalid, batch.error_count = c.removed, c.invalid, outcome.error_count
    batch.sample_errors = outcome.sample
    batch.sheet_name = outcome.sheet_name
    report_file = batch.file.parent / "errors.xlsx"
    batch.report_path = (
        str(report_file.relative_to(settings.DATA_DIR)) if outcome.report_written else ""
    )
    for key, value in extra.items():
        setattr(batch, key, value)
    batch.save()


def _reject(batch: ImportBatch, message: str) -> ImportBatch:
    batch.status = Status.REJECTED
    batch.message = message
    batch.total = batch.new = batch.changed = batch.unchanged = batch.removed = batch.invalid = 0
    batch.error_count = 0
    batch.sample_errors = []
    batch.report_path = ""
    batch.save()
    return batch


def _summary(batch: ImportBatch, where: str) -> str:
    return f"读取了{where}：共 {batch.total:,} 行，其中无效 {batch.invalid:,} 行。"


def preview_batch(batch: ImportBatch, *, report: Report | None = None) -> ImportBatch:
    """Validate every row and compare with the database; save counts and the error report.

    Writes nothing to the directories. Safe to re-run. A file that cannot be read as a whole
    ends ``rejected`` with the reason in ``batch.message``."""
    report = report or _noop
    batch.refresh_from_db()
    if batch.status in (Status.APPLYING, Status.APPLIED):
        raise TransferError("该批次已导入或正在导入，不能重新校验")
    batch.status = Status.PREVIEWING
    batch.message = ""
    batch.save(update_fields=["status", "message"])
    try:
        outcome = _process(batch, user=batch.user, apply=False, valid_only=False, report=report)
    except FileRejected as exc:
        return _reject(batch, exc.message)
    except Exception as exc:
        batch.status = Status.FAILED
        batch.message = f"校验时出错：{exc}"
        batch.save(update_fields=["status", "message"])
        raise
    _save_outcome(batch, outcome, status=Status.PREVIEWED, previewed_at=timezone.now())
    batch.message = _summary(batch, outcome.where)
    batch.save(update_fields=["message"])
    report(batch.total, batch.total, "校验完成", force=True)
    return batch


class _Refused(Exception):
    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class _SideProgress:
    """Progress from inside the apply transaction. On PostgreSQL it is written on a second
    connection (autocommit), so the page sees it while the transaction is open; on SQLite a
    second writer would wait for the transaction's lock, so nothing is written until the end."""

    def __init__(self, job_id: int | None, interval: float = 0.5):
        self.job_id = job_id
        self.interval = interval
        self._last = 0.0
        self._conn = None
        if job_id and connection.vendor == "postgresql":
            from django.db import connections

            self._conn = connections.create_connection("default")

    def __call__(self, progress, total=None, message=None, force=False):
        if self._conn is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        sets, params = ["progress = %s", "heartbeat_at = %s"], [progress, timezone.now()]
        if total is not None:
            sets.append("total = %s")
            params.append(total)
        if message is not None:
            sets.append("message = %s")
            params.append(message[:200])
        with self._conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET {', '.join(sets)} WHERE id = %s",
                [*params, self.job_id],
            )

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def apply_batch(
    batch: ImportBatch, *, user: User, valid_only: bool = False, report: Report | None = None
) -> ImportBatch:
    """Re-validate and write the batch in one transaction (see the module docstring).

    Default all-or-nothing: if any row is invalid nothing is written and the batch goes back to
    ``previewed`` with the new counts and ``message`` saying why. ``valid_only`` writes the
    valid rows. Applying an applied batch again does nothing."""
    report = report or _noop
    permissions.require_edit(user, batch.department)
    batch.refresh_from_db()
    if batch.status == Status.APPLIED:
        return batch
    if batch.status not in (Status.PREVIEWED, Status.APPLYING):
        raise TransferError(f"该批次的状态是“{batch.get_status_display()}”，需要先完成校验才能导入")
    if batch.invalid and not valid_only:
        raise TransferError(
            f"有 {batch.invalid:,} 行数据无效，按“全部或全不”的规则不能导入。请修改后重新上传，或选择“仅导入有效行”"
        )
    if batch.valid == 0:
        raise TransferError("没有可以导入的有效行")
    batch.status = Status.APPLYING
    batch.valid_only = valid_only
    batch.message = ""
    batch.save(update_fields=["status", "valid_only", "message"])
    report(0, batch.total, "正在导入（写入数据库）", force=True)
    side = _SideProgress(batch.job_id)
    # The writes may run in a worker thread only if this import's transaction is the outermost
    # one: its look-ups then go through a second connection, which sees committed data only.
    outermost = not connection.in_atomic_block
    try:
        with bulk.big_cache(), transaction.atomic():
            bulk.immediate_constraints()
            locked = (
                ImportBatch.objects.select_for_update()
                .select_related("department")
                .get(pk=batch.pk)
            )
            if locked.status == Status.APPLIED:  # a re-run after another worker finished
                return locked
            # The batch's audit entry comes first: the importer attaches every record's
            # before/after to it (changelog); its counts are filled in at the end.
            described = {
                "kind": locked.kind,
                "filename": locked.filename,
                "sha256": locked.sha256,
                "valid_only": valid_only,
            }
            entry = audit.record(
                user,
                Action.IMPORT,
                locked,
                after=described,
                note=f"{locked.get_kind_display()}导入：{locked.filename}",
                department=locked.department,
            )
            outcome = _process(
                locked,
                user=user,
                apply=True,
                valid_only=valid_only,
                report=side,
                audit_entry=entry,
                pipeline=outermost,
            )
            counts = outcome.counts
            if counts.invalid and not valid_only:
                raise _Refused(
                    outcome,
                    f"导入时重新校验发现 {counts.invalid:,} 行无效（数据在校验后发生了变化），未导入任何数据。请查看错误报告",
                )
            if counts.valid == 0:
                raise _Refused(outcome, "没有可以导入的有效行，未导入任何数据")
            applied = counts.new + counts.changed + counts.removed
            _save_outcome(
                locked,
                outcome,
                status=Status.APPLIED,
                applied_at=timezone.now(),
                applied_by=user,
                message=(
                    f"已导入：新增 {counts.new:,}，修改 {counts.changed:,}，出库 {counts.removed:,}，"
                    f"未变 {counts.unchanged:,}"
                    + (f"，跳过无效行 {counts.invalid:,}" if counts.invalid else "")
                ),
            )
            entry.at = timezone.now()
            entry.after = {**described, **counts.as_dict(), "applied": applied}
            entry.save(update_fields=["at", "after"])
            commit_start = time.perf_counter()
        PHASES["commit"] = time.perf_counter() - commit_start
        return locked
    except _Refused as refused:
        batch.refresh_from_db()
        _save_outcome(batch, refused.outcome, status=Status.PREVIEWED, message=refused.message)
        return batch
    except FileRejected as exc:
        batch.refresh_from_db()
        return _reject(batch, exc.message)
    except Exception as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=Status.FAILED, message=f"导入失败，未写入任何数据：{exc}"[:2000]
        )
        raise
    finally:
        side.close()


# --- background jobs -------------------------------------------------------------------------------


def enqueue_preview(batch: ImportBatch) -> Job:
    job = jobs.enqueue(
        "import.preview",
        {"batch": batch.pk},
        user=batch.user,
        department=batch.department,
        total=batch.total,
    )
    batch.job = job
    batch.save(update_fields=["job"])
    return job


def enqueue_apply(batch: ImportBatch, valid_only: bool = False, *, user: User | None = None) -> Job:
    """Queue the apply step; ``user`` (default: the uploader) is who the audit names."""
    user = user or batch.user
    permissions.require_edit(user, batch.department)
    if batch.status != Status.PREVIEWED:
        raise TransferError(f"该批次的状态是“{batch.get_status_display()}”，不能导入")
    if batch.invalid and not valid_only:
        raise TransferError(
            f"有 {batch.invalid:,} 行数据无效，不能全部导入。请修改后重新上传，或选择“仅导入有效行”"
        )
    job = jobs.enqueue(
        "import.apply",
        {"batch": batch.pk, "valid_only": bool(valid_only), "user": user.pk},
        user=user,
        department=batch.department,
        total=batch.total,
    )
    batch.job = job
    batch.valid_only = bool(valid_only)
    batch.save(update_fields=["job", "valid_only"])
    return job


# --- export ----------------------------------------------------------------------------------------

_STATUS_SHORT = {
    "active": "存续",
    "suspended": "停业",
    "deregistered": "注销",
    "revoked": "吊销",
    "cancelled": "撤销",
    "moved_out": "迁出",
}
_KIND_LABEL = dict(Target.ObjectKind.choices)
_PERSON_KIND_LABEL = dict(Inspector.Kind.choices)
_GENDER_LABEL = dict(Inspector.Gender.choices)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _joined(packed: str) -> str:
    return "、".join(unpack(packed))


def export_rows(*, user: User, kind: str, department: Department, params=None) -> Iterator[list]:
    """The department's current rows (filtered by the list pages' GET ``params``), one list of
    cells per row, in the schema's column order: what the import reads back unchanged."""
    permissions.require_view(user, department)
    params = dict(params or {})
    if kind == "targets":
        return _export_targets(user, department, params)
    if kind == "inspectors":
        return _export_inspectors(user, department, params)
    if kind == "items":
        return _export_items(user, department, params)
    raise TransferError(f"未知的导出类型：{kind}")


def _export_targets(user, department, params) -> Iterator[list]:
    from shuangsuiji.directory.selectors import target_entries

    qs = target_entries(user=user, params=params, department=department)
    fields = (
        "code", "name", "object_kind", "entity_type", "registration_authority", "legal_rep", "address",
        "reg_status", "established", "business_scope", "region__code", "industry", "risk_class",
        "abnormal", "serious_illegal", "complaints", "entry_tags",
    )  # fmt: skip
    for (code, name, kind, etype, authority, rep, address, status, established, scope, region, industry,
         risk, abnormal, serious, complaints, tags) in qs.values_list(*fields).iterator(chunk_size=2000):  # fmt: skip
        yield [
            code, name, _KIND_LABEL.get(kind, kind), etype, authority, rep, address,
            _STATUS_SHORT.get(status, status), established, scope, region or "", industry,
            "" if risk == "U" else risk, _yes(abnormal), _yes(serious), complaints, _joined(tags or ""), "入库",
        ]  # fmt: skip


def _export_inspectors(user, department, params) -> Iterator[list]:
    from shuangsuiji.directory.selectors import inspector_list

    params = {**params, "department": department.code}
    qs = inspector_list(user=user, params=params).filter(department=department)
    personal = permissions.can_see_personal_data(user, department)
    for p in qs.iterator(chunk_size=2000):
        id_number = p.id_number if personal else permissions.mask_id_number(p.id_number)
        phone = p.phone if personal else permissions.mask_phone(p.phone)
        yield [
            id_number, p.name, _GENDER_LABEL.get(p.gender, ""), phone, p.unit, p.division, p.level,
            p.certificate_no, p.certificate_authority, p.certificate_valid_from, p.certificate_valid_to,
            _joined(p.regions), _joined(p.specialities), _joined(p.tags), _PERSON_KIND_LABEL.get(p.kind, p.kind),
            _yes(p.available), p.availability_note, "入库" if p.active else "出库",
        ]  # fmt: skip


def current_item_list(department: Department, params=None):
    """The list an items export shows: ``params['list']`` if given (a version of this
    department), else the draft, else the latest published version."""
    from shuangsuiji.catalog.models import ItemList

    lists = ItemList.objects.filter(department=department).order_by("-version")
    if params and params.get("list"):
        value = params["list"]
        value = value[-1] if isinstance(value, list | tuple) else value
        try:
            return lists.get(pk=int(value))
        except (ItemList.DoesNotExist, ValueError, TypeError):
            raise TransferError("没有这个版本的清单") from None
    return (
        lists.filter(status=ItemList.Status.DRAFT).first()
        or lists.filter(status=ItemList.Status.PUBLISHED).first()
    )


def _export_items(user, department, params) -> Iterator[list]:
    from shuangsuiji.catalog.models import Item

    item_list = current_item_list(department, params)
    if item_list is None:
        return
    type_label = dict(Item.ItemType.choices)
    for i in item_list.items.order_by("seq", "code"):
        yield [
            i.code, i.category, i.name, i.target_type, type_label.get(i.item_type, i.item_type), i.methods,
            i.subject, i.frequency, i.content, i.basis, i.item_class, "入库",
        ]  # fmt: skip


def _cell(value):
    return "" if value is None else value


def write_export(path_or_buffer, kind: str, rows: Iterable[list], fmt: str = "xlsx") -> int:
    """Write ``rows`` (from :func:`export_rows`) under the import's headings; returns the row count.

    ``fmt`` ``xlsx`` (xlsxwriter, constant memory; code columns as text so Excel keeps every
    digit) or ``csv`` (UTF-8 with BOM, which Excel opens correctly)."""
    schema = schemas.get_schema(kind)
    columns = schema.export_columns
    if fmt == "csv":
        own = isinstance(path_or_buffer, str | os.PathLike)
        raw = open(path_or_buffer, "wb") if own else path_or_buffer  # noqa: SIM115
        try:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", write_through=True)
            writer = csv.writer(text)
            writer.writerow([c.heading for c in columns])
            n = 0
            for row in rows:
                writer.writerow(
                    [v.isoformat() if isinstance(v, datetime.date) else _cell(v) for v in row]
                )
                n += 1
            text.flush()
            text.detach()
        finally:
            if own:
                raw.close()
        return n
    if fmt != "xlsx":
        raise TransferError(f"不支持的导出格式：{fmt}")
    import xlsxwriter

    target = (
        str(path_or_buffer) if isinstance(path_or_buffer, str | os.PathLike) else path_or_buffer
    )
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    head = workbook.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "vcenter"}
    )
    text_fmt = workbook.add_format({"num_format": "@"})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(schema.sheet_name)
    for i, c in enumerate(columns):
        sheet.set_column(i, i, c.width, text_fmt if c.text else None)
    sheet.freeze_panes(1, 0)
    for i, c in enumerate(columns):
        sheet.write_string(0, i, c.heading, head)
    n = 0
    for n, row in enumerate(rows, start=1):
        for i, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(n, i, value, text_fmt if columns[i].text else None)
            elif isinstance(value, bool):
                sheet.write_string(n, i, _yes(value))
            elif isinstance(value, datetime.date):
                sheet.write_datetime(
                    n, i, datetime.datetime.combine(value, datetime.time()), date_fmt
                )
            else:
                sheet.write_number(n, i, value)
    workbook.close()
    return n


def export_count(*, user: User, kind: str, department: Department, params=None) -> int:
    """How many rows :func:`export_rows` would give (one COUNT query)."""
    permissions.require_view(user, department)
    params = dict(params or {})
    if kind == "targets":
        from shuangsuiji.directory.selectors import target_entries

        return target_entries(user=user, params=params, department=department).count()
    if kind == "inspectors":
        from shuangsuiji.directory.selectors import inspector_list

        params = {**params, "department": department.code}
        return inspector_list(user=user, params=params).filter(department=department).count()
    if kind == "items":
        item_list = current_item_list(department, params)
        return item_list.items.count() if item_list else 0
    raise TransferError(f"未知的导出类型：{kind}")


def export_direct_rows() -> int:
    """Exports of more .xlsx rows than this run as a background job (xlsxwriter writes ~4,000
    rows/s: 100,000 rows take ~25 s, too long for one web request)."""
    return int(getattr(settings, "SHUANGSUIJI_EXPORT_DIRECT_ROWS", 10_000))


def exports_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


def enqueue_export(
    *, user: User, kind: str, department: Department, params: dict, fmt: str = "xlsx"
) -> Job:
    """Queue an export (handler ``export`` in jobs.py); only ``user`` may download the file.
    The rows are chosen when the job runs, with the user's permissions at that time."""
    permissions.require_view(user, department)
    if fmt not in ("xlsx", "csv"):
        raise TransferError(f"不支持的导出格式：{fmt}")
    total = export_count(user=user, kind=kind, department=department, params=params)
    return jobs.enqueue(
        "export",
        {"kind": kind, "department": department.pk, "params": params, "format": fmt},
        user=user,
        department=department,
        total=total,
    )


def run_export(job: Job, report: Report) -> dict:
    """The ``export`` job: write the file under ``DATA_DIR/exports/<job>-<random>/``."""
    user = job.created_by
    department = Department.objects.get(pk=job.params["department"])
    kind, fmt, params = job.params["kind"], job.params["format"], job.params.get("params") or {}
    total = export_count(user=user, kind=kind, department=department, params=params)
    report(0, total, "正在导出", force=True)
    folder = exports_dir() / f"{job.pk}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    filename = export_filename(kind, department, fmt)
    path = folder / f"export.{fmt}"

    def counted(rows):
        for n, row in enumerate(rows, start=1):
            if n % 1000 == 0:
                report(n, total, None)
            yield row

    try:
        n = write_export(
            path,
            kind,
            counted(export_rows(user=user, kind=kind, department=department, params=params)),
            fmt,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    report(n, n, "导出完成", force=True)
    return {
        "path": str(path.relative_to(settings.DATA_DIR)),
        "filename": filename,
        "format": fmt,
        "rows": n,
    }


def export_filename(kind: str, department: Department, fmt: str = "xlsx") -> str:
    title = schemas.get_schema(kind).title
    return f"{department.name}{title}_{timezone.localdate():%Y%m%d}.{fmt}"


def write_template(kind: str, out=None) -> bytes | None:
    """The blank template (.xlsx): the data sheet with the headings (code columns formatted as
    text, drop-downs for the choice columns) and a sheet 填写说明 explaining every column, its
    allowed values and an example row. Written to ``out`` (a binary file) if given, else returned."""
    import xlsxwriter

    schema = schemas.get_schema(kind)
    columns = schema.export_columns
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    head = workbook.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    required = workbook.add_format(
        {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    text_fmt = workbook.add_format({"num_format": "@"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet(schema.sheet_name)
    for i, c in enumerate(columns):
        sheet.set_column(i, i, c.width, text_fmt if c.text else None)
        sheet.write_string(0, i, c.heading, required if c.required else head)
        comment = c.help or c.allowed
        if comment:
            sheet.write_comment(
                0,
                i,
                f"{'必填。' if c.required else ''}{comment}"[:1000],
                {"x_scale": 2, "y_scale": 1.5},
            )
        if c.choices:
            sheet.data_validation(
                1, i, 10000, i,
                {"validate": "list", "source": list(c.choices), "error_type": "warning",
                 "error_message": f"可填：{c.allowed or '、'.join(c.choices)}"},
            )  # fmt: skip
    sheet.set_row(0, 32)
    sheet.freeze_panes(1, 0)

    notes = workbook.add_worksheet("填写说明")
    notes.set_column(0, 0, 24)
    notes.set_column(1, 1, 8)
    notes.set_column(2, 2, 40)
    notes.set_column(3, 3, 60)
    notes.set_column(4, 4, 28)
    notes.write_string(
        0,
        0,
        f"{schema.title}导入模板 填写说明",
        workbook.add_format({"bold": True, "font_size": 14}),
    )
    notes.write_string(
        1, 0,
        f"请在第一个工作表“{schema.sheet_name}”中从第2行起填写，每行一条；不要修改列标题，不要使用公式和合并单元格。"
        "可以删去不需要的非必填列：缺少的列在导入时保持原值不变，留空的单元格表示清空（或取默认值）。",
        wrap,
    )  # fmt: skip
    for i, title in enumerate(("列标题", "必填", "可填的值", "说明", "示例")):
        notes.write_string(3, i, title, head)
    for r, c in enumerate(columns, start=4):
        notes.write_string(r, 0, c.heading)
        notes.write_string(r, 1, "必填" if c.required else "")
        notes.write_string(r, 2, c.allowed, wrap)
        notes.write_string(r, 3, c.help, wrap)
        notes.write_string(r, 4, c.example)
    example_row = len(columns) + 6
    notes.write_string(
        example_row, 0, "示例行（仅供参考，不会被导入）：", workbook.add_format({"bold": True})
    )
    for i, c in enumerate(columns):
        notes.write_string(example_row + 1, i, c.heading, head)
        notes.write_string(example_row + 2, i, c.example)
    workbook.close()
    if out is not None:
        out.write(buffer.getvalue())
        return None
    return buffer.getvalue()


def template_filename(kind: str) -> str:
    return f"{schemas.get_schema(kind).title}导入模板.xlsx"
