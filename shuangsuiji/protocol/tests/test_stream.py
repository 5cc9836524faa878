"""protocol.stream: the streaming freeze and perform give byte-identical results to protocol.draw
(every vector, random populations), and refuse what the protocol refuses."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import stream as S

from .helpers import allocation_of, draw_vectors, freeze_vector

DRAW = draw_vectors()
SALT = "0f" * 32
ENTROPY = {"server": "cd" * 32}


def by_bytes(rows):
    return sorted(rows, key=lambda r: r[0].encode("utf-8"))


def both(tmp, population, excluded, allocation, sealed, *, blocks=None, workers=1, entropy=None):
    """Freeze and perform in memory and streamed; assert every value is equal; return both."""
    entropy = entropy or ENTROPY
    memory = D.freeze(
        task="2026-T-1",
        draw=2,
        population=population,
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=SALT if sealed else None,
    )
    rows = by_bytes(population)
    if blocks is not None:
        rows = Blocks(rows, blocks)
    frozen = S.freeze(
        task="2026-T-1",
        draw=2,
        rows=rows,
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=SALT if sealed else None,
        directory=tmp,
    )
    assert_same_frozen(frozen, memory)
    got, want = S.perform(frozen, entropy, workers=workers), D.perform(memory, entropy)
    assert (got.seed_statement, got.seed) == (want.seed_statement, want.seed)
    assert got.selected == want.selected
    return frozen, got


def assert_same_frozen(frozen: S.Frozen, memory: D.Frozen) -> None:
    assert frozen.population_path.read_bytes() == memory.population_bytes
    assert frozen.excluded_path.read_bytes() == memory.excluded_bytes
    if memory.sealed:
        assert frozen.strata_path.read_bytes() == memory.strata_bytes
    else:
        assert frozen.strata_path is None and not (frozen.directory / S.STRATA).exists()
    assert frozen.population_sha256 == memory.population_sha256
    assert frozen.excluded_sha256 == memory.excluded_sha256
    assert frozen.strata_sha256 == memory.strata_sha256
    assert frozen.counts == memory.counts and list(frozen.counts) == list(memory.counts)
    assert frozen.k == memory.k
    assert frozen.excluded_counts == memory.excluded_counts
    assert frozen.size == len(memory.rows) == len(frozen.rows)
    assert list(frozen.rows) == memory.rows
    assert (frozen.allocation, frozen.sealed, frozen.task, frozen.draw) == (
        memory.allocation,
        memory.sealed,
        memory.task,
        memory.draw,
    )


class Blocks:
    """Rows as ``blocks()`` of whole lines, cut every ``size`` lines (the COPY input path)."""

    def __init__(self, rows, size):
        self.rows, self.size = rows, size

    def blocks(self):
        for start in range(0, len(self.rows), self.size):
            part = self.rows[start : start + self.size]
            yield "".join(f"{i}\t{s}\n" for i, s in part).encode("utf-8")


# --- the vectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", DRAW, ids=[v["name"] for v in DRAW])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_draw_vector(vector, workers, tmp_path):
    i, e = vector["input"], vector["expected"]
    sealed = i.get("strata_mode") == "sealed"
    frozen = S.freeze(
        task=i["task"],
        draw=i["draw"],
        rows=by_bytes(tuple(r) for r in i["population"]),
        excluded=[tuple(r) for r in i["excluded"]],
        allocation=allocation_of(i),
        sealed=sealed,
        salt=i.get("strata_salt"),
        directory=tmp_path,
    )
    assert frozen.population_sha256 == e["population_sha256"]
    assert frozen.excluded_sha256 == e["excluded_sha256"]
    assert frozen.strata_sha256 == e.get("strata_sha256")
    assert frozen.allocation == e["allocation"]
    assert frozen.k == e["k"]
    result = S.perform(frozen, i["entropy"], workers=workers)
    assert result.seed_statement == e["seed_statement"]
    assert result.seed.hex() == e["seed"]
    assert [[s.id, s.stratum, s.score.hex()] for s in result.selected] == e["selected"]
    # The documents build from the streamed objects as they do from protocol.draw's.
    departments = ["SCJGJ", *(n[6:] for n in i["entropy"] if n.startswith("party."))]
    announcement = D.announcement(
        frozen,
        task_name="t",
        announced_at="2026-11-02T10:00:00+08:00",
        lead_department="SCJGJ",
        departments=departments,
        entropy={
            n: None if n.startswith("beacon.") else D.commitment(v) for n, v in i["entropy"].items()
        },  # fmt: skip
        reveals_due="2026-11-03T10:00:00+08:00"
        if any(n.startswith("party.") for n in i["entropy"])
        else None,
        release="immediate",
    )
    assert announcement["population_size"] == len(i["population"])
    release = D.release(
        result,
        task_name="t",
        drawn_at="2026-11-04T10:00:00+08:00",
        lead_department="SCJGJ",
        departments=departments,
        announcement_sha256="00" * 32,
    )
    assert (
        release["strata"]
        == D.release(
            D.perform(freeze_vector(vector), i["entropy"]),
            task_name="t",
            drawn_at="2026-11-04T10:00:00+08:00",
            lead_department="SCJGJ",
            departments=departments,
            announcement_sha256="00" * 32,
        )["strata"]
    )


# --- random populations against the in-memory implementation ------------------------------------

ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n"),
    min_size=1,
    max_size=10,
)
labels = st.sampled_from(["A", "B", "C", "D", "U", "食品", "餐饮服务", "\U0001f600"])
populations = st.dictionaries(ids, labels, max_size=80)


@st.composite
def allocations(draw):
    strata = ["A", "B", "C", "D", "U", "食品", "餐饮服务", "\U0001f600", "Z"]
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(strata), min_size=1, max_size=6, unique=True))
        return D.Allocation.ratio({s: draw(st.sampled_from([0, 1, 300, 5000, 9999, 10000]))
                                   for s in chosen})  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(strata), max_size=4, unique=True))
    return D.Allocation.count(
        draw(st.integers(0, 100)), {s: draw(st.integers(1, 5)) for s in chosen}
    )


@settings(max_examples=150, deadline=None)
@given(
    population=populations,
    excluded_ids=st.sets(ids, max_size=6),
    allocation=allocations(),
    sealed=st.booleans(),
    block=st.sampled_from([None, 1, 3, 64]),
)
def test_random_populations_equal_the_in_memory_draw(
    population, excluded_ids, allocation, sealed, block
):
    excluded = [(i, "B", "deregistered") for i in excluded_ids - set(population)]
    with tempfile.TemporaryDirectory() as tmp:
        both(Path(tmp), list(population.items()), excluded, allocation, sealed, blocks=block)


@settings(max_examples=20, deadline=None)
@given(population=populations, sealed=st.booleans())
def test_k_equal_to_n_and_k_zero(population, sealed):
    rows = list(population.items())
    labels_in = sorted({s for _, s in rows})
    for ratio in (10000, 0):
        allocation = D.Allocation.ratio(dict.fromkeys(labels_in or ["A"], ratio))
        with tempfile.TemporaryDirectory() as tmp:
            _, result = both(Path(tmp), rows, [], allocation, sealed)
        assert len(result.selected) == (len(rows) if ratio else 0)


@pytest.mark.parametrize("sealed", [False, True])
def test_two_workers_over_a_larger_population(tmp_path, sealed):
    population = [(f"9165{n:014d}", "ABCDU"[n * 7 % 5]) for n in range(30000)]
    allocation = D.Allocation.ratio({"A": 300, "B": 500, "C": 1500, "D": 3000, "U": 500})
    frozen, result = both(tmp_path, population, [], allocation, sealed, workers=2)
    assert len(result.selected) == sum(frozen.k.values()) == 3480


def test_the_threshold_fallback_gives_the_same_answer(tmp_path, monkeypatch):
    """Force every limit to let nothing through: the heap pass must give the exact answer."""
    population = [(f"ID{n}", "AB"[n % 2]) for n in range(500)]
    allocation = D.Allocation.count(37, {"B": 2})
    monkeypatch.setattr(S, "_limits", lambda k, counts: {s.encode(): b"\x00" for s in k})
    both(tmp_path, population, [], allocation, True)


def test_empty_population(tmp_path):
    frozen, result = both(tmp_path, [], [("X", "A", "merged")], D.Allocation.count(5), True)
    assert frozen.size == 0 and frozen.population_sha256 == D.EMPTY_SHA256
    assert frozen.strata_path.read_bytes() == f"salt\t{SALT}\n".encode()
    assert result.selected == []


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("changed", [S.POPULATION, S.STRATA])
def test_perform_refuses_files_changed_after_the_freeze(tmp_path, workers, changed):
    rows = [(f"A{n:03d}", "AB"[n % 2]) for n in range(200)]
    frozen = S.freeze(
        task="T",
        draw=1,
        rows=rows,
        allocation="mode=count;K=10",
        sealed=True,
        salt=SALT,
        directory=tmp_path,
    )
    path = tmp_path / changed
    path.write_bytes(path.read_bytes().replace(b"A100\t", b"A10X\t"))
    with pytest.raises(D.ProtocolError, match=f"{changed} 与冻结时的哈希不符"):
        S.perform(frozen, ENTROPY, workers=workers)


def test_progress_is_reported_per_block(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "BLOCK_ROWS", 4)
    calls = []
    S.freeze(
        task="T",
        draw=1,
        rows=[(f"{n:02d}", "A") for n in range(10)],
        allocation="mode=count;K=1",
        directory=tmp_path,
        progress=lambda done, total: calls.append((done, total)),
        total=10,
    )
    assert calls == [(4, 10), (8, 10), (10, 10)]


# --- refusals ------------------------------------------------------------------------------------

REFUSED = [
    ([("b", "A"), ("a", "A")], "升序", "out of order"),
    ([("é", "A"), ("z", "A")], "升序", "code point order, not a locale's"),
    ([("a", "A"), ("a", "B")], "重复", "duplicate"),
    ([("a", "A"), ("b\tc", "A")], "TAB", "TAB in an ID"),
    ([("a\nb", "A")], "TAB 或 LF", "LF in an ID"),
    ([("", "A")], "ID", "empty ID"),
    ([("a", "")], "分层标签", "empty label"),
    ([("a", "*")], "\\*", "label *"),
    ([("a", "x;y")], ";", "label with ;"),
    ([("a", "x=y")], "=", "label with ="),
    ([("a", "\ud800")], "UTF-8", "lone surrogate"),
    ([("a", None)], "两项文本", "not text"),
    ([("a", "A", "extra")], "TAB", "three columns"),
    ([("X", "A")], "既在总体中又被排除", "also excluded"),
]


@pytest.mark.parametrize(("rows", "message"), [r[:2] for r in REFUSED], ids=[r[2] for r in REFUSED])
@pytest.mark.parametrize("sealed", [False, True])
def test_refused_populations_leave_no_files(tmp_path, rows, message, sealed):
    with pytest.raises(D.ProtocolError, match=message):
        S.freeze(
            task="T",
            draw=1,
            rows=rows,
            excluded=[("X", "A", "merged")],
            allocation="mode=count;K=1",
            sealed=sealed,
            salt=SALT,
            directory=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (b"a\tA\nb\tA", "不完整"),
        (b"a\tA\tB\nb\n", "TAB"),
        (b"a\xff\tA\n", "UTF-8"),
        (b"\tA\n", "ID"),
        (b"b\tA\na\tA\n", "升序"),
    ],
)
def test_refused_blocks(tmp_path, block, message):
    class Raw:
        def blocks(self):
            yield block

    with pytest.raises(D.ProtocolError, match=message):
        S.freeze(task="T", draw=1, rows=Raw(), allocation="mode=count;K=1", directory=tmp_path)


def test_order_is_checked_across_blocks(tmp_path):
    with pytest.raises(D.ProtocolError, match="重复"):
        S.freeze(
            task="T",
            draw=1,
            rows=Blocks([("a", "A"), ("b", "A"), ("b", "A")], 2),
            allocation="mode=count;K=1",
            directory=tmp_path,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sealed": True}, "salt"),
        ({"sealed": True, "salt": "AB" * 32}, "salt"),
        ({"task": ""}, "任务编号"),
        ({"draw": 0}, "抽取序号"),
        ({"allocation": "mode=ratio;B=1;A=2"}, "严格升序"),
        ({"excluded": [("Y", "A", "Bad")]}, "排除原因"),
    ],
)
def test_refused_parameters(tmp_path, kwargs, message):
    args = {"task": "T", "draw": 1, "rows": [("a", "A")], "allocation": "mode=count;K=1"}
    with pytest.raises(D.ProtocolError, match=message):
        S.freeze(**{**args, **kwargs}, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_freeze_keeps_an_earlier_draws_files(tmp_path):
    """A failed freeze into a directory never replaces files that were already there."""
    good = S.freeze(
        task="T", draw=1, rows=[("a", "A")], allocation="mode=count;K=1", directory=tmp_path
    )
    before = good.population_path.read_bytes()
    with pytest.raises(D.ProtocolError):
        S.freeze(
            task="T", draw=1, rows=[("b", "A"), ("a", "A")], allocation="mode=count;K=1",
            directory=tmp_path,
        )  # fmt: skip
    assert good.population_path.read_bytes() == before
    assert hashlib.sha256(before).hexdigest() == good.population_sha256


@pytest.mark.parametrize("executable", ["/nonexistent/python", "/bin/false"])
def test_a_scoring_process_that_cannot_start_or_fails_is_replaced_by_the_same_work(
    tmp_path, monkeypatch, executable
):
    population = [(f"X{n:05d}", "AB"[n % 2]) for n in range(3000)]
    allocation = D.Allocation.ratio({"A": 700, "B": 2000})
    monkeypatch.setattr(S.sys, "executable", executable)
    both(tmp_path, population, [], allocation, True, workers=2)
