"""Where the draws services meet the streaming population code (draws/population.py, written for
20 million candidates): the draw's folder, the candidate rows, freeze and perform.

Files of a draw, in ``SHUANGSUIJI_DATA/draws/<task code>/<draw number>/``: ``population.tsv``,
``excluded.tsv`` and, with sealed strata, ``strata.tsv`` (its first line holds the salt, which is
kept nowhere else). They are served later byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db.models import Count, QuerySet

from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import stream

from . import population

POPULATION = stream.POPULATION
EXCLUDED = stream.EXCLUDED
STRATA = stream.STRATA


def folder(relative: str) -> Path:
    return Path(settings.DATA_DIR) / relative


def relative_folder(task_code: str, number: int) -> str:
    return f"draws/{task_code}/{number}"


def _labelled(queryset: QuerySet, strata_by: str) -> QuerySet:
    qs = queryset
    if strata_by == "industry":
        from django.db.models.functions import Substr

        qs = qs.annotate(_section=Substr("industry", 1, 1))
    return qs.annotate(_label=population.label_expression(strata_by))


def stratum_counts(queryset: QuerySet, strata_by: str) -> dict[str, int]:
    """n per stratum label of a queryset of targets, with the labels the freeze will use."""
    rows = _labelled(queryset, strata_by).order_by().values("_label").annotate(n=Count("id"))
    return dict(sorted((r["_label"], r["n"]) for r in rows))


def labelled_codes(queryset: QuerySet, strata_by: str):
    """(code, label) of a (small) queryset, unordered."""
    return _labelled(queryset, strata_by).values_list("code", "_label")


def freeze(
    *,
    task_code: str,
    draw_number: int,
    candidates: QuerySet,
    excluded: list[tuple[str, str, str]],
    allocation: str,
    sealed: bool,
    salt: str | None,
    strata_by: str,
    relative: str,
    progress=None,
    total: int | None = None,
) -> stream.Frozen:
    """Write the canonical files; ``candidates`` are the population's targets (any order; the
    database sorts them by code bytes)."""
    return population.freeze(
        task_code=task_code,
        draw_number=draw_number,
        rows=population.rows(candidates, strata_by),
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=salt,
        directory=folder(relative),
        progress=progress,
        total=total,
    )


def frozen(target_draw) -> stream.Frozen:
    return population.frozen_of(target_draw)


def perform(target_draw, entropy: Mapping[str, str]) -> D.Result:
    return population.perform(population.frozen_of(target_draw), entropy)
