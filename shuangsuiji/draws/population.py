"""The draw's population from the directory, frozen and drawn by streaming (ssj-draw/1 §1.2–§1.5).

The draws services call three functions:

- :func:`rows` streams ``(Target.code, stratum label)`` from a ``Target`` queryset in the UTF-8
  byte order of the code (PostgreSQL: ``ORDER BY code COLLATE "C"``, read with ``COPY ... TO
  STDOUT``; SQLite: its default BINARY collation is byte order for UTF-8, read in chunks with a
  plain cursor). The label is computed in SQL, so the whole table never sits in memory.
- :func:`freeze` writes the canonical files into a directory while hashing them
  (:func:`shuangsuiji.protocol.stream.freeze`) and returns a
  :class:`shuangsuiji.protocol.stream.Frozen` (hashes, ``size``, ``counts``, ``k``,
  ``excluded_counts``, the file paths; ``protocol.draw.announcement`` / ``release`` accept it).
- :func:`perform` draws from the frozen files (:func:`shuangsuiji.protocol.stream.perform`) and
  returns a ``protocol.draw.Result``.

Stratum labels (``stratum`` argument of :func:`rows`):

- ``"risk"``: ``Target.risk_class`` (``A`` ``B`` ``C`` ``D`` ``U``; an empty class counts as ``U``).
  This is the enterprise credit-risk class: sealed strata.
- ``"region"``: the code of ``Target.region`` (a 行政区划代码 such as ``652801``); no region gives
  ``U`` (never a region code, which is digits).
- ``"industry"``: the GB/T 4754 section letter (门类, ``A``–``T``) that ``Target.industry`` starts
  with (``F5211`` and ``F`` both give ``F``); empty or anything else gives ``U`` (no section has
  that letter).
- ``"none"``: one stratum ``全部`` for every candidate.

The ID is ``Target.code`` as stored (the importer upper-cases credit codes). A queryset spanning
several jurisdictions can hold the same code twice; the freeze then refuses the population as
having a duplicate ID (the protocol's IDs are unique).

Speed (bench/draw_targets.py, bench/README.md): for 20 M candidates the database's sort of the
codes is the largest cost (30–40 s on PostgreSQL); an index on ``(jurisdiction_id, code COLLATE
"C") INCLUDE (risk_class)`` lets PostgreSQL hand the rows over already sorted (freeze ~10 s), for
a queryset that filters on ``jurisdiction_id`` itself. On PostgreSQL outside a transaction the
COPY is read through ``psql`` when it is installed (see :meth:`TargetRows._psql_blocks`).

A department's scope (``directory.selectors.scope_targets``) is that index's rows semi-joined
with the department's active directory entries (``id IN (SELECT target_id ...)``). PostgreSQL
turns that into a join, and a join's output has no order: it hash-joins and sorts (20 M targets
all in the scope: 43 s server CPU, 63 s for the draw), or, told not to sort, probes the entries
once per target (slower still). On PostgreSQL the freeze therefore tests the membership against
a **bitmap** instead (:meth:`TargetRows._bitmap_blocks`):

1. one statement reads the subquery's ids, packed by the server into one ``bytea`` of 4 bytes
   an id (``string_agg(int4send(id))``); C-level calls turn it into an ``array``, one mark byte
   per id and then one bit per id (2.5 MB for ids up to 20 M; at 20 M ids ~2.8 s of server CPU
   and ~0.9 s of ours);
2. the rows query is the same queryset with that ``id IN (...)`` replaced by ``get_bit(bitmap,
   id) = 1``: an index-only scan of the code index in code order with a cheap filter, no join,
   no sort, no hash table (20 M rows: ~4 s of server CPU, 170 MB).

Both statements must see **one state of the directory**: outside a transaction the freeze opens
its own ``REPEATABLE READ, READ ONLY`` transaction on Django's connection, reads the members in
it, and hands its snapshot (``pg_export_snapshot()``) to the ``psql`` that reads the rows (``SET
TRANSACTION SNAPSHOT``), or reads the rows on the same connection without psql. Inside a caller's
transaction that is REPEATABLE READ or SERIALIZABLE both go on the caller's connection (one
snapshot, uncommitted rows seen); inside a READ COMMITTED one (a snapshot per statement) the
query goes as one statement as before. Identical rows: an id is a member exactly when its bit is
set (a ``CASE`` keeps ``get_bit`` within the bitmap), the other conditions (filters, the draw's
exclusions, other subqueries) stay in SQL, the ORDER BY is unchanged. Only the first top-level
``pk IN (subquery)`` of the WHERE is moved (not one under OR or NOT); an id below 0 or above
:data:`BITMAP_MAX_ID` sends the query as before (in the same snapshot).

As before (and still used without the bitmap: ``SHUANGSUIJI_DRAW_BITMAP=0``, or a READ
COMMITTED transaction) the freeze sends the semi-join as ``(id IN (SELECT ...)) IS TRUE``, which
the planner keeps as a *hashed SubPlan* probed per row in index order (20 M targets, 10 M in the
scope: 15–17.6 s server CPU, ~1 GB of server memory, against ~4 s with the bitmap); the planner
hashes only up to ~16 M entries with these settings and it is used only when ``EXPLAIN`` shows
that plan (hashed, no Sort node) — an unhashed SubPlan would rescan the entries for every target.
Else the query goes as Django wrote it. SQLite keeps the query as written (there the rewrite
measured slower). JIT compilation is turned off for the freeze's queries (it cost ~2 s at 5 M
and buys nothing for these expressions). Figures: bench/README.md (``--department-share``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import repeat
from string import ascii_uppercase

from django.db import connections, transaction
from django.db.models import BooleanField, Case, F, Func, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Collate, Substr
from django.db.models.lookups import In
from django.db.models.sql import Query
from django.db.models.sql.where import AND, WhereNode

from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import stream
from shuangsuiji.protocol.draw import ProtocolError

STRATA = ("risk", "region", "industry", "none")
ALL = "全部"  # the one label of stratum "none"
UNKNOWN = "U"  # no risk class, no region, no industry section
SECTIONS = ascii_uppercase[: ascii_uppercase.index("T") + 1]  # GB/T 4754-2017 sections A–T
FETCH_ROWS = 65536
PSQL_READ_BYTES = 1 << 20
# PostgreSQL outside a transaction: read through the psql client when it is installed (faster,
# see TargetRows._psql_blocks); SHUANGSUIJI_DRAW_PSQL=0 turns that off.
USE_PSQL = os.environ.get("SHUANGSUIJI_DRAW_PSQL", "1") != "0"
# PostgreSQL session settings of the freeze's query (SET LOCAL, or PGOPTIONS for psql): the sort
# of a province's directory in memory rather than in many temporary files, room for the hashed
# entries of a department's scope, and no JIT compilation.
PG_SETTINGS = {"work_mem": "256MB", "jit": "off"}
# PostgreSQL, a department's scope: test the membership against a bitmap of the members' ids
# (see the module docstring) rather than in the planner's semi-join; SHUANGSUIJI_DRAW_BITMAP=0
# turns that off (the query then goes as before: hashed SubPlan, or join and sort).
USE_BITMAP = os.environ.get("SHUANGSUIJI_DRAW_BITMAP", "1") != "0"
# Largest member id the bitmap takes (its Python build needs one byte per id below it: 128 MB);
# a larger id sends the query as before.
BITMAP_MAX_ID = 1 << 27

Progress = Callable[..., object]

__all__ = ["ALL", "STRATA", "UNKNOWN", "ProtocolError", "freeze", "frozen_of", "perform", "rows"]


def label_expression(stratum: str):
    """The SQL expression of a target's stratum label (see the module docstring)."""
    if stratum == "risk":
        return Case(When(risk_class="", then=Value(UNKNOWN)), default=F("risk_class"))
    if stratum == "region":
        return Coalesce(F("region__code"), Value(UNKNOWN))
    if stratum == "industry":
        return Case(
            When(Q(_section__in=list(SECTIONS)), then=F("_section")), default=Value(UNKNOWN)
        )
    if stratum == "none":
        return Value(ALL)
    raise ValueError(f"未知的分层方式 {stratum!r}：应为 {'、'.join(STRATA)} 之一")


class TargetRows:
    """``(code, label)`` of a queryset in code byte order: iterable, or ``blocks()`` of lines.

    Each iteration runs the query again, as one statement (one consistent snapshot), and holds
    one block of rows at a time. PostgreSQL: ``COPY (query) TO STDOUT``, the sort done by the
    server with a larger ``work_mem``; SQLite: a plain cursor read with ``fetchmany``.
    """

    def __init__(self, queryset: QuerySet, stratum: str) -> None:
        label = label_expression(stratum)
        qs = queryset
        if stratum == "industry":
            qs = qs.annotate(_section=Substr("industry", 1, 1))
        qs = qs.annotate(_label=label).values_list("code", "_label")
        self.db = queryset.db
        self.vendor = connections[self.db].vendor
        if self.vendor == "postgresql":
            qs = qs.order_by(Collate("code", "C"))
        else:
            qs = qs.order_by("code")  # SQLite BINARY collation: UTF-8 byte order
        self.queryset = qs
        # PostgreSQL: the same rows with the scope's semi-join as a hashed SubPlan (see the
        # module docstring); None when the queryset has no ``IN (subquery)`` to rewrite.
        self.hashed = _hashed_semi_joins(qs) if self.vendor == "postgresql" else None
        # PostgreSQL: whether a ``pk IN (subquery)`` can be tested against a bitmap instead.
        self.bitmap = self.vendor == "postgresql" and _member_semi_join(qs) is not None
        self._pass: Iterator[tuple[str, str]] | None = None
        # How the last pass read the rows on PostgreSQL: "bitmap", "hashed" or "as written".
        self.shape: str | None = None

    def __next__(self) -> tuple[str, str]:
        """Also an iterator (one pass), for callers that use ``next()``."""
        if self._pass is None:
            self._pass = iter(self)
        return next(self._pass)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for block in self.blocks():
            for line in block.decode("utf-8").split("\n")[:-1]:
                code, _, label = line.partition("\t")
                yield code, label

    def blocks(self) -> Iterator[bytes]:
        """Whole lines ``code<TAB>label<LF>`` (UTF-8), about ``FETCH_ROWS`` lines per block."""
        sql, params = self.queryset.query.sql_with_params()
        if self.vendor == "postgresql":
            connection = connections[self.db]
            if self.bitmap and USE_BITMAP and self._one_snapshot_possible():
                yield from self._bitmap_blocks()
                return
            self.shape = "as written"
            if self.hashed is not None and self._ordered_hashed_plan():
                sql, params = self.hashed.query.sql_with_params()
                self.shape = "hashed"
            psql = shutil.which("psql") if USE_PSQL else None
            if psql and not connection.in_atomic_block:
                yield from self._psql_blocks(psql, sql, params)
            else:
                yield from self._copy_blocks(sql, params)
            return
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(FETCH_ROWS):
                try:
                    text = "\n".join(map("\t".join, chunk))
                except TypeError as exc:  # a NULL code: the protocol's IDs are non-empty text
                    raise ProtocolError("检查对象编码为空 (ID must be non-empty text)") from exc
                try:
                    yield (text + "\n").encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise ProtocolError("检查对象编码不是有效的 UTF-8 文本 (not UTF-8)") from exc

    def _one_snapshot_possible(self) -> bool:
        """Whether the members and the rows can be read in one snapshot: outside a transaction
        (the freeze opens its own, REPEATABLE READ), or inside one that already is REPEATABLE
        READ or SERIALIZABLE. A READ COMMITTED transaction takes a snapshot per statement, so
        there the query goes as one statement, as before."""
        connection = connections[self.db]
        if not connection.in_atomic_block:
            return True
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            return cursor.fetchone()[0] in ("repeatable read", "serializable")

    def _bitmap_blocks(self) -> Iterator[bytes]:
        """The scope's rows with the membership tested against a bitmap (module docstring):
        the members' ids in one statement, then the rows in code order with
        ``get_bit(bitmap, id)`` in place of the semi-join, both in the same snapshot (a
        REPEATABLE READ transaction of our own, its snapshot exported to psql)."""
        connection = connections[self.db]
        connection.ensure_connection()
        own = not connection.in_atomic_block
        with transaction.atomic(using=self.db), connection.cursor() as cursor:
            if own:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _set_local(cursor)
            qs, lookup = _member_semi_join(self.queryset)
            bits = _member_bits(cursor, qs, lookup)
            if bits is not None:
                qs, _ = _member_semi_join(self.queryset, lambda lk: _InBitmap(lk.lhs, bits))
                self.shape = "bitmap"
            elif self.hashed is not None and self._ordered_hashed_plan():
                qs = self.hashed  # an id too large for the bitmap: as before, same snapshot
                self.shape = "hashed"
            else:
                qs = self.queryset
                self.shape = "as written"
            sql, params = qs.query.sql_with_params()
            psql = shutil.which("psql") if USE_PSQL else None
            if own and psql:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                yield from self._psql_blocks(psql, sql, params, snapshot=snapshot)
            else:
                yield from self._copy_blocks(sql, params)

    def _ordered_hashed_plan(self) -> bool:
        """Whether PostgreSQL plans :attr:`hashed` with the semi-join hashed and no sort (the
        rows come in index order). ``EXPLAIN`` only: the query is not run."""
        sql, params = self.hashed.query.sql_with_params()
        with connections[self.db].cursor() as cursor, transaction.atomic(using=self.db):
            _set_local(cursor)
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return _ordered_and_hashed(plan[0]["Plan"] if isinstance(plan, list) else plan)

    def _copy_blocks(self, sql: str, params) -> Iterator[bytes]:
        connection = connections[self.db]
        connection.ensure_connection()
        raw = connection.connection  # the psycopg connection
        if raw.info.encoding not in ("utf-8", "utf_8", "UTF8"):
            raise RuntimeError(f"PostgreSQL client encoding must be UTF8, not {raw.info.encoding}")
        with connection.cursor() as cursor, transaction.atomic(using=self.db):
            pg = cursor.cursor
            _set_local(cursor)
            parts: list = []
            with pg.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
                for data in copy:
                    parts.append(data)
                    if len(parts) >= FETCH_ROWS:
                        yield _unescape(b"".join(parts))
                        parts = []
            if parts:
                yield _unescape(b"".join(parts))

    def _psql_blocks(
        self, psql: str, sql: str, params, snapshot: str | None = None
    ) -> Iterator[bytes]:
        """The same COPY through ``psql`` reading a pipe in 1 MB reads: psycopg hands COPY data
        over one row per call, which costs about a microsecond a row in Python (20 s for 20 M
        candidates); psql does that part in C. Used only outside a transaction, since psql has
        its own session and sees committed rows only (inside one, :meth:`_copy_blocks`). With
        ``snapshot`` (``pg_export_snapshot()`` of an open transaction) psql reads in that
        snapshot; the query then goes through its standard input (a bitmap can be larger than
        a command-line argument may be)."""
        import psycopg

        connection = connections[self.db]
        connection.ensure_connection()
        info = connection.connection.info
        query = psycopg.ClientCursor(connection.connection).mogrify(
            f"COPY ({sql}) TO STDOUT", params
        )
        params = info.get_parameters()
        conninfo = psycopg.conninfo.make_conninfo(
            **{
                k: v
                for k, v in params.items()
                if k in ("host", "port", "dbname", "user", "sslmode")
            },
            port=info.port,
        )
        env = {
            **os.environ,
            "PGPASSWORD": info.password or "",
            "PGCLIENTENCODING": "UTF8",
            "PGOPTIONS": " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items()),
        }
        command = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
        script = None
        if snapshot is not None:
            script = (
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n"
                f"SET TRANSACTION SNAPSHOT '{snapshot}';\n{query};\nCOMMIT;\n"
            ).encode()
            command += ["-f", "-"]
        else:
            command += ["-c", query]
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if script is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        writer = None
        if script is not None:
            # From a thread: psql may start writing rows before it has read the whole script.
            writer = threading.Thread(target=_feed, args=(proc.stdin, script), daemon=True)
            writer.start()
        try:
            rest = b""
            while data := proc.stdout.read(PSQL_READ_BYTES):
                data = rest + data
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                if cut:
                    yield _unescape(data[:cut])
            errors = proc.stderr.read().decode("utf-8", "replace").strip()
            if proc.wait() != 0:
                raise RuntimeError(f"psql 读取总体失败：{errors}")
            if rest:
                raise RuntimeError("psql 的输出不完整（最后一行没有换行）")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if writer is not None:
                writer.join()
            proc.stdout.close()
            proc.stderr.close()


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):  # psql ended early; its exit status tells why
        pass


def _set_local(cursor) -> None:
    for name, value in PG_SETTINGS.items():
        cursor.execute(f"SET LOCAL {name} = '{value}'")


def _member_semi_join(queryset: QuerySet, replace: Callable | None = None):
    """``(copy of queryset, lookup)`` for the first top-level ``pk IN (subquery)`` of the
    queryset's WHERE (ANDed, not negated; a department scope's ``id IN (SELECT target_id ...)``),
    replaced in the copy by ``replace(lookup)`` when given; None when there is none. Other
    conditions (filters, exclusions, other semi-joins) stay as they are."""
    clone = queryset.all()
    query = clone.query
    pk = query.get_meta().pk

    def walk(node: WhereNode):
        if node.connector != AND or node.negated:
            return None
        for i, child in enumerate(node.children):
            if isinstance(child, WhereNode):
                if (found := walk(child)) is not None:
                    return found
            elif (
                isinstance(child, In)
                and isinstance(child.rhs, Query)
                and not child.rhs.external_aliases  # runs on its own (not correlated)
                and getattr(child.lhs, "target", None) is pk
                and getattr(child.lhs, "alias", None) == query.base_table
            ):
                if replace is not None:
                    node.children[i] = replace(child)
                return child
        return None

    found = walk(query.where)
    return None if found is None else (clone, found)


def _member_bits(cursor, queryset: QuerySet, lookup: In) -> bytes | None:
    """The bitmap of the subquery's ids (bit ``i % 8`` of byte ``i // 8`` set for a member
    ``i``, PostgreSQL's ``get_bit`` numbering), read with one statement: the server packs the
    ids into one ``bytea`` of 4 bytes each (``string_agg(int4send(...))``: at 20 M ids ~1 s of
    server CPU over the scan, 330 MB peak, less than ``array_agg``), which C-level calls turn
    into an ``array``, one mark byte per id, then bits. None when an id is negative or above
    :data:`BITMAP_MAX_ID`."""
    import psycopg

    connection = cursor.db
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = lookup.process_rhs(compiler, connection)
    # A cursor of its own that binds server-side: Django's binds client-side, which can only
    # read text (the bytea in hex, twice the bytes).
    with psycopg.Cursor(connection.connection) as raw:
        raw.execute(
            "SELECT max(v), min(v), string_agg(int4send(GREATEST(LEAST(v, %s), -1)::int4), "
            f"''::bytea) FROM {sql} AS members(v)",
            (BITMAP_MAX_ID + 1, *params),
            binary=True,
        )
        top, bottom, packed = raw.fetchone()
    if top is None:
        return b""  # no member
    if bottom < 0 or top > BITMAP_MAX_ID:
        return None
    ids = array("i")
    if ids.itemsize != 4:
        return None
    ids.frombytes(packed)
    del packed
    if sys.byteorder == "little":  # int4send is big-endian
        ids.byteswap()
    marks = bytearray(top + 1)
    deque(map(marks.__setitem__, ids, repeat(1)), 0)
    del ids
    bits = 0
    for shift in range(8):  # the marks of ids 8j+shift, one byte each, to bit `shift` of byte j
        bits |= int.from_bytes(marks[shift::8], "little") << shift
    return bits.to_bytes((top + 8) // 8, "little")


class _InBitmap(Func):
    """``pk IN (subquery)`` as a test of the pk against the members' bitmap: the same rows
    (an id is a member exactly when its bit is set; the CASE keeps ``get_bit`` in range)."""

    output_field = BooleanField()

    def __init__(self, lhs, bits: bytes) -> None:
        super().__init__(lhs)
        self.bits = bits

    def as_sql(self, compiler, connection, **extra):
        lhs, params = compiler.compile(self.source_expressions[0])
        sql = f"CASE WHEN {lhs} >= 0 AND {lhs} < %s THEN get_bit(%s, {lhs}) = 1 ELSE FALSE END"
        return sql, (*params, *params, len(self.bits) * 8, self.bits, *params)


class _IsTrue(Func):
    """``(condition) IS TRUE``: for an ``IN (subquery)`` the same rows in a WHERE, but PostgreSQL
    does not turn it into a join (only a bare top-level ``IN`` is pulled up into a semi-join)."""

    template = "(%(expressions)s) IS TRUE"
    output_field = BooleanField()


def _hashed_semi_joins(queryset: QuerySet) -> QuerySet | None:
    """A copy of ``queryset`` with every top-level ``field IN (subquery)`` of its WHERE (ANDed,
    not negated) wrapped in :class:`_IsTrue`; None when there is none."""
    clone = queryset.all()
    query = clone.query

    def wrap(node: WhereNode) -> bool:
        if node.connector != AND or node.negated:
            return False
        changed = False
        for i, child in enumerate(node.children):
            if isinstance(child, WhereNode):
                changed |= wrap(child)
            elif isinstance(child, In) and isinstance(child.rhs, Query):
                node.children[i] = _IsTrue(child)
                changed = True
        return changed

    return clone if wrap(query.where) else None


def _ordered_and_hashed(plan: dict) -> bool:
    """An ``EXPLAIN (FORMAT JSON)`` plan with no sort and at least one SubPlan, every one of them
    hashed (PostgreSQL then writes ``hashed SubPlan 1`` in the condition that uses it; an
    unhashed SubPlan would run once per row)."""
    nodes, subplans = [plan], []
    while nodes:
        node = nodes.pop()
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            return False
        if node.get("Parent Relationship") == "SubPlan":
            subplans.append(node.get("Subplan Name", ""))
        nodes.extend(node.get("Plans", []))
    text = json.dumps(plan)
    return bool(subplans) and all(name and f"hashed {name}" in text for name in subplans)


_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_ESCAPED = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _unescape(block: bytes) -> bytes:
    """COPY's text format escapes backslashes and control characters in values; undo that (rare:
    most blocks hold no backslash and pass unchanged). A value with an escaped TAB or LF comes
    out with a real one, which the freeze then refuses."""
    if b"\\" not in block:
        return block
    out = []
    for line in block.split(b"\n")[:-1]:
        fields = line.split(b"\t")
        if any(f == b"\\N" for f in fields):
            raise ProtocolError("检查对象编码为空 (ID must be non-empty text)")
        out.append(b"\t".join(_ESCAPE.sub(_one, f) for f in fields) + b"\n")
    return b"".join(out)


def _one(m: re.Match) -> bytes:
    octal, hexa, char = m.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _ESCAPED.get(char, char)


def rows(queryset: QuerySet, stratum: str) -> TargetRows:
    """Stream ``(Target.code, stratum label)`` from ``queryset`` in UTF-8 byte order of the code."""
    return TargetRows(queryset, stratum)


def freeze(
    *,
    task_code: str,
    draw_number: int,
    rows: Iterable[tuple[str, str]],
    excluded: Iterable[tuple[str, str, str]],
    allocation: D.Allocation | str,
    sealed: bool,
    salt: str | None,
    directory: str | os.PathLike,
    progress: Progress | None = None,
    total: int | None = None,
) -> stream.Frozen:
    """Freeze the population into ``directory`` (``population.tsv``, ``excluded.tsv`` and, when
    sealed, ``strata.tsv``). ``progress(done, total)`` — e.g. a ``core.jobs.Reporter`` — is
    called every block of rows (65,536). Raises ``ProtocolError`` (a Chinese message) for a
    population the protocol refuses; then no canonical file is left in ``directory``."""
    return stream.freeze(
        task=task_code,
        draw=draw_number,
        rows=rows,
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=salt,
        directory=directory,
        progress=progress,
        total=total,
    )


def perform(frozen: stream.Frozen, entropy: Mapping[str, str]) -> D.Result:
    """The draw over the frozen files once every entropy value is known (§1.4, §1.5)."""
    return stream.perform(frozen, entropy)


def frozen_of(target_draw) -> stream.Frozen:
    """The :class:`stream.Frozen` of a frozen ``TargetDraw`` (its fields and ``files_dir``, which
    is relative to the data folder), e.g. to perform it in a later job."""
    from django.conf import settings

    return stream.Frozen(
        task=target_draw.task.code,
        draw=target_draw.number,
        sealed=target_draw.sealed,
        allocation=target_draw.allocation,
        directory=settings.DATA_DIR / target_draw.files_dir,
        population_sha256=target_draw.population_sha256,
        excluded_sha256=target_draw.excluded_sha256,
        strata_sha256=target_draw.strata_sha256 or None,
        size=target_draw.population_size,
        counts=dict(target_draw.counts),
        k=dict(target_draw.k),
        excluded_counts=dict(target_draw.excluded_counts),
    )
