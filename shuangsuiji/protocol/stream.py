"""ssj-draw/1 for populations too big for memory: freeze and perform by streaming (§1.2, §1.5).

:func:`protocol.draw.freeze` and :func:`protocol.draw.perform` hold the whole population as
Python tuples: fine for a million candidates, impossible for twenty million within 2 GB. The
functions here give byte-identical results (the same files, hashes, counts, ``k``, seed and
selection) while holding only one block of rows at a time:

- :func:`freeze` takes the candidates **already sorted by the UTF-8 bytes of their ID** (the
  database sorts them: ``ORDER BY code COLLATE "C"``), checks the order, the uniqueness and every
  ID and label as they stream past, writes ``population.tsv``, ``excluded.tsv`` and (sealed
  strata) ``strata.tsv`` into a directory while hashing them, counts the strata and computes
  ``k``. It returns a :class:`Frozen` that names the files instead of holding their bytes.
- :func:`perform` reads the population back from those files (the strata file when strata are
  sealed, since the selection is per true stratum), checks that they still hash to the frozen
  values, and selects the bottom-``k`` of every stratum with the threshold shortcut §1.5
  allows: keep only the candidates whose first 8 score bytes fall below a limit a little above
  ``k_s / n_s``, sort those, and fall back to a bounded heap pass when fewer than ``k_s`` survive
  (probability about 1e-9). Memory is O(k + block). Large populations are scored by two worker
  processes, each over one half of the file; the per-half survivors are merged exactly (§1.5:
  "a sharded directory can compute per-shard bottom-k and merge").

Rows arrive either as an iterable of ``(ID, true stratum)`` string pairs or, faster, as an
object with a ``blocks()`` method yielding ``bytes`` of whole lines ``ID<TAB>STRATUM<LF>`` (what
PostgreSQL's ``COPY ... TO STDOUT`` produces); both are checked the same way.

Pure Python, standard library only, like the rest of ``shuangsuiji.protocol``.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from math import isqrt
from operator import lt
from pathlib import Path

from . import draw as D
from .draw import ProtocolError

POPULATION = "population.tsv"
EXCLUDED = "excluded.tsv"
STRATA = "strata.tsv"

BLOCK_ROWS = 65536  # rows per block when the input is (ID, stratum) pairs
READ_BYTES = 8 << 20  # bytes per read when perform reads the files back
PARALLEL_FROM = 2_000_000  # candidates from which perform scores in two processes

Progress = Callable[..., object]


# --- the frozen population -----------------------------------------------------------------------


@dataclass(frozen=True)
class Frozen:
    """A frozen population on disk; the same values as :class:`protocol.draw.Frozen`.

    Instead of the files' bytes it holds their paths; ``rows`` is a sized, re-iterable view of
    ``(ID, true stratum)`` read from the files, so :func:`protocol.draw.announcement`,
    :func:`protocol.draw.release` (and even :func:`protocol.draw.perform`) accept it as it is.
    """

    task: str
    draw: int
    sealed: bool
    allocation: str
    directory: Path
    population_sha256: str
    excluded_sha256: str
    strata_sha256: str | None
    size: int  # number of candidates (lines of the population file)
    counts: dict[str, int]  # n per true stratum, labels ascending
    k: dict[str, int]  # k per true stratum
    excluded_counts: dict[str, int]

    @property
    def population_path(self) -> Path:
        return self.directory / POPULATION

    @property
    def excluded_path(self) -> Path:
        return self.directory / EXCLUDED

    @property
    def strata_path(self) -> Path | None:
        return self.directory / STRATA if self.sealed else None

    @property
    def rows(self) -> FileRows:
        return FileRows(self)


class FileRows:
    """``(ID, true stratum)`` of a frozen population, read from its files on each iteration."""

    def __init__(self, frozen: Frozen) -> None:
        self.frozen = frozen

    def __len__(self) -> int:
        return self.frozen.size

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for block in _read_lines(_truth_path(self.frozen), skip_first=self.frozen.sealed):
            ids, labels = _split(block)
            yield from zip(
                (i.decode("utf-8") for i in ids), (s.decode("utf-8") for s in labels), strict=True
            )


def _truth_path(frozen: Frozen) -> Path:
    """The file that holds the true strata: the strata file when sealed, else the population."""
    return frozen.directory / (STRATA if frozen.sealed else POPULATION)


# --- freeze --------------------------------------------------------------------------------------


def freeze(
    *,
    task: str,
    draw: int,
    rows: Iterable[tuple[str, str]],
    excluded: Iterable[tuple[str, str, str]] = (),
    allocation: D.Allocation | str,
    sealed: bool = False,
    salt: str | None = None,
    directory: str | os.PathLike,
    progress: Progress | None = None,
    total: int | None = None,
) -> Frozen:
    """Stream ``rows`` (sorted by ID bytes) into the canonical files under ``directory``.

    ``rows``: ``(ID, true stratum)`` pairs, or an object with ``blocks()`` (see the module
    docstring); ``excluded``: ``(ID, true stratum, reason)`` in any order (a short list, held in
    memory). ``progress(done, total)`` is called after every block. The files are written
    under temporary names and renamed only when everything checked out, so a refused freeze
    leaves no canonical file behind. Raises :class:`ProtocolError` exactly where
    :func:`protocol.draw.freeze` would (out-of-order input is refused here, sorted there).
    """
    D._check_task(task, draw)
    if isinstance(allocation, str):
        allocation = D.parse_allocation(allocation)
    if sealed:
        if salt is None:
            raise ProtocolError("密封分层需要 salt (sealed strata need a salt)")
        if not isinstance(salt, str) or not D.HEX64.fullmatch(salt):
            raise ProtocolError("salt 必须是 64 个小写十六进制字符 (salt)")
    excluded = sorted(excluded, key=lambda row: row[0])
    excluded_bytes = D.excluded_file(excluded, sealed=sealed)
    excluded_ids = {row[0].encode("utf-8") for row in excluded}

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = [POPULATION, EXCLUDED] + ([STRATA] if sealed else [])
    parts = {name: directory / f".{name}.part" for name in names}
    try:
        with open(parts[POPULATION], "wb") as pop_out, open(parts[EXCLUDED], "wb") as exc_out:
            exc_out.write(excluded_bytes)
            strata_out = open(parts[STRATA], "wb") if sealed else None  # noqa: SIM115
            try:
                scan = _Scan(pop_out, strata_out, sealed, excluded_ids)
                if sealed:
                    scan.write_strata(f"salt\t{salt}\n".encode("ascii"))
                for block in _blocks(rows):
                    scan.block(block)
                    if progress is not None:
                        progress(scan.size, total)
                # On disk before the names are swapped in: the hashes get announced, and the
                # files must still be there, whole, after a crash.
                for out in filter(None, (pop_out, exc_out, strata_out)):
                    out.flush()
                    os.fsync(out.fileno())
            finally:
                if strata_out is not None:
                    strata_out.close()
        for name in names:
            os.replace(parts[name], directory / name)
        _fsync_directory(directory)
    finally:
        for part in parts.values():
            part.unlink(missing_ok=True)

    counts = {label.decode("utf-8"): n for label, n in sorted(scan.counts.items())}
    return Frozen(
        task=task,
        draw=draw,
        sealed=sealed,
        allocation=str(allocation),
        directory=directory,
        population_sha256=scan.population_hash.hexdigest(),
        excluded_sha256=D.sha256_hex(excluded_bytes),
        strata_sha256=scan.strata_hash.hexdigest() if sealed else None,
        size=scan.size,
        counts=counts,
        k=allocation.k(counts),
        excluded_counts=dict(sorted(Counter(r for _, _, r in excluded).items())),
    )


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory file descriptors
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blocks(rows) -> Iterator[bytes]:
    """Whole lines ``ID<TAB>STRATUM<LF>`` as bytes, from either kind of input."""
    blocks = getattr(rows, "blocks", None)
    if blocks is not None:
        yield from blocks()
        return
    it = iter(rows)
    while True:
        chunk = list(islice(it, BLOCK_ROWS))
        if not chunk:
            return
        try:
            text = "\n".join(map("\t".join, chunk))
        except TypeError as exc:
            raise ProtocolError(
                "每个对象须为 (ID, 分层) 两项文本 (rows are (ID, stratum))"
            ) from exc
        yield _encode(text + "\n")


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError("ID 或分层标签不是有效的 UTF-8 文本 (not encodable)") from exc


class _Scan:
    """Checks, counts, hashes and writes one block of sorted rows after another."""

    def __init__(self, pop_out, strata_out, sealed: bool, excluded_ids: set[bytes]) -> None:
        self.pop_out, self.strata_out, self.sealed = pop_out, strata_out, sealed
        self.excluded_ids = excluded_ids
        self.population_hash = hashlib.sha256()
        self.strata_hash = hashlib.sha256()
        self.counts: Counter[bytes] = Counter()
        self.checked_labels: set[bytes] = set()
        self.last: bytes | None = None
        self.size = 0

    def write_strata(self, data: bytes) -> None:
        self.strata_hash.update(data)
        self.strata_out.write(data)

    def block(self, block: bytes) -> None:
        if not block:
            return
        if not block.endswith(b"\n"):
            raise ProtocolError("输入的行不完整 (block does not end with LF)")
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("ID 或分层标签不是有效的 UTF-8 文本 (not UTF-8)") from exc
        ids, labels = _split(block)
        # Every line is exactly ID<TAB>LABEL: rebuilding the block from the alternating parts
        # gives it back only if TAB and LF alternate (an ID with a TAB would shift them).
        if b"\n".join(map(b"\t".join, zip(ids, labels, strict=False))) + b"\n" != block:
            raise ProtocolError("ID 或分层标签含有 TAB 或 LF (ID or label contains TAB or LF)")
        if b"" in ids:
            D._check(D.id_problem(""))
        self._check_order(ids)
        if self.excluded_ids and not self.excluded_ids.isdisjoint(ids):
            both = next(i for i in ids if i in self.excluded_ids).decode("utf-8")
            raise ProtocolError(f"ID 既在总体中又被排除 (both in population and excluded): {both}")
        new = set(labels) - self.checked_labels
        for label in sorted(new):
            D._check(D.label_problem(label.decode("utf-8")))
        self.checked_labels |= new
        self.counts.update(labels)
        self.size += len(ids)
        if self.sealed:
            population = b"\t*\n".join(ids) + b"\t*\n"
            self.write_strata(block)
        else:
            population = block
        self.population_hash.update(population)
        self.pop_out.write(population)

    def _check_order(self, ids: list[bytes]) -> None:
        if self.last is not None and not self.last < ids[0]:
            self._order_error(self.last, ids[0])
        if not all(map(lt, ids, islice(ids, 1, None))):
            for a, b in zip(ids, islice(ids, 1, None), strict=False):
                if not a < b:
                    self._order_error(a, b)
        self.last = ids[-1]

    @staticmethod
    def _order_error(a: bytes, b: bytes) -> None:
        if a == b:
            raise ProtocolError(f"ID {a.decode('utf-8')} 重复 (duplicate ID)")
        raise ProtocolError(
            f"总体未按 ID 的 UTF-8 字节升序排列：{b.decode('utf-8')} 在 {a.decode('utf-8')} 之后 "
            "(rows not sorted by ID bytes)"
        )


def _split(block: bytes) -> tuple[list[bytes], list[bytes]]:
    """The IDs and labels of a block of ``ID<TAB>LABEL<LF>`` lines (two-column files)."""
    parts = block.replace(b"\t", b"\n").split(b"\n")
    return parts[0:-1:2], parts[1::2]


def _read_lines(path: Path, *, skip_first: bool = False, start: int = 0, stop: int | None = None):
    """Blocks of whole lines of ``path`` (its bytes ``start``..``stop``, both at line starts)."""
    with open(path, "rb") as f:
        f.seek(start)
        if skip_first:
            f.readline()
        left = None if stop is None else stop - f.tell()
        rest = b""
        while True:
            size = READ_BYTES if left is None else min(READ_BYTES, left)
            data = f.read(size) if size > 0 else b""
            if left is not None:
                left -= len(data)
            if not data:
                if rest:
                    yield rest
                return
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield data[:cut]


# --- perform -------------------------------------------------------------------------------------


def perform(frozen: Frozen, entropy: Mapping[str, str], *, workers: int | None = None) -> D.Result:
    """Run the draw once every entropy value is known; the same result as
    :func:`protocol.draw.perform` on the same population, read from the frozen files.

    ``workers``: processes that score the population (default: 2 from ``PARALLEL_FROM``
    candidates when the machine has 2 CPUs, else 1).
    """
    entropy = dict(sorted(entropy.items()))
    statement = D.seed_statement(
        task=frozen.task,
        draw=frozen.draw,
        population_sha256=frozen.population_sha256,
        excluded_sha256=frozen.excluded_sha256,
        strata_sha256=frozen.strata_sha256,
        allocation=frozen.allocation,
        entropy=entropy,
    )
    seed = D.seed_of(statement)
    # Millions of small tuples and no reference cycles: the cyclic collector would rescan the
    # growing lists over and over (measured: a quarter of the CPU time at 20 M candidates).
    with D.no_gc():
        chosen = select(seed, frozen, workers=workers)
        return D.Result(frozen, entropy, statement, seed, published_order(chosen, frozen.sealed))


def published_order(chosen: Mapping[str, list[tuple[bytes, bytes]]], sealed: bool) -> list:
    """:func:`protocol.draw.published_order` for ``chosen`` lists already sorted by (score, ID
    bytes): public strata are concatenated by label; sealed ones sorted by (score, ID bytes)
    as plain tuples (no key function: a million selected in well under a second)."""
    Selected = D.Selected
    if sealed:
        merged = sorted((sc, i, s) for s, pairs in chosen.items() for sc, i in pairs)
        return [Selected(i.decode("utf-8"), s, sc) for sc, i, s in merged]
    return [Selected(i.decode("utf-8"), s, sc) for s in sorted(chosen) for sc, i in chosen[s]]


def _expected_hashes(frozen: Frozen) -> list[tuple[str, str]]:
    """(path, sha256) of the files the draw depends on: the population, and the strata file
    when sealed (the true strata)."""
    expected = [(str(frozen.population_path), frozen.population_sha256)]
    if frozen.sealed:
        expected.append((str(frozen.strata_path), frozen.strata_sha256))
    return expected


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(READ_BYTES):
            h.update(data)
    return h.hexdigest()


def _check_files(frozen: Frozen, found: Mapping[str, str] | None = None) -> None:
    """The files on disk must still be the frozen ones (the announced hashes); ``found``:
    hashes already computed (by the other scoring process)."""
    for path, sha in _expected_hashes(frozen):
        actual = found[path] if found and path in found else _file_sha256(path)
        if actual != sha:
            raise ProtocolError(
                f"文件 {Path(path).name} 与冻结时的哈希不符，不能抽取 (file changed since freeze)"
            )


def select(seed: bytes, frozen: Frozen, *, workers: int | None = None) -> dict[str, list]:
    """Bottom-``k`` per true stratum: label -> [(score, ID bytes)] ascending (§1.5), after
    checking that the files still have their frozen hashes.

    With two workers the file is cut in two: the other process hashes the files, then scores
    the larger part; this one scores the smaller part. Each part's survivors are sorted and
    cut to ``k`` where they are found; the merge of two sorted runs is then cheap.
    """
    k = {s: n for s, n in frozen.k.items() if n > 0}
    if workers is None:
        workers = 2 if frozen.size >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1
    if not k or workers < 2:
        _check_files(frozen)
        if not k:
            return {}
    path = _truth_path(frozen)
    limits = _limits(frozen.k, frozen.counts)
    keep = {s.encode("utf-8"): n for s, n in k.items()}
    if workers < 2:
        parts, found = [_threshold_range(seed, str(path), _whole(path, frozen), limits, keep)], {}
    else:
        ranges = _ranges(path, [LOCAL_SHARE, 1 - LOCAL_SHARE], skip_first=frozen.sealed)
        parts, found = _score_ranges(seed, path, ranges, limits, keep, _expected_hashes(frozen))
        _check_files(frozen, found)
    kept: dict[bytes, list] = {}
    for part in parts:
        for label, pairs in part.items():
            kept.setdefault(label, []).extend(pairs)
    chosen = {}
    for s, n in k.items():
        pairs = kept.get(s.encode("utf-8"), [])
        pairs.sort()  # sorted runs, one per part: a merge
        if len(pairs) < n:
            return _heap_fallback(seed, frozen, k)
        chosen[s] = pairs[:n]
    return chosen


LOCAL_SHARE = 0.45  # this process's share of the file when two score it (it also merges)


def _whole(path: Path, frozen: Frozen) -> tuple[int, int | None]:
    return _ranges(path, [1], skip_first=frozen.sealed)[0]


def _score_ranges(
    seed: bytes, path: Path, ranges: list, limits: dict, keep: dict, check: list
) -> tuple[list[dict], dict[str, str]]:
    """:func:`_threshold_range` over every range: the first here, the others each in a child
    process (``python -m shuangsuiji.protocol.stream``: a fresh interpreter that imports only
    this module, so it neither re-runs the caller's main module, as ``spawn`` would, nor
    inherits its threads and database connections, as ``fork`` would). The first child also
    hashes the ``check`` files. Returns the parts and the hashes found ({} if none)."""
    children = []
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    local = [ranges[0]]
    found: dict[str, str] = {}
    try:
        for n, byte_range in enumerate(ranges[1:]):
            try:
                child = subprocess.Popen(
                    [sys.executable, "-m", "shuangsuiji.protocol.stream"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                )
            except OSError:  # no interpreter to start (e.g. embedded): score it here
                local.append(byte_range)
                continue
            children.append((child, byte_range))
            job = (seed, str(path), byte_range, limits, keep, check if n == 0 else [])
            try:
                child.stdin.write(pickle.dumps(job))
                child.stdin.close()
            except BrokenPipeError:  # it died at once; wait() below reports it as failed
                pass
        parts = [_threshold_range(seed, str(path), r, limits, keep) for r in local]
        for child, byte_range in children:
            data = child.stdout.read()
            child.stderr.read()
            if child.wait() == 0:
                part, hashes = pickle.loads(data)
                parts.append(part)
                found.update(hashes)
            else:  # the child failed (killed, out of memory…): the same work here, exactly
                parts.append(_threshold_range(seed, str(path), byte_range, limits, keep))
    finally:
        for child, _ in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return parts, found


def _worker_main() -> None:
    """The child side of :func:`_score_ranges`: arguments pickled on stdin, result on stdout."""
    gc.disable()
    seed, path, byte_range, limits, keep, check = pickle.load(sys.stdin.buffer)
    hashes = {p: _file_sha256(p) for p, _ in check}
    part = _threshold_range(seed, path, byte_range, limits, keep)
    pickle.dump((part, hashes), sys.stdout.buffer, protocol=5)
    sys.stdout.buffer.flush()


def _limits(k: Mapping[str, int], counts: Mapping[str, int]) -> dict[bytes, bytes]:
    """The 8-byte score limit per stratum, as :func:`protocol.draw._threshold_pass` sets it."""
    limits = {}
    for s, n in k.items():
        size = counts.get(s, 0)
        if n <= 0:
            limits[s.encode("utf-8")] = b""  # nothing passes
            continue
        expected = n + 6 * isqrt(n) + 16
        limits[s.encode("utf-8")] = (
            D._ABOVE_ALL if expected >= size else (-(-(expected << 64) // size)).to_bytes(8, "big")
        )
    return limits


def _ranges(path: Path, shares: list[float], *, skip_first: bool) -> list[tuple[int, int]]:
    """Byte ranges of ``path`` in the proportions ``shares``, each starting at a line start
    (after the salt line); empty ranges are left out (at least one range is returned)."""
    with open(path, "rb") as f:
        if skip_first:
            f.readline()
        start = f.tell()
        end = f.seek(0, os.SEEK_END)
        bounds = [start]
        done = 0.0
        for share in shares[:-1]:
            done += share
            f.seek(start + int((end - start) * done))
            f.readline()  # to the next line start
            bounds.append(min(max(f.tell(), bounds[-1]), end))
    bounds.append(end)
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a] or [(start, end)]


def _threshold_range(
    seed: bytes, path: str, byte_range: tuple, limits: dict, keep: Mapping[bytes, int]
) -> dict:
    """The candidates of one byte range of the file whose score is below their stratum's limit,
    per stratum sorted by (score, ID) and cut to ``keep`` (the part's share of a bottom-k can
    be no more than k: the merged parts still hold every global bottom-k member)."""
    start, stop = byte_range
    kept: dict[bytes, list] = {s: [] for s, lim in limits.items() if lim}
    copy, limit_of = hashlib.sha256(seed).copy, limits.get
    for block in _read_lines(Path(path), start=start, stop=stop):
        ids, labels = _split(block)
        for candidate_id, stratum in zip(ids, labels, strict=False):
            h = copy()
            h.update(candidate_id)
            digest = h.digest()
            # An 8-byte limit: a 32-byte digest is below it exactly when its first 8 bytes are.
            if digest < limit_of(stratum, b""):
                kept[stratum].append((digest, candidate_id))
    for s, pairs in kept.items():
        pairs.sort()
        del pairs[keep.get(s, 0) :]
    return kept


def _heap_fallback(seed: bytes, frozen: Frozen, k: Mapping[str, int]) -> dict[str, list]:
    """The exact one-pass bounded heap of :mod:`protocol.draw` over the file (O(k) memory)."""
    path = _truth_path(frozen)

    def rows():
        for block in _read_lines(path, skip_first=frozen.sealed):
            ids, labels = _split(block)
            yield from zip(ids, (s.decode("utf-8") for s in labels), strict=False)

    chosen = D._heap_pass(seed, rows(), k)
    return {s: pairs for s, pairs in chosen.items() if pairs}


if __name__ == "__main__":
    _worker_main()
