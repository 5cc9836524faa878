"""Freezing and performing a draw on disk: the one place that calls the protocol's freeze/perform.

The services give this module the candidate rows and get back hashes and counts; the canonical
files (DRAW-PROTOCOL.md §1.2) are written under the draw's folder and served later byte for byte.
``population.py`` (streaming, for 20 million candidates) replaces the in-memory
``protocol.draw.freeze``/``perform`` here, and only here.

Files of a draw, in ``SHUANGSUIJI_DATA/draws/<task code>/<draw number>/``:
``population.tsv``, ``excluded.tsv`` and, with sealed strata, ``strata.tsv`` (its first line holds
the salt, so the salt is kept nowhere else).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from shuangsuiji.protocol import draw as D

POPULATION = "population.tsv"
EXCLUDED = "excluded.tsv"
STRATA = "strata.tsv"


@dataclass(frozen=True)
class FrozenInfo:
    """What the database keeps of a frozen population (``TargetDraw`` fields)."""

    population_sha256: str
    excluded_sha256: str
    strata_sha256: str | None
    population_size: int
    counts: dict[str, int]
    k: dict[str, int]
    excluded_counts: dict[str, int]


def folder(relative: str) -> Path:
    return Path(settings.DATA_DIR) / relative


def relative_folder(task_code: str, number: int) -> str:
    return f"draws/{task_code}/{number}"


def freeze(
    *,
    task_code: str,
    draw_number: int,
    rows: Iterable[tuple[str, str]],
    excluded: Iterable[tuple[str, str, str]],
    allocation: str,
    sealed: bool,
    salt: str | None,
    directory: Path,
) -> FrozenInfo:
    """Write the canonical files into ``directory`` (replaced whole, atomically) and return the
    hashes and counts. ``rows``: (ID, true stratum); ``excluded``: (ID, true stratum, reason)."""
    frozen = D.freeze(
        task=task_code,
        draw=draw_number,
        population=rows,
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=salt,
    )
    files = {POPULATION: frozen.population_bytes, EXCLUDED: frozen.excluded_bytes}
    if frozen.strata_bytes is not None:
        files[STRATA] = frozen.strata_bytes
    _write_folder(directory, files)
    return FrozenInfo(
        population_sha256=frozen.population_sha256,
        excluded_sha256=frozen.excluded_sha256,
        strata_sha256=frozen.strata_sha256,
        population_size=len(frozen.rows),
        counts=frozen.counts,
        k=frozen.k,
        excluded_counts=frozen.excluded_counts,
    )


def _write_folder(directory: Path, files: dict[str, bytes]) -> None:
    """A re-run job (after a crash) must never leave a half-written folder: write a sibling
    folder, fsync, then swap it in."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, data in files.items():
        with open(tmp / name, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def load(
    *, task_code: str, draw_number: int, allocation: str, sealed: bool, directory: Path
) -> D.Frozen:
    """Read a frozen draw back from its files (the true strata come from the strata file when
    sealed). Re-freezing from the rows recomputes every hash, so the caller can check them."""
    population = (directory / POPULATION).read_bytes().decode("utf-8")
    excluded = (directory / EXCLUDED).read_bytes().decode("utf-8")
    if sealed:
        lines = (directory / STRATA).read_bytes().decode("utf-8").split("\n")
        salt = lines[0].split("\t", 1)[1]
        rows = [tuple(line.split("\t", 1)) for line in lines[1:] if line]
    else:
        salt = None
        rows = [tuple(line.split("\t", 1)) for line in population.split("\n") if line]
    excluded_rows = []
    for line in excluded.split("\n"):
        if line:
            cid, label, reason = line.split("\t")
            # Sealed files show "*" for every label; any valid label re-makes the same bytes.
            excluded_rows.append((cid, "U" if sealed else label, reason))
    return D.freeze(
        task=task_code,
        draw=draw_number,
        population=rows,
        excluded=excluded_rows,
        allocation=allocation,
        sealed=sealed,
        salt=salt,
    )


def perform(frozen: D.Frozen, entropy: dict[str, str]) -> D.Result:
    return D.perform(frozen, entropy)
