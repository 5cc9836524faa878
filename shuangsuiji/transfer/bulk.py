"""Fast bulk reads and writes for imports of up to a million rows.

The ORM's ``bulk_create`` spends most of its time building model instances and compiling SQL
(measured: under 2,000 rows/s for targets + entries + audit entries on this machine); these
helpers send plain parameter tuples instead: ``executemany`` on SQLite and ``COPY`` on
PostgreSQL, with ids allocated up front so that the rows can refer to each other (a directory
entry to its new target, an audit entry to its record) without reading them back.

They must run inside the import's transaction (SQLite's write lock or PostgreSQL's sequence
makes the id allocation safe) and take values already adapted to the database by the caller
through :func:`adapt_date` / :func:`adapt_datetime`.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection
from django.db.models import Model

# SQLite's default maximum number of host parameters is 32766 (since 3.32); stay well below.
IN_CHUNK = 5000


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def table(model: type[Model]) -> str:
    return model._meta.db_table


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def adapt_date(value: datetime.date | None):
    return connection.ops.adapt_datefield_value(value)


def adapt_datetime(value: datetime.datetime | None):
    return connection.ops.adapt_datetimefield_value(value)


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def adapt_json(value) -> str | None:
    return None if value is None else _JSON.encode(value)


@contextmanager
def big_cache(megabytes: int | None = None):
    """A larger SQLite page cache for one import: the default 2 MB makes index updates of a
    million-row insert spill to the WAL over and over. No-op on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    if megabytes is None:
        from django.conf import settings

        megabytes = int(
            getattr(settings, "SHUANGSUIJI_IMPORT_CACHE_MB", 0)
            or os.environ.get("SHUANGSUIJI_IMPORT_CACHE_MB", 256)
        )
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(megabytes) * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def read_date(value) -> datetime.date | None:
    """A date column as read by a raw query (SQLite returns text)."""
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def allocate_ids(model: type[Model], count: int, *, using=None) -> list[int]:
    """``count`` fresh primary keys for ``model`` (inside the writing transaction; on
    PostgreSQL ``using`` may be another connection: sequences are not transactional)."""
    if count <= 0:
        return []
    with (using or connection).cursor() as cursor:
        if is_postgres():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table(model), count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the write lock, so nobody else inserts now;
        # inserting explicit ids also advances the AUTOINCREMENT sequence.
        cursor.execute(f"SELECT MAX(id) FROM {qn(table(model))}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table(model)])
        row = cursor.fetchone()
        top = max(top, row[0] if row else 0)
        return list(range(top + 1, top + 1 + count))


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence], *, using=None
) -> int:
    """INSERT ``rows`` (tuples in ``columns`` order, values adapted); returns the count."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    names = ", ".join(qn(c) for c in columns)
    with (using or connection).cursor() as cursor:
        if is_postgres():
            raw = cursor.cursor  # the psycopg cursor: COPY is several times faster than INSERT
            with raw.copy(f"COPY {qn(table(model))} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {qn(table(model))} ({names}) VALUES ({marks})", rows)
    return len(rows)


def update_rows(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence], *, using=None
) -> int:
    """UPDATE by id: each row is the ``columns`` values followed by the id."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    sets = ", ".join(f"{qn(c)} = %s" for c in columns)
    with (using or connection).cursor() as cursor:
        cursor.executemany(f"UPDATE {qn(table(model))} SET {sets} WHERE id = %s", rows)
    return len(rows)


def select_in(
    sql: str, params: Sequence, values: Sequence, chunk: int = IN_CHUNK, *, using=None
) -> list[tuple]:
    """Run ``sql`` (with one ``{in}`` placeholder for the IN list) over ``values`` in chunks."""
    out: list[tuple] = []
    with (using or connection).cursor() as cursor:
        if is_postgres() and "IN ({in})" in sql:
            # One array parameter: psycopg spent ~11 ms parsing each 5,000-placeholder query.
            sql = sql.replace("IN ({in})", "= ANY(%s)")
            for start in range(0, len(values), chunk):
                cursor.execute(sql, [*params, list(values[start : start + chunk])])
                out.extend(cursor.fetchall())
            return out
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            cursor.execute(sql.format(**{"in": ", ".join(["%s"] * len(part))}), [*params, *part])
            out.extend(cursor.fetchall())
    return out


@contextmanager
def index_probes(cursor):
    """PostgreSQL: plan the look-ups run on ``cursor`` as one unique-index probe per key.

    The look-ups are written ``unnest(keys) CROSS JOIN LATERAL (… WHERE x.code = c.code)``, but
    the planner flattens that into a join and, once ANALYZE has counted rows (also rows of the
    import's own uncommitted transaction, which a second connection cannot see but still
    reads), may hash-join them with a sequential scan of the whole table for every chunk:
    quadratic (measured, 5,000 keys against 250,000 / 500,000 uncommitted rows: 24 / 17 ms
    hashed, 10 ms probed). Without hash and merge joins the only plan left is the nested
    loop of index probes (2–5 µs a key). The settings are put back afterwards (and revert
    with the transaction on an error)."""
    if not is_postgres():
        yield
        return
    names = ("enable_hashjoin", "enable_mergejoin")
    cursor.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in names))
    previous = cursor.fetchone()
    cursor.execute("SELECT " + ", ".join(f"set_config('{n}', 'off', false)" for n in names))
    try:
        yield
    finally:
        cursor.execute(
            "SELECT " + ", ".join(f"set_config('{n}', %s, false)" for n in names), previous
        )


def immediate_constraints() -> None:
    """PostgreSQL: check foreign keys as rows arrive instead of at COMMIT. Django declares them
    DEFERRABLE INITIALLY DEFERRED, which queues one trigger event per row and key until the
    commit of a million-row import."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Analyser:
    """PostgreSQL: keep the planner's statistics of a table in step with a large import.

    On a table never analysed (or analysed when it was much smaller) the planner does not know
    that ``code`` is nearly unique and answers the import's look-up of existing codes through
    the (jurisdiction, region, risk_class) index, reading every row of the jurisdiction that the
    import has already written, once per chunk: quadratic (measured: 24 s of a million-row
    apply). ANALYZE inside the transaction counts the transaction's own rows; it is run after
    the first chunk and again each time the import has doubled the table (~10 runs of ~0.1 s
    for a million rows). No-op on SQLite, whose planner picks the unique index anyway."""

    def __init__(self, model: type[Model]):
        self.model = model
        self.enabled = is_postgres()
        self.inserted = 0
        self.next_at = 0
        if self.enabled:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table(model)]
                )
                row = cursor.fetchone()
            self.base = max(int(row[0]) if row else 0, 0)
            self.next_at = 1

    def added(self, count: int, *, using=None) -> None:
        if not self.enabled or count <= 0:
            return
        self.inserted += count
        if self.inserted >= self.next_at:
            with (using or connection).cursor() as cursor:
                cursor.execute(f"ANALYZE {qn(table(self.model))}")
            self.next_at = 2 * (self.base + self.inserted) - self.base


class Pipeline:
    """The import's writes run in a worker thread on the transaction's connection while the
    main thread reads, validates and builds the next chunk.

    PostgreSQL (1M rows): the importer's CPU ~45 s and its backend's ~35 s (COPY, foreign-key
    checks, index updates) were spent one after the other; with two cores they overlap. SQLite
    releases the GIL while it updates its B-trees (sqlite3_step), which then overlaps the
    validation of the next chunk (a second connection reads beside the writer in WAL mode). At most
    one chunk is in flight: :meth:`submit` waits for the previous one and re-raises its error.
    The main thread must not touch the transaction's connection meanwhile: id allocation goes
    through ``reader``, a second (autocommit) connection, and the look-ups of existing rows run
    one chunk ahead in a look-up thread on a third (:meth:`look_up`). That is only
    correct when the import's transaction is the outermost one (nothing uncommitted that the
    look-ups must see); the caller checks that. Rows this import wrote are never looked up
    again (a code appears once per file), so the reader missing them changes nothing.
    """

    def __init__(self):
        from django.db import connections

        self.conn = connections["default"]
        self.reader = connections.create_connection("default")
        self.conn.inc_thread_sharing()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        # Look-ups one chunk ahead (:meth:`look_up`): a third connection, used by one thread.
        self._looker = connections.create_connection("default")
        self._looker.inc_thread_sharing()
        self._lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-lookup")

    def look_up(self, work) -> Future:
        """Run ``work(connection)`` in the look-up thread, on its own autocommit connection:
        the database answers the next chunk's look-ups while this thread validates and
        builds (the wait for PostgreSQL's index probes was ~10 s of a million-row apply)."""
        return self._lookups.submit(work, self._looker)

    def submit(self, work) -> None:
        """Run ``work(connection)`` in the worker thread after the previous work is done."""
        self.wait()

        def run():
            try:
                work(self.conn)
            except BaseException as exc:  # noqa: BLE001 — re-raised in the main thread
                self._error = exc

        self._thread = threading.Thread(target=run, name="import-writer", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Wait for the worker (the transaction may only end after it) and release both."""
        try:
            if self._thread is not None:
                self._thread.join()
                self._thread = None
        finally:
            self._lookups.shutdown(wait=True, cancel_futures=True)
            self.conn.dec_thread_sharing()
            self.reader.close()
            self._looker.dec_thread_sharing()
            self._looker.close()
