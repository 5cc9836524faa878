"""draws.population: the directory's targets streamed in byte order, frozen and drawn exactly as
protocol.draw does it in memory (SQLite and PostgreSQL)."""

import shutil

import pytest

from shuangsuiji.directory.models import Target
from shuangsuiji.draws import population as P
from shuangsuiji.protocol import draw as D

ENTROPY = {"server": "ab" * 32}
SALT = "5a" * 32


def make(org, code, *, risk="A", region=None, industry="", jurisdiction=None):
    return Target.objects.create(
        jurisdiction=jurisdiction or org.prefecture,
        code=code,
        code_kind="other",
        name=f"对象{code}",
        object_kind="non_market",
        risk_class=risk,
        region=region,
        industry=industry,
    )


@pytest.fixture
def targets(org):
    # Codes whose byte order differs from a locale's: lower/upper case, digits, CJK, a 4-byte
    # character (U+20000) after a 3-byte one (U+FFFD), and an accented letter.
    specs = [
        ("b-1", "A", org.korla, "F5211"),
        ("B-1", "B", org.luntai, "F"),
        ("a", "", None, ""),
        ("Z9", "C", org.korla, "C13"),
        ("10", "D", org.korla, "x1"),
        ("9", "U", None, "T"),
        ("产品甲", "A", org.luntai, "U9"),
        ("\ufffd项目", "B", None, ""),
        ("\U00020000行为", "C", org.korla, "A0"),
        ("é", "D", org.luntai, "Z"),
    ]
    return [make(org, c, risk=r, region=g, industry=i) for c, r, g, i in specs]


def expected_label(t, stratum):
    if stratum == "risk":
        return t.risk_class or "U"
    if stratum == "region":
        return t.region.code if t.region else "U"
    if stratum == "industry":
        first = t.industry[:1]
        return first if first and "A" <= first <= "T" else "U"
    return "全部"


@pytest.mark.django_db
@pytest.mark.parametrize("stratum", P.STRATA)
def test_rows_are_in_byte_order_with_the_documented_labels(targets, stratum):
    got = list(P.rows(Target.objects.all(), stratum))
    expected = sorted(
        ((t.code, expected_label(t, stratum)) for t in targets), key=lambda r: r[0].encode()
    )
    assert got == expected
    assert [c for c, _ in got] == sorted(c for c, _ in got)  # code point order == byte order


@pytest.mark.django_db
def test_rows_follow_the_queryset_filter(org, targets):
    got = list(P.rows(Target.objects.filter(region=org.korla), "risk"))
    assert got == [("10", "D"), ("Z9", "C"), ("b-1", "A"), ("\U00020000行为", "C")]


@pytest.mark.django_db
def test_unknown_stratum_is_refused(org):
    with pytest.raises(ValueError, match="未知的分层方式"):
        P.rows(Target.objects.all(), "colour")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stratum", "sealed", "allocation"),
    [
        ("risk", True, "mode=ratio;A=5000;B=3000;C=10000;D=2000;U=5000"),
        ("region", False, "mode=count;K=4"),
        ("industry", False, "mode=count;K=5;F=3"),
        ("none", False, "mode=ratio;全部=4000"),
    ],
)
def test_freeze_and_perform_equal_the_in_memory_protocol(
    org, targets, tmp_path, stratum, sealed, allocation
):
    qs = Target.objects.all()
    excluded = [("a", "U" if stratum == "risk" else "x", "annual-limit")]
    population = [r for r in P.rows(qs, stratum) if r[0] != "a"]
    seen = []
    frozen = P.freeze(
        task_code="2026-XJ-0001",
        draw_number=1,
        rows=(r for r in P.rows(qs, stratum) if r[0] != "a"),
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=SALT if sealed else None,
        directory=tmp_path / "d1",
        progress=lambda done, total=None: seen.append(done),
    )
    memory = D.freeze(
        task="2026-XJ-0001",
        draw=1,
        population=population,
        excluded=excluded,
        allocation=allocation,
        sealed=sealed,
        salt=SALT if sealed else None,
    )
    assert frozen.population_path.read_bytes() == memory.population_bytes
    assert frozen.excluded_path.read_bytes() == memory.excluded_bytes
    if sealed:
        assert frozen.strata_path.read_bytes() == memory.strata_bytes
    assert (frozen.population_sha256, frozen.excluded_sha256, frozen.strata_sha256) == (
        memory.population_sha256,
        memory.excluded_sha256,
        memory.strata_sha256,
    )
    assert (frozen.counts, frozen.k, frozen.excluded_counts, frozen.size) == (
        memory.counts,
        memory.k,
        memory.excluded_counts,
        len(memory.rows),
    )
    assert seen == [len(population)]
    got, want = P.perform(frozen, ENTROPY), D.perform(memory, ENTROPY)
    assert got.seed == want.seed and got.seed_statement == want.seed_statement
    assert got.selected == want.selected and got.selected


@pytest.mark.django_db
def test_a_code_in_two_jurisdictions_is_refused_as_a_duplicate_id(org, tmp_path):
    make(org, "DUP", jurisdiction=org.korla)
    make(org, "DUP", jurisdiction=org.luntai)
    with pytest.raises(D.ProtocolError, match="重复"):
        P.freeze(
            task_code="2026-XJ-0001",
            draw_number=1,
            rows=P.rows(Target.objects.all(), "risk"),
            excluded=[],
            allocation="mode=count;K=1",
            sealed=True,
            salt=SALT,
            directory=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []  # nothing canonical left behind


@pytest.mark.django_db
def test_empty_population(org, tmp_path):
    frozen = P.freeze(
        task_code="2026-XJ-0001",
        draw_number=1,
        rows=P.rows(Target.objects.all(), "risk"),
        excluded=[],
        allocation="mode=count;K=3",
        sealed=True,
        salt=SALT,
        directory=tmp_path,
    )
    assert frozen.size == 0 and frozen.population_sha256 == D.EMPTY_SHA256
    assert P.perform(frozen, ENTROPY).selected == []


@pytest.mark.django_db
def test_codes_with_backslashes_and_control_characters_come_back_exactly(org):
    # PostgreSQL's COPY escapes these; the rows must be the stored codes all the same.
    codes = ["a\\b", "c\rd", "e\\\\N", "\\N", "f\x01g", "h\\.i", "j\x0bk\\t"]
    for code in codes:
        make(org, code, risk="B")
    got = list(P.rows(Target.objects.all(), "risk"))
    assert got == sorted((c, "B") for c in codes)
    assert b"".join(P.rows(Target.objects.all(), "risk").blocks()) == b"".join(
        f"{c}\tB\n".encode() for c in sorted(codes)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["x\ty", "x\ny"])
def test_a_code_with_a_tab_or_line_feed_is_refused(org, tmp_path, code):
    make(org, code)
    make(org, "ok")
    with pytest.raises(D.ProtocolError, match="TAB 或 LF"):
        P.freeze(
            task_code="2026-XJ-0001",
            draw_number=1,
            rows=P.rows(Target.objects.all(), "risk"),
            excluded=[],
            allocation="mode=count;K=1",
            sealed=True,
            salt=SALT,
            directory=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_progress_and_blocks_over_several_fetches(org, tmp_path, monkeypatch):
    monkeypatch.setattr(P, "FETCH_ROWS", 3)
    for n in range(10):
        make(org, f"C{n:02d}", risk="ABCDU"[n % 5])
    blocks = list(P.rows(Target.objects.all(), "risk").blocks())
    assert [b.count(b"\n") for b in blocks] == [3, 3, 3, 1]
    calls = []
    frozen = P.freeze(
        task_code="2026-XJ-0001",
        draw_number=1,
        rows=P.rows(Target.objects.all(), "risk"),
        excluded=[],
        allocation="mode=count;K=4",
        sealed=True,
        salt=SALT,
        directory=tmp_path,
        progress=lambda done, total: calls.append((done, total)),
        total=10,
    )
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]
    assert frozen.counts == {"A": 2, "B": 2, "C": 2, "D": 2, "U": 2}


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_postgresql_reads_through_psql_with_the_same_bytes(org, monkeypatch):
    from django.db import connection

    codes = ["a\\b", "c\rd", "产品", "Z", "\U00020000", "é"]
    for code in codes:
        make(org, code, risk="C")
    rows = P.rows(Target.objects.all(), "risk")
    calls = []
    original = P.TargetRows._psql_blocks
    monkeypatch.setattr(
        P.TargetRows,
        "_psql_blocks",
        lambda self, *a: calls.append(1) or original(self, *a),
    )
    monkeypatch.setattr(P, "PSQL_READ_BYTES", 5)  # lines cut across reads
    got = b"".join(rows.blocks())
    assert got == b"".join(f"{c}\tC\n".encode() for c in sorted(codes))
    uses_psql = connection.vendor == "postgresql" and shutil.which("psql") is not None
    assert bool(calls) == uses_psql
    monkeypatch.setattr(P, "USE_PSQL", False)
    assert b"".join(rows.blocks()) == got


@pytest.mark.django_db(transaction=True)
def test_a_failing_psql_is_an_error_not_a_short_population(org, monkeypatch, tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    make(org, "A1")
    fake = tmp_path / "psql"
    fake.write_text("#!/bin/sh\nprintf 'A1\\tA\\n'\necho 'connection lost' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setattr(P.shutil, "which", lambda name: str(fake))
    with pytest.raises(RuntimeError, match="connection lost"):
        P.freeze(
            task_code="2026-XJ-0001",
            draw_number=1,
            rows=P.rows(Target.objects.all(), "risk"),
            excluded=[],
            allocation="mode=count;K=1",
            sealed=True,
            salt=SALT,
            directory=tmp_path / "d",
        )
    assert not (tmp_path / "d" / "population.tsv").exists()


@pytest.mark.django_db
def test_rows_is_also_an_iterator(org):
    make(org, "B2")
    make(org, "A1", risk="")
    rows = P.rows(Target.objects.all(), "risk")
    assert next(rows) == ("A1", "U")
    assert next(rows) == ("B2", "A")
    with pytest.raises(StopIteration):
        next(rows)
    assert list(rows) == [("A1", "U"), ("B2", "A")]  # iterating runs the query again


def _scope_fixture(org):
    """A department's directory (SCJGJ) next to inactive entries, another department's (GAJ)
    entries and a target of another jurisdiction with an active SCJGJ-like code."""
    from shuangsuiji.directory.models import DirectoryEntry

    codes = ["b-1", "B-1", "a", "Z9", "10", "9", "产品甲", "\ufffd项目", "\U00020000行为", "é", "x"]
    risks = "ABUCDUABCDA"
    ts = [make(org, c, risk=r) for c, r in zip(codes, risks, strict=True)]
    active = {"b-1", "a", "10", "产品甲", "\U00020000行为", "é"}
    for t in ts:
        if t.code in active:
            DirectoryEntry.objects.create(department=org.scjgj, target=t, active=True)
        elif t.code in {"B-1", "Z9"}:
            DirectoryEntry.objects.create(department=org.scjgj, target=t, active=False)
        if t.code in {"B-1", "9", "a", "x"}:
            DirectoryEntry.objects.create(department=org.gaj, target=t, active=True)
    # A target of a county jurisdiction is outside the prefecture department's scope even with an
    # active entry of that department.
    other = make(org, "a0", risk="B", jurisdiction=org.korla)
    DirectoryEntry.objects.create(department=org.scjgj, target=other, active=True)
    expected = sorted(
        ((t.code, t.risk_class or "U") for t in ts if t.code in active),
        key=lambda r: r[0].encode(),
    )
    return expected


def freeze_equals_memory(qs, expected, tmp_path, name="d", *, task_code="2026-XJ-0003"):
    """Freeze ``qs`` (risk strata, sealed) and draw from the files; both must equal
    protocol.draw in memory on ``expected``. Returns the streamed result."""
    allocation = "mode=ratio;A=5000;B=3000;C=10000;D=2000;U=5000"
    frozen = P.freeze(
        task_code=task_code,
        draw_number=1,
        rows=P.rows(qs, "risk"),
        excluded=[],
        allocation=allocation,
        sealed=True,
        salt=SALT,
        directory=tmp_path / name,
    )
    memory = D.freeze(
        task=task_code,
        draw=1,
        population=expected,
        allocation=allocation,
        sealed=True,
        salt=SALT,
    )
    assert frozen.population_path.read_bytes() == memory.population_bytes
    assert frozen.strata_path.read_bytes() == memory.strata_bytes
    assert (frozen.counts, frozen.k, frozen.size) == (memory.counts, memory.k, len(expected))
    got, want = P.perform(frozen, ENTROPY), D.perform(memory, ENTROPY)
    assert got.selected == want.selected
    return got


def _scope_draw_equals_memory(org, tmp_path, expected, *, hashed=False):
    from django.db import connection

    from shuangsuiji.directory.selectors import scope_targets

    qs = scope_targets(org.scjgj, {})
    rows = P.rows(qs, "risk")
    if connection.vendor == "postgresql":
        # The semi-join is rewritten as (id IN (SELECT ...)) IS TRUE; used only when planned
        # hashed and in index order (forced in the tests that set ``hashed``).
        assert rows.hashed is not None and "IS TRUE" in str(rows.hashed.query)
        assert rows._ordered_hashed_plan() == hashed
    else:
        assert rows.hashed is None
    assert list(rows) == expected
    if connection.vendor == "postgresql":
        # Outside a (READ COMMITTED) transaction the bitmap, unless turned off.
        bitmap = P.USE_BITMAP and not connection.in_atomic_block
        assert rows.shape == ("bitmap" if bitmap else "hashed" if hashed else "as written")
    got = freeze_equals_memory(qs, expected, tmp_path, "scope", task_code="2026-XJ-0002")
    assert got.selected


# PostgreSQL settings that force each of the two plans: the code index walked with the hashed
# SubPlan (what a province's directory gets), or a sort, where the rewrite is not used.
FORCE = {
    True: {"enable_sort": "off", "enable_seqscan": "off", "enable_bitmapscan": "off"},
    False: {"enable_indexscan": "off", "enable_indexonlyscan": "off", "enable_bitmapscan": "off"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("hashed", [False, True])
def test_a_department_scope_is_exactly_its_active_entries_in_byte_order(
    org, tmp_path, monkeypatch, hashed
):
    monkeypatch.setattr(P, "PG_SETTINGS", {**P.PG_SETTINGS, **FORCE[hashed]})
    _scope_draw_equals_memory(org, tmp_path, _scope_fixture(org), hashed=hashed)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("hashed", [False, True])
@pytest.mark.parametrize("bitmap", [False, True])
def test_a_department_scope_outside_a_transaction_gives_the_same_rows(
    org, tmp_path, monkeypatch, hashed, bitmap
):
    # PostgreSQL: read through psql (its own session, PGOPTIONS), as a background job's freeze;
    # with the bitmap (test_population_bitmap.py) or, turned off, the query as before.
    monkeypatch.setattr(P, "PG_SETTINGS", {**P.PG_SETTINGS, **FORCE[hashed]})
    monkeypatch.setattr(P, "USE_BITMAP", bitmap)
    _scope_draw_equals_memory(org, tmp_path, _scope_fixture(org), hashed=hashed)


def test_only_an_ordered_plan_with_every_subplan_hashed_is_taken():
    scan = {"Node Type": "Index Only Scan", "Filter": "((hashed SubPlan 1) IS TRUE)"}
    sub = {"Node Type": "Seq Scan", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1"}
    assert P._ordered_and_hashed({**scan, "Plans": [sub]})
    unhashed = {**scan, "Filter": "((SubPlan 1) IS TRUE)", "Plans": [sub]}
    assert not P._ordered_and_hashed(unhashed)  # would rescan the entries for every target
    assert not P._ordered_and_hashed({"Node Type": "Sort", "Plans": [{**scan, "Plans": [sub]}]})
    assert not P._ordered_and_hashed({"Node Type": "Index Only Scan"})  # nothing to hash
