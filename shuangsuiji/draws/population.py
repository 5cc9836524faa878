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
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from string import ascii_uppercase

from django.db import connections, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Collate, Substr

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
        self._pass: Iterator[tuple[str, str]] | None = None

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

    def _copy_blocks(self, sql: str, params) -> Iterator[bytes]:
        connection = connections[self.db]
        connection.ensure_connection()
        raw = connection.connection  # the psycopg connection
        if raw.info.encoding not in ("utf-8", "utf_8", "UTF8"):
            raise RuntimeError(f"PostgreSQL client encoding must be UTF8, not {raw.info.encoding}")
        with connection.cursor() as cursor, transaction.atomic(using=self.db):
            pg = cursor.cursor
            # The sort of a province's directory: in memory rather than in many temporary files.
            pg.execute("SET LOCAL work_mem = '256MB'")
            parts: list = []
            with pg.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
                for data in copy:
                    parts.append(data)
                    if len(parts) >= FETCH_ROWS:
                        yield _unescape(b"".join(parts))
                        parts = []
            if parts:
                yield _unescape(b"".join(parts))

    def _psql_blocks(self, psql: str, sql: str, params) -> Iterator[bytes]:
        """The same COPY through ``psql`` reading a pipe in 1 MB reads: psycopg hands COPY data
        over one row per call, which costs about a microsecond a row in Python (20 s for 20 M
        candidates); psql does that part in C. Used only outside a transaction, since psql has
        its own session and sees committed rows only (inside one, :meth:`_copy_blocks`)."""
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
            "PGOPTIONS": "-c work_mem=256MB",
        }
        proc = subprocess.Popen(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", query],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
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
            proc.stdout.close()
            proc.stderr.close()


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
