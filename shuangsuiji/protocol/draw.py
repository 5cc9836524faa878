"""ssj-draw/1, the target draw (DRAW-PROTOCOL.md §1).

Everything here is a pure function of its arguments: the canonical files (§1.2), the allocation
(§1.3), the seed statement and commitments (§1.4), the score and the selection (§1.5) and the two
published documents (§1.6). The platform freezes a population with :func:`freeze`, publishes
:func:`announcement`, then, once every entropy value is in, calls :func:`perform` and publishes
:func:`release`.

A note on ordering: the protocol sorts IDs, labels and names by their UTF-8 bytes. Python compares
``str`` by code point, and UTF-8 preserves code point order, so sorting ``str`` values gives the
byte order exactly (strings here never hold lone surrogates: they could not be encoded).
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from math import isqrt
from operator import itemgetter

PROTOCOL = "ssj-draw/1"
SEALED = "*"  # the label of every line when strata are sealed (§1.2)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Reason codes the platform documents (§1.2); any other `[a-z0-9-]+` code is well formed too.
REASONS = {
    "annual-limit": "已达年度抽查上限",
    "deregistered": "已注销或吊销",
    "earlier-draw": "已被本任务此前的抽取选中",
    "merged": "已并入其他部门的任务",
}

HEX64 = re.compile(r"[0-9a-f]{64}")
NUMBER = re.compile(r"0|[1-9][0-9]*")
REASON = re.compile(r"[a-z0-9-]+")
DEPT_CODE = re.compile(r"[A-Z0-9]+")
BEACON_NAME = re.compile(r"beacon\.([a-z0-9-]+)\.([A-Za-z0-9-]+)")
PARTY_NAME = re.compile(r"party\.([A-Z0-9]+)")


class ProtocolError(ValueError):
    """An input that the protocol does not allow; the message is Chinese with the English key."""


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for work that makes millions of objects and no
    reference cycles (a draw's candidates, an assignment's eligible codes): each full
    collection would walk them all again (about a third of the inspector run's time, a quarter
    of a 20 M perform's). A caller's disabled collector stays disabled."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- §1.1 candidates -----------------------------------------------------------------------------


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid candidate ID, or None."""
    if not isinstance(value, str) or not value:
        return "ID 必须是非空文本 (ID must be non-empty text)"
    if "\t" in value or "\n" in value:
        return f"ID {value!r} 含有 TAB 或 LF (ID contains TAB or LF)"
    if not _encodable(value):
        return f"ID {value!r} 不是有效的 UTF-8 文本"
    return None


def label_problem(value: object) -> str | None:
    """Why ``value`` is not a valid stratum label (§1.1), or None."""
    if not isinstance(value, str) or not value:
        return "分层标签必须是非空文本 (label must be non-empty text)"
    if value == SEALED:
        return "分层标签不能是 *（* 表示密封分层）(label may not be *)"
    for ch, name in (("\t", "TAB"), ("\n", "LF"), (";", ";"), ("=", "=")):
        if ch in value:
            return f"分层标签 {value!r} 含有 {name} (label contains {name})"
    if not _encodable(value):
        return f"分层标签 {value!r} 不是有效的 UTF-8 文本"
    return None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(problem: str | None) -> None:
    if problem:
        raise ProtocolError(problem)


# --- §1.2 canonical files ------------------------------------------------------------------------


# Sorting on the ID alone is the file order (IDs are unique, which is checked after sorting) and
# twice as fast as comparing whole tuples.
_BY_ID = itemgetter(0)


def population_file(rows: Iterable[tuple[str, str]], *, sealed: bool) -> bytes:
    """``ID<TAB>LABEL<LF>`` sorted by ID; ``rows`` are (ID, true stratum) in any order."""
    rows = sorted(rows, key=_BY_ID)
    _check_rows(rows)
    return _population_bytes(rows, sealed)


def _population_bytes(rows: Sequence[tuple[str, str]], sealed: bool) -> bytes:
    if sealed:
        return _encode("".join(f"{i}\t*\n" for i, _ in rows))
    return _encode("".join(f"{i}\t{s}\n" for i, s in rows))


def excluded_file(rows: Iterable[tuple[str, str, str]], *, sealed: bool) -> bytes:
    """``ID<TAB>LABEL<TAB>REASON<LF>`` sorted by ID; ``rows`` are (ID, true stratum, reason)."""
    rows = sorted(rows, key=_BY_ID)
    _check_rows(rows)
    for row in rows:
        if not isinstance(row[2], str) or not REASON.fullmatch(row[2]):
            raise ProtocolError(f"排除原因 {row[2]!r} 不符合 [a-z0-9-]+ (REASON)")
    if sealed:
        return _encode("".join(f"{i}\t*\t{r}\n" for i, _, r in rows))
    return _encode("".join(f"{i}\t{s}\t{r}\n" for i, s, r in rows))


def strata_file(rows: Iterable[tuple[str, str]], *, salt: str) -> bytes:
    """The sealed strata file: the salt line, then ``ID<TAB>STRATUM<LF>`` in population order."""
    if not isinstance(salt, str) or not HEX64.fullmatch(salt):
        raise ProtocolError("salt 必须是 64 个小写十六进制字符 (salt)")
    rows = sorted(rows, key=_BY_ID)
    _check_rows(rows)
    return _strata_bytes(rows, salt)


def _strata_bytes(rows: Sequence[tuple[str, str]], salt: str) -> bytes:
    return _encode(f"salt\t{salt}\n" + "".join(f"{i}\t{s}\n" for i, s in rows))


def _check_rows(rows: Sequence[tuple]) -> None:
    """IDs valid and unique (``rows`` sorted), labels valid (each distinct label checked once)."""
    labels = set()
    previous = None
    for row in rows:
        candidate = row[0]
        if (
            not isinstance(candidate, str)
            or not candidate
            or "\t" in candidate
            or "\n" in candidate
        ):
            _check(id_problem(candidate))
        if candidate == previous:
            raise ProtocolError(f"ID {candidate} 重复 (duplicate ID)")
        previous = candidate
        labels.add(row[1])
    for label in labels:
        _check(label_problem(label))


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError("文件内容不是有效的 UTF-8 文本 (ID or label not encodable)") from exc


# --- §1.3 allocation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """How many candidates each stratum gives; ``str(allocation)`` is the canonical string."""

    mode: str  # "ratio" or "count"
    ratios: tuple[tuple[str, int], ...] = ()  # ratio mode: (label, basis points), labels ascending
    total: int = 0  # count mode: K
    weights: tuple[tuple[str, int], ...] = ()  # count mode: the weights given, labels ascending

    @classmethod
    def ratio(cls, ratios: Mapping[str, int]) -> Allocation:
        if not ratios:
            raise ProtocolError("比例模式至少需要一个比例 (ratio mode needs at least one ratio)")
        for label, r in ratios.items():
            _check(label_problem(label))
            if type(r) is not int or not 0 <= r <= 10000:
                raise ProtocolError(f"分层 {label} 的比例 {r!r} 必须是 0–10000 的整数（基点）")
        return cls("ratio", ratios=tuple(sorted(ratios.items())))

    @classmethod
    def count(cls, total: int, weights: Mapping[str, int] | None = None) -> Allocation:
        if type(total) is not int or total < 0:
            raise ProtocolError(f"抽取总数 K={total!r} 必须是非负整数")
        for label, w in (weights or {}).items():
            _check(label_problem(label))
            if type(w) is not int or w < 1:
                raise ProtocolError(f"分层 {label} 的权重 {w!r} 必须是正整数 (weight)")
        return cls("count", total=total, weights=tuple(sorted((weights or {}).items())))

    def __str__(self) -> str:
        if self.mode == "ratio":
            return ";".join(["mode=ratio", *(f"{s}={r}" for s, r in self.ratios)])
        return ";".join(["mode=count", f"K={self.total}", *(f"{s}={w}" for s, w in self.weights)])

    def k(self, counts: Mapping[str, int]) -> dict[str, int]:
        """``k_s`` for every stratum of ``counts`` (label -> ``n_s``) that has candidates."""
        counts = {s: n for s, n in counts.items() if n > 0}
        if self.mode == "ratio":
            ratios = dict(self.ratios)
            return {s: (n * ratios.get(s, 0) + 9999) // 10000 for s, n in sorted(counts.items())}
        return largest_remainder(self.total, counts, dict(self.weights))


def largest_remainder(total: int, counts: Mapping[str, int], weights: Mapping[str, int]) -> dict:
    """Count mode (§1.3): largest remainder with capping, in exact rational arithmetic."""
    active = sorted(s for s, n in counts.items() if n > 0)
    k = dict.fromkeys(active, 0)
    remaining = min(total, sum(counts[s] for s in active))
    while active and remaining > 0:
        denominator = sum(counts[t] * weights.get(t, 1) for t in active)
        quota = {
            s: Fraction(remaining * counts[s] * weights.get(s, 1), denominator) for s in active
        }
        capped = [s for s in active if quota[s] > counts[s]]
        if capped:
            for s in capped:
                k[s] = counts[s]
                remaining -= counts[s]
            active = [s for s in active if s not in capped]
            continue
        for s in active:
            k[s] = quota[s].numerator // quota[s].denominator
        left = remaining - sum(k[s] for s in active)
        # Largest fractional part first; ties by label ascending (the sort is stable on `active`).
        by_fraction = sorted(active, key=lambda s: quota[s] - k[s], reverse=True)
        for s in by_fraction[:left]:
            k[s] += 1
        break
    return k


def parse_allocation(text: object) -> Allocation:
    """Parse a canonical allocation string; anything not canonical raises ProtocolError."""
    if not isinstance(text, str):
        raise ProtocolError("allocation 必须是文本")
    parts = text.split(";")
    if parts[0] == "mode=ratio":
        items = parts[1:]
        if not items:
            raise ProtocolError("allocation 比例模式至少需要一个比例 (at least one ratio)")
        allocation = Allocation.ratio(_pairs(items, text))
    elif parts[0] == "mode=count":
        if len(parts) < 2 or not parts[1].startswith("K=") or not NUMBER.fullmatch(parts[1][2:]):
            raise ProtocolError(f"allocation {text!r}：计数模式第二项必须是 K=<总数>")
        allocation = Allocation.count(int(parts[1][2:]), _pairs(parts[2:], text))
    else:
        raise ProtocolError(f"allocation {text!r} 必须以 mode=ratio 或 mode=count 开头")
    if str(allocation) != text:  # e.g. labels out of order
        raise ProtocolError(f"allocation {text!r} 不是规范形式，应为 {str(allocation)!r}")
    return allocation


def _pairs(items: list[str], text: str) -> dict[str, int]:
    pairs: dict[str, int] = {}
    previous = None
    for item in items:
        label, eq, number = item.partition("=")
        if not eq or not NUMBER.fullmatch(number):
            raise ProtocolError(f"allocation {text!r} 中的 {item!r} 不是 <分层>=<整数>")
        _check(label_problem(label))
        if previous is not None and label <= previous:
            raise ProtocolError(f"allocation {text!r} 的分层标签必须严格升序 (labels ascending)")
        previous = label
        pairs[label] = int(number)
    return pairs


# --- §1.4 entropy, commitments, seed statement ---------------------------------------------------


def entropy_kind(name: object) -> str:
    """``beacon``, ``party`` or ``server`` for a valid entropy item name; else ProtocolError."""
    if isinstance(name, str):
        if name == "server":
            return "server"
        if PARTY_NAME.fullmatch(name):
            return "party"
        if BEACON_NAME.fullmatch(name):
            return "beacon"
    raise ProtocolError(f"熵项名称 {name!r} 无效 (entropy name)")


def entropy_value_problem(name: str, value: object) -> str | None:
    """Why ``value`` is not a valid value for the entropy item ``name``, or None."""
    if not isinstance(value, str):
        return f"熵项 {name} 的值必须是文本 (entropy value)"
    if entropy_kind(name) == "beacon":
        if not value or "\t" in value or "\n" in value or value != value.strip(" "):
            return (
                f"公开随机源 {name} 的值 {value!r} 无效：须非空，不含 TAB/LF，首尾无空格 "
                "(beacon value)"
            )
        return None
    if not HEX64.fullmatch(value):
        return f"熵项 {name} 的值必须是 64 个小写十六进制字符 (party/server value)"
    return None


def commitment(value: str) -> str:
    """``commit = sha256_hex(value)`` of the value's 64 ASCII hex characters (§1.4)."""
    return sha256_hex(value.encode("ascii"))


def commitments(entropy: Mapping[str, str]) -> dict[str, str]:
    """The commitments of the party and server items (beacons are not committed)."""
    return {
        name: commitment(value)
        for name, value in sorted(entropy.items())
        if entropy_kind(name) != "beacon"
    }


def beacons(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """(name, source, issue) for every beacon item name."""
    found = []
    for name in names:
        m = BEACON_NAME.fullmatch(name)
        if m:
            found.append((name, m.group(1), m.group(2)))
    return found


def check_entropy(entropy: Mapping[str, str], departments: Iterable[str] | None = None) -> None:
    """At least one item, every name and value valid, parties among ``departments`` if given."""
    if not entropy:
        raise ProtocolError("至少需要一个熵项 (at least one entropy item)")
    departments = set(departments) if departments is not None else None
    for name, value in entropy.items():
        kind = entropy_kind(name)
        _check(entropy_value_problem(name, value))
        if kind == "party" and departments is not None and name[6:] not in departments:
            raise ProtocolError(f"熵项 {name} 的部门不在 departments 中")


def statement_lines(header: Sequence[str], entropy: Mapping[str, str]) -> str:
    """The header lines, then ``entropy.<name>=<value>`` sorted by the bytes of the name."""
    lines = [*header, *(f"entropy.{n}={v}" for n, v in sorted(entropy.items()))]
    return "".join(f"{line}\n" for line in lines)


def seed_statement(
    *,
    task: str,
    draw: int,
    population_sha256: str,
    excluded_sha256: str,
    strata_sha256: str | None,
    allocation: str,
    entropy: Mapping[str, str],
) -> str:
    """The seed statement of §1.4 (the ``strata=`` line exactly when strata are sealed)."""
    _check_task(task, draw)
    check_entropy(entropy)
    header = [
        PROTOCOL,
        f"task={task}",
        f"draw={draw}",
        f"population={population_sha256}",
        f"excluded={excluded_sha256}",
        *([f"strata={strata_sha256}"] if strata_sha256 is not None else []),
        f"allocation={allocation}",
    ]
    return statement_lines(header, entropy)


def _check_task(task: object, draw: object) -> None:
    if not isinstance(task, str) or not task or "\n" in task or "\t" in task:
        raise ProtocolError("任务编号必须是非空文本，不含 TAB/LF (task)")
    if type(draw) is not int or draw < 1:
        raise ProtocolError("抽取序号必须是正整数 (draw)")


def seed_of(statement: str) -> bytes:
    return hashlib.sha256(statement.encode("utf-8")).digest()


# --- §1.5 ranking and selection ------------------------------------------------------------------


def score(seed: bytes, candidate_id: str) -> bytes:
    """``SHA-256(seed || UTF-8(ID))``, 32 bytes."""
    return hashlib.sha256(seed + candidate_id.encode("utf-8")).digest()


class _Reversed:
    """An ID that sorts in reverse, for the heap's tie-break on equal scores (a SHA-256
    collision, so never in practice, but the rule is the rule)."""

    __slots__ = ("id",)

    def __init__(self, candidate_id: bytes) -> None:
        self.id = candidate_id

    def __lt__(self, other: _Reversed) -> bool:
        return self.id > other.id

    def __gt__(self, other: _Reversed) -> bool:
        return self.id < other.id


_ABOVE_ALL = b"\xff" * 33  # compares above every 32-byte score


def bottom_k(
    seed: bytes,
    rows: Iterable[tuple[str, str]],
    k: Mapping[str, int],
    counts: Mapping[str, int] | None = None,
) -> dict[str, list[tuple[bytes, str]]]:
    """The ``k[s]`` candidates of each stratum with the smallest (score, ID), ascending.

    ``rows``: (ID, stratum) in any order. Strata missing from ``k`` give nothing. With ``counts``
    (n per stratum) and re-iterable ``rows``, the threshold shortcut of §1.5 is used; otherwise
    one pass with a bounded heap per stratum, so a one-shot iterator (a cursor) works too.
    Both give exactly the sort-and-cut of §1.5.
    """
    encoded = ((i.encode("utf-8"), s) for i, s in rows)
    if counts is not None and iter(rows) is not rows:
        chosen = bottom_k_bytes(seed, lambda: ((i.encode(), s) for i, s in rows), k, counts)
    else:
        chosen = bottom_k_bytes(seed, lambda: encoded, k)
    return {s: [(sc, i.decode("utf-8")) for sc, i in pairs] for s, pairs in chosen.items()}


def bottom_k_bytes(
    seed: bytes,
    rows: Callable[[], Iterable[tuple[bytes, object]]],
    k: Mapping[object, int],
    counts: Mapping[object, int] | None = None,
) -> dict[object, list[tuple[bytes, bytes]]]:
    """:func:`bottom_k` on UTF-8 encoded IDs; ``rows()`` returns a fresh iterable of rows.

    With ``counts``: keep the candidates whose first 8 score bytes fall below a threshold set a
    little above ``k/n`` (about six standard deviations of margin), sort those and cut; only when
    fewer than ``k`` survive (probability ~1e-9) fall back to the heap pass over all rows. Without
    ``counts``: one pass, a heap per stratum holding the worst kept candidate on top; a row
    touches the heap only if its score is at most that worst one.
    """
    if counts is not None:
        chosen = _threshold_pass(seed, rows(), k, counts)
        if chosen is not None:
            return chosen
    return _heap_pass(seed, rows(), k)


def _threshold_pass(seed, rows, k, counts) -> dict | None:
    limit: dict[object, bytes] = {}
    for s, n in k.items():
        if n <= 0:
            limit[s] = b""  # nothing passes
            continue
        expected = n + 6 * isqrt(n) + 16
        size = counts.get(s, 0)
        limit[s] = (
            _ABOVE_ALL if expected >= size else (-(-(expected << 64) // size)).to_bytes(8, "big")
        )
    kept: dict[object, list[tuple[bytes, bytes]]] = {s: [] for s, n in k.items() if n > 0}
    copy, limit_of = hashlib.sha256(seed).copy, limit.get
    for candidate_id, stratum in rows:
        h = copy()
        h.update(candidate_id)
        digest = h.digest()
        # An 8-byte limit: a 32-byte digest is below it exactly when its first 8 bytes are.
        if digest < limit_of(stratum, b""):
            kept[stratum].append((digest, candidate_id))
    result = {}
    for s, pairs in kept.items():
        if len(pairs) < k[s]:
            return None
        pairs.sort()
        result[s] = pairs[: k[s]]
    return result


def _heap_pass(seed, rows, k) -> dict:
    heaps: dict[object, list] = {s: [] for s, n in k.items() if n > 0}
    cutoff = {s: (_ABOVE_ALL if n > 0 else b"") for s, n in k.items()}
    copy, cutoff_of = hashlib.sha256(seed).copy, cutoff.get
    for candidate_id, stratum in rows:
        h = copy()
        h.update(candidate_id)
        digest = h.digest()
        if digest > cutoff_of(stratum, b""):
            continue
        heap = heaps[stratum]
        # Negated integer scores make heapq's min-heap keep the largest score on top, compared
        # in C; _Reversed breaks exact ties by ID, largest on top.
        item = (-int.from_bytes(digest, "big"), _Reversed(candidate_id))
        if len(heap) < k[stratum]:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        else:
            continue
        if len(heap) == k[stratum]:
            cutoff[stratum] = (-heap[0][0]).to_bytes(32, "big")
    return {
        s: sorted(((-neg).to_bytes(32, "big"), r.id) for neg, r in heap)
        for s, heap in heaps.items()
    }


def merge_bottom_k(
    parts: Iterable[Mapping[str, list[tuple[bytes, str]]]], k: Mapping[str, int]
) -> dict[str, list[tuple[bytes, str]]]:
    """Merge per-shard :func:`bottom_k` results into the exact global one (§1.5)."""
    merged: dict[str, list[tuple[bytes, str]]] = {s: [] for s, n in k.items() if n > 0}
    for part in parts:
        for s, chosen in part.items():
            merged.setdefault(s, []).extend(chosen)
    return {s: sorted(chosen)[: k.get(s, 0)] for s, chosen in merged.items() if k.get(s, 0) > 0}


@dataclass(frozen=True)
class Selected:
    id: str
    stratum: str  # the true stratum (also when sealed; the release then shows "*")
    score: bytes


def published_order(
    chosen: Mapping[str, list[tuple[bytes, str]]], *, sealed: bool
) -> list[Selected]:
    """Public strata: by label, then score (then ID). Sealed: by score, then ID (§1.5)."""
    items = [Selected(i, s, sc) for s, pairs in chosen.items() for sc, i in pairs]
    if sealed:
        items.sort(key=lambda x: (x.score, x.id))
    else:
        items.sort(key=lambda x: (x.stratum, x.score, x.id))
    return items


# --- putting it together -------------------------------------------------------------------------


@dataclass(frozen=True)
class Frozen:
    """A frozen population: everything the announcement fixes except the entropy."""

    task: str
    draw: int
    sealed: bool
    allocation: str
    rows: list[tuple[str, str]]  # (ID, true stratum), sorted by ID
    population_bytes: bytes
    excluded_bytes: bytes
    strata_bytes: bytes | None
    counts: dict[str, int]  # n per true stratum
    k: dict[str, int]  # k per true stratum
    excluded_counts: dict[str, int]

    @property
    def population_sha256(self) -> str:
        return sha256_hex(self.population_bytes)

    @property
    def excluded_sha256(self) -> str:
        return sha256_hex(self.excluded_bytes)

    @property
    def strata_sha256(self) -> str | None:
        return sha256_hex(self.strata_bytes) if self.strata_bytes is not None else None


@dataclass(frozen=True)
class Result:
    frozen: Frozen
    entropy: dict[str, str]
    seed_statement: str
    seed: bytes
    selected: list[Selected] = field(default_factory=list)  # in published order

    @property
    def commitments(self) -> dict[str, str]:
        return commitments(self.entropy)


def freeze(
    *,
    task: str,
    draw: int,
    population: Iterable[tuple[str, str]],
    excluded: Iterable[tuple[str, str, str]] = (),
    allocation: Allocation | str,
    sealed: bool = False,
    salt: str | None = None,
) -> Frozen:
    """Build the canonical files and the allocation of a draw.

    ``population``: (ID, true stratum); ``excluded``: (ID, true stratum, reason). With ``sealed``
    the files carry ``*`` and ``salt`` (64 hex characters from a CSPRNG) makes the strata file.
    """
    _check_task(task, draw)
    rows = sorted(population, key=_BY_ID)
    _check_rows(rows)
    excluded = sorted(excluded, key=_BY_ID)
    population_bytes = _population_bytes(rows, sealed)
    excluded_bytes = excluded_file(excluded, sealed=sealed)
    excluded_ids = {i for i, _, _ in excluded}
    both = [i for i, _ in rows if i in excluded_ids] if excluded_ids else []
    if both:
        raise ProtocolError(f"ID 既在总体中又被排除 (both in population and excluded): {both[0]}")
    if sealed:
        if salt is None:
            raise ProtocolError("密封分层需要 salt (sealed strata need a salt)")
        if not isinstance(salt, str) or not HEX64.fullmatch(salt):
            raise ProtocolError("salt 必须是 64 个小写十六进制字符 (salt)")
        strata_bytes = _strata_bytes(rows, salt)
    else:
        strata_bytes = None
    if isinstance(allocation, str):
        allocation = parse_allocation(allocation)
    counts = dict(sorted(Counter(s for _, s in rows).items()))
    return Frozen(
        task=task,
        draw=draw,
        sealed=sealed,
        allocation=str(allocation),
        rows=rows,
        population_bytes=population_bytes,
        excluded_bytes=excluded_bytes,
        strata_bytes=strata_bytes,
        counts=counts,
        k=allocation.k(counts),
        excluded_counts=dict(sorted(Counter(r for _, _, r in excluded).items())),
    )


def perform(frozen: Frozen, entropy: Mapping[str, str]) -> Result:
    """Run the draw once every entropy value is known (§1.4, §1.5)."""
    entropy = dict(sorted(entropy.items()))
    statement = seed_statement(
        task=frozen.task,
        draw=frozen.draw,
        population_sha256=frozen.population_sha256,
        excluded_sha256=frozen.excluded_sha256,
        strata_sha256=frozen.strata_sha256,
        allocation=frozen.allocation,
        entropy=entropy,
    )
    seed = seed_of(statement)
    chosen = bottom_k(seed, frozen.rows, frozen.k, frozen.counts)
    selected = published_order(chosen, sealed=frozen.sealed)
    return Result(frozen, entropy, statement, seed, selected)


# --- §1.6 documents ------------------------------------------------------------------------------


def parse_instant(value: object) -> datetime | None:
    """An ISO 8601 date-time with an offset, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None and instant.utcoffset() is not None else None


def _instant(value: str, key: str) -> str:
    if parse_instant(value) is None:
        raise ProtocolError(f"{key} 必须是带时区偏移的 ISO 8601 时间，收到 {value!r}")
    return value


def _departments(lead: str, departments: Iterable[str]) -> list[str]:
    departments = sorted(set(departments) | {lead})
    for code in departments:
        if not isinstance(code, str) or not DEPT_CODE.fullmatch(code):
            raise ProtocolError(f"部门代码 {code!r} 必须符合 [A-Z0-9]+")
    return departments


def announced_entropy(
    items: Mapping[str, str | None], *, release: str = "immediate", reveals_due: str | None = None
) -> dict[str, str | None]:
    """Check an announcement's ``entropy`` (name -> commitment, ``None`` for beacons) and rules."""
    if not items:
        raise ProtocolError("至少需要一个熵项 (at least one entropy item)")
    kinds = {}
    for name, commit in items.items():
        kinds[name] = entropy_kind(name)
        if kinds[name] == "beacon":
            if commit is not None:
                raise ProtocolError(f"公开随机源 {name} 在公告中必须为 null")
        elif not isinstance(commit, str) or not HEX64.fullmatch(commit):
            raise ProtocolError(f"熵项 {name} 的承诺必须是 64 个小写十六进制字符 (commitment)")
    has_party = "party" in kinds.values()
    if has_party != (reveals_due is not None):
        raise ProtocolError("reveals_due 在且仅在有部门熵项 (party) 时给出")
    if release not in ("immediate", "after-inspection"):
        raise ProtocolError("release 必须是 immediate 或 after-inspection")
    if release == "after-inspection" and not ({"party", "server"} & set(kinds.values())):
        raise ProtocolError(
            "不预先告知的检查不能只用公开随机源：至少需要一个部门或服务器熵项 "
            "(after-inspection needs a party or server item)"
        )
    return dict(sorted(items.items()))


def announcement(
    frozen: Frozen,
    *,
    task_name: str,
    announced_at: str,
    lead_department: str,
    departments: Iterable[str],
    entropy: Mapping[str, str | None],
    reveals_due: str | None,
    release: str,
) -> dict:
    """The announcement document (§1.6); ``entropy`` maps names to commitments (beacons: None)."""
    if reveals_due is not None:
        _instant(reveals_due, "reveals_due")
    entropy = announced_entropy(entropy, release=release, reveals_due=reveals_due)
    departments = _departments(lead_department, departments)
    for name in entropy:
        if entropy_kind(name) == "party" and name[6:] not in departments:
            raise ProtocolError(f"熵项 {name} 的部门不在 departments 中")
    return {
        "protocol": PROTOCOL,
        "stage": "announcement",
        "task": frozen.task,
        "task_name": task_name,
        "draw": frozen.draw,
        "announced_at": _instant(announced_at, "announced_at"),
        "lead_department": lead_department,
        "departments": departments,
        "population_sha256": frozen.population_sha256,
        "excluded_sha256": frozen.excluded_sha256,
        "strata_mode": "sealed" if frozen.sealed else "public",
        "strata_sha256": frozen.strata_sha256,
        "population_size": len(frozen.rows),
        "allocation": frozen.allocation,
        "entropy": entropy,
        "reveals_due": reveals_due,
        "release": release,
    }


def release(
    result: Result,
    *,
    task_name: str,
    drawn_at: str,
    lead_department: str,
    departments: Iterable[str],
    announcement_sha256: str,
    names: Mapping[str, str] | None = None,
) -> dict:
    """The release document, the draw record (§1.6). ``names``: ID -> name from the directory."""
    frozen = result.frozen
    names = names or {}
    departments = _departments(lead_department, departments)
    check_entropy(result.entropy, departments)
    if frozen.sealed:
        strata = {SEALED: {"n": len(frozen.rows), "k": len(result.selected)}}
    else:
        strata = {s: {"n": n, "k": frozen.k[s]} for s, n in frozen.counts.items()}
    return {
        "protocol": PROTOCOL,
        "stage": "release",
        "task": frozen.task,
        "task_name": task_name,
        "draw": frozen.draw,
        "drawn_at": _instant(drawn_at, "drawn_at"),
        "lead_department": lead_department,
        "departments": departments,
        "announcement_sha256": announcement_sha256,
        "population_sha256": frozen.population_sha256,
        "excluded_sha256": frozen.excluded_sha256,
        "strata_mode": "sealed" if frozen.sealed else "public",
        "strata_sha256": frozen.strata_sha256,
        "strata": strata,
        "excluded_counts": frozen.excluded_counts,
        "allocation": frozen.allocation,
        "commitments": result.commitments,
        "seed_statement": result.seed_statement,
        "seed": result.seed.hex(),
        "selected": [
            {
                "id": s.id,
                "name": names.get(s.id, ""),
                "stratum": SEALED if frozen.sealed else s.stratum,
                "score": s.score.hex(),
            }
            for s in result.selected
        ],
    }


def abandoned(
    *, task: str, draw: int, announcement_sha256: str, abandoned_at: str, reason: str
) -> dict:
    """The document appended when an announced draw is not completed (§1.4 aborts, §1.6)."""
    _check_task(task, draw)
    if not reason:
        raise ProtocolError("放弃抽取须说明原因 (reason)")
    return {
        "protocol": PROTOCOL,
        "stage": "abandoned",
        "task": task,
        "draw": draw,
        "announcement_sha256": announcement_sha256,
        "abandoned_at": _instant(abandoned_at, "abandoned_at"),
        "reason": reason,
    }


# --- serialisation -------------------------------------------------------------------------------


def dumps(document: object) -> bytes:
    """The bytes the platform publishes: RFC 8785 JSON Canonicalization Scheme (JCS).

    UTF-8, no insignificant whitespace, object keys sorted by their UTF-16 code units, strings
    escaped only where JSON requires it (non-ASCII characters as they are). Documents hold only
    strings, integers, null, booleans, lists and objects, so JCS's number rules reduce to plain
    integers. Verification never depends on this choice: hashes are taken over the exact bytes.
    """
    if _check_jcs_types(document):
        # No key outside the BMP: UTF-16 order is code point order, and the standard encoder's
        # output with these options is exactly JCS for these types (and runs in C).
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = _jcs(document)
    return text.encode("utf-8")


def _check_jcs_types(value: object) -> bool:
    """Raise on a value JCS documents here may not hold; False if a key is outside the BMP."""
    bmp = True
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ProtocolError(f"JSON 对象的键必须是文本：{key!r}")
                if bmp and max(key, default="\0") > "\uffff":
                    bmp = False
                stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif type(value) is int:
            if abs(value) > 2**53 - 1:  # beyond what every JSON reader keeps exact
                raise ProtocolError(f"整数 {value} 超出 JSON 安全范围")
        elif not (value is None or isinstance(value, str | bool)):
            raise ProtocolError(
                f"文档中不能有 {type(value).__name__} 类型的值（只用文本、整数、布尔值、null）"
            )
    return bmp


def _jcs(value: object) -> str:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_jcs(k)}:{_jcs(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
