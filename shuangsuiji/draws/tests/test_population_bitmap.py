"""draws.population, a department's scope on PostgreSQL: the membership tested against a bitmap
of the members' ids (read in the same snapshot as the rows) gives exactly the rows of the query
as Django writes it, and the files of protocol.draw in memory."""

import shutil

import pytest
from django.db import connection, transaction
from django.db.models import OuterRef

from shuangsuiji.directory.models import DirectoryEntry, Target, pack
from shuangsuiji.directory.selectors import scope_targets
from shuangsuiji.draws import population as P

from .test_population import freeze_equals_memory, make

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the bitmap path is PostgreSQL's"
)


def _directory(org):
    """SCJGJ's directory with tags and regions, next to inactive entries, another department's
    (GAJ) entries and a county target with an active SCJGJ entry. Returns the targets by code."""
    specs = [
        # code, risk, region, entry of SCJGJ (None, "active", "inactive"), tags, GAJ entry
        ("b-1", "A", org.korla, "active", ["重点"], False),
        ("B-1", "B", org.luntai, "inactive", ["重点"], True),
        ("a", "", None, "active", [], True),
        ("Z9", "C", org.korla, "inactive", [], False),
        ("10", "D", org.korla, "active", ["重点", "食品"], False),
        ("9", "U", None, None, [], True),
        ("产品甲", "A", org.luntai, "active", ["食品"], False),
        ("\ufffd项目", "B", None, None, [], False),
        ("\U00020000行为", "C", org.korla, "active", ["重点"], False),
        ("é", "D", org.luntai, "active", [], False),
        ("x", "A", None, None, [], True),
        ("a\\b", "B", org.korla, "active", ["重点"], False),
    ]
    by_code = {}
    for code, risk, region, entry, tags, gaj in specs:
        t = make(org, code, risk=risk, region=region)
        by_code[code] = t
        if entry:
            DirectoryEntry.objects.create(
                department=org.scjgj, target=t, active=entry == "active", tags=pack(tags)
            )
        if gaj:
            DirectoryEntry.objects.create(department=org.gaj, target=t, active=True)
    other = make(org, "a0", risk="B", jurisdiction=org.korla)
    DirectoryEntry.objects.create(department=org.scjgj, target=other, active=True)
    return by_code


def _expected(org, params):
    """The scope computed by hand from the model rows (no semi-join, no bitmap)."""
    out = []
    for e in DirectoryEntry.objects.filter(department=org.scjgj, active=True).select_related(
        "target__region"
    ):
        t = e.target
        if t.jurisdiction_id != org.prefecture.pk:
            continue
        if params.get("tag") and f"|{params['tag']}|" not in e.tags:
            continue
        if params.get("risk") and t.risk_class not in params["risk"]:
            continue
        if params.get("region") and not (t.region and t.region.code == params["region"]):
            continue
        out.append((t.code, t.risk_class or "U"))
    return sorted(out, key=lambda r: r[0].encode())


def _spy(monkeypatch):
    calls = {"bits": [], "psql": []}
    bits, psql = P._member_bits, P.TargetRows._psql_blocks

    def member_bits(*a, **k):
        out = bits(*a, **k)
        calls["bits"].append(out)
        return out

    def psql_blocks(self, *a, **k):
        calls["psql"].append(k.get("snapshot"))
        return psql(self, *a, **k)

    monkeypatch.setattr(P, "_member_bits", member_bits)
    monkeypatch.setattr(P.TargetRows, "_psql_blocks", psql_blocks)
    return calls


FILTERS = [
    {},
    {"risk": ["A", "D"]},
    {"tag": "重点"},
    {"tag": "重点", "risk": ["C", "B"]},
    {"region": "652801"},
    {"tag": "没有"},
]


@pytest.mark.django_db(transaction=True)
@postgres_only
@pytest.mark.parametrize("params", FILTERS)
@pytest.mark.parametrize("use_psql", [True, False])
def test_outside_a_transaction_the_bitmap_gives_the_scope_exactly(
    org, tmp_path, monkeypatch, params, use_psql
):
    _directory(org)
    monkeypatch.setattr(P, "USE_PSQL", use_psql)
    calls = _spy(monkeypatch)
    qs = scope_targets(org.scjgj, params)
    expected = _expected(org, params)
    rows = P.rows(qs, "risk")
    assert rows.bitmap
    assert list(rows) == expected
    assert rows.shape == "bitmap"
    assert calls["bits"] and all(b is not None for b in calls["bits"])
    if use_psql and shutil.which("psql"):
        # psql reads the rows in the snapshot the members were read in.
        assert calls["psql"] and all(calls["psql"])
    else:
        assert not calls["psql"]
    monkeypatch.setattr(P, "USE_BITMAP", False)
    assert list(P.rows(qs, "risk")) == expected  # the query as Django writes it
    monkeypatch.setattr(P, "USE_BITMAP", True)
    if expected:
        freeze_equals_memory(qs, expected, tmp_path)


@pytest.mark.django_db(transaction=True)
@postgres_only
@pytest.mark.parametrize("use_psql", [True, False])
def test_members_and_rows_are_read_in_one_snapshot(org, monkeypatch, use_psql):
    """A change committed by another session after the members were read is seen neither in
    the members nor in the rows (the freeze sees one state of the directory)."""
    import psycopg

    targets = _directory(org)
    expected = _expected(org, {})
    monkeypatch.setattr(P, "USE_PSQL", use_psql)
    s = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"], port=s["PORT"], password=s["PASSWORD"]
    )
    original = P._member_bits

    def then_change(*a, **k):
        bits = original(*a, **k)
        with psycopg.connect(conninfo, autocommit=True) as other:
            other.execute(
                "UPDATE directory_target SET risk_class = 'D' WHERE id = %s", [targets["b-1"].pk]
            )
            other.execute(
                "UPDATE directory_directoryentry SET active = false WHERE target_id = %s",
                [targets["10"].pk],
            )
            other.execute(
                "UPDATE directory_directoryentry SET active = true WHERE target_id = %s",
                [targets["Z9"].pk],
            )
        return bits

    monkeypatch.setattr(P, "_member_bits", then_change)
    assert list(P.rows(scope_targets(org.scjgj, {}), "risk")) == expected
    monkeypatch.setattr(P, "_member_bits", original)
    after = list(P.rows(scope_targets(org.scjgj, {}), "risk"))  # the next freeze sees it all
    assert ("b-1", "D") in after and ("b-1", "A") not in after
    assert "10" not in dict(after) and "Z9" in dict(after)


@pytest.mark.django_db
@postgres_only
def test_in_a_read_committed_transaction_the_query_goes_as_one_statement(org, monkeypatch):
    # Two statements would see two snapshots there: the bitmap is not used.
    _directory(org)
    calls = _spy(monkeypatch)
    rows = P.rows(scope_targets(org.scjgj, {"tag": "重点"}), "risk")
    assert rows.bitmap and not rows._one_snapshot_possible()
    assert list(rows) == _expected(org, {"tag": "重点"})
    assert rows.shape in ("hashed", "as written")
    assert calls["bits"] == [] and calls["psql"] == []


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_in_a_repeatable_read_transaction_the_bitmap_sees_its_uncommitted_rows(
    org, tmp_path, monkeypatch
):
    _directory(org)
    calls = _spy(monkeypatch)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        new = make(org, "新对象", risk="C")  # not committed: psql could not see it
        DirectoryEntry.objects.create(department=org.scjgj, target=new, active=True)
        DirectoryEntry.objects.filter(target__code="a", department=org.scjgj).update(active=False)
        expected = _expected(org, {})
        assert ("新对象", "C") in expected and "a" not in dict(expected)
        rows = P.rows(scope_targets(org.scjgj, {}), "risk")
        assert rows._one_snapshot_possible()
        assert list(rows) == expected
        freeze_equals_memory(scope_targets(org.scjgj, {}), expected, tmp_path)
    assert calls["bits"] and calls["psql"] == []


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_exclusions_and_other_semi_joins_stay_in_the_query(org, monkeypatch):
    # run_freeze's population: the scope minus the draw's exclusions (a negated IN), and a
    # region filter (region_id IN ...), neither of them on the bitmap.
    _directory(org)
    calls = _spy(monkeypatch)
    excluded = Target.objects.filter(code__in=["a", "10"]).values("id")
    qs = scope_targets(org.scjgj, {"region": "652801"}).exclude(id__in=excluded)
    expected = [r for r in _expected(org, {"region": "652801"}) if r[0] not in {"a", "10"}]
    assert expected and list(P.rows(qs, "risk")) == expected
    assert len(calls["bits"]) == 1
    clone, lookup = P._member_semi_join(qs)
    assert lookup.lhs.target.name == "id" and not clone.query.where.negated
    assert P._member_semi_join(Target.objects.exclude(id__in=excluded)) is None
    assert P._member_semi_join(Target.objects.filter(region_id__in=[1])) is None
    either = Target.objects.filter(id__in=excluded) | Target.objects.filter(code="x")
    assert P._member_semi_join(either) is None  # under an OR: not a plain membership
    correlated = DirectoryEntry.objects.filter(target_id=OuterRef("id")).values("target_id")
    assert P._member_semi_join(Target.objects.filter(id__in=correlated)) is None


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_an_id_beyond_the_bitmap_sends_the_query_as_before(org, monkeypatch):
    targets = _directory(org)
    monkeypatch.setattr(P, "BITMAP_MAX_ID", min(t.pk for t in targets.values()))
    calls = _spy(monkeypatch)
    rows = P.rows(scope_targets(org.scjgj, {}), "risk")
    assert list(rows) == _expected(org, {})
    assert calls["bits"] == [None] and rows.shape in ("hashed", "as written")


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_a_scope_without_members_is_empty(org, tmp_path):
    _directory(org)
    DirectoryEntry.objects.filter(department=org.scjgj).update(active=False)
    assert list(P.rows(scope_targets(org.scjgj, {}), "risk")) == []
    assert P._member_semi_join(scope_targets(org.scjgj, {})) is not None


@pytest.mark.django_db
def test_sqlite_keeps_the_query_as_written(org):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    _directory(org)
    rows = P.rows(scope_targets(org.scjgj, {}), "risk")
    assert not rows.bitmap
    assert list(rows) == _expected(org, {})
