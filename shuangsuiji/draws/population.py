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
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from string import ascii_uppercase

from django.db import connections
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
    """``(code, label)`` of a queryset in code byte order; iterable, or ``blocks()`` of lines.

    Each iteration runs the query again (a cursor, never a list of the table).
    """

    def __init__(self, queryset: QuerySet, stratum: str) -> None:
        label = label_expression(stratum)
        qs = queryset
        if stratum == "industry":
            qs = qs.annotate(_section=Substr("industry", 1, 1))
        qs = qs.annotate(_label=label).values_list("code", "_label")
        self.vendor = connections[queryset.db].vendor
        if self.vendor == "postgresql":
            qs = qs.order_by(Collate("code", "C"))
        else:
            qs = qs.order_by("code")  # SQLite BINARY collation: UTF-8 byte order
        self.queryset = qs

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield from self.queryset.iterator(chunk_size=FETCH_ROWS)


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
