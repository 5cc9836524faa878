"""DRAW-PROTOCOL.md §1.7 and §2.5: every vector reproduced exactly, every intermediate value."""

from pathlib import Path

import pytest

from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D

from .helpers import (
    VECTORS,
    allocation_of,
    assign_vectors,
    build_assign,
    build_draw,
    draw_vectors,
    freeze_vector,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "design"
DRAW = draw_vectors()
ASSIGN = assign_vectors()


@pytest.mark.parametrize("name", ["draw-vectors.json", "assign-vectors.json"])
def test_vector_files_are_byte_identical_to_the_shared_design(name):
    if not SHARED.is_dir():
        pytest.skip("../shared/design is not beside the repository")
    assert (VECTORS / name).read_bytes() == (SHARED / name).read_bytes()


def test_vectors_cover_public_and_sealed_ratio_and_count():
    kinds = {(v["input"].get("strata_mode", "public"), v["input"]["mode"]) for v in DRAW}
    assert {("public", "ratio"), ("public", "count"), ("sealed", "ratio")} <= kinds


@pytest.mark.parametrize("vector", DRAW, ids=[v["name"] for v in DRAW])
def test_draw_vector(vector):
    i, e = vector["input"], vector["expected"]
    frozen = freeze_vector(vector)
    assert frozen.population_sha256 == e["population_sha256"]
    assert frozen.excluded_sha256 == e["excluded_sha256"]
    assert frozen.strata_sha256 == e.get("strata_sha256")
    assert frozen.allocation == e["allocation"]
    assert frozen.k == e["k"]
    assert D.commitments(i["entropy"]) == e["commitments"]
    result = D.perform(frozen, i["entropy"])
    assert result.seed_statement == e["seed_statement"]
    assert result.seed.hex() == e["seed"]
    assert [[s.id, s.stratum, s.score.hex()] for s in result.selected] == e["selected"]
    # Each intermediate value also from the lower-level functions.
    assert D.parse_allocation(e["allocation"]) == allocation_of(i)
    assert D.seed_of(e["seed_statement"]).hex() == e["seed"]
    seed = bytes.fromhex(e["seed"])
    for candidate, _, score in e["selected"]:
        assert D.score(seed, candidate).hex() == score


@pytest.mark.parametrize("vector", DRAW, ids=[v["name"] for v in DRAW])
def test_draw_vector_files_are_canonical(vector):
    i = vector["input"]
    sealed = i.get("strata_mode") == "sealed"
    frozen = freeze_vector(vector)
    lines = frozen.population_bytes.decode().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == sorted(r[0] for r in i["population"])
    assert all(ln.split("\t")[1] == "*" for ln in lines) or not sealed
    if sealed:
        strata = frozen.strata_bytes.decode().splitlines()
        assert strata[0] == f"salt\t{i['strata_salt']}"
        assert [s.split("\t")[0] for s in strata[1:]] == [ln.split("\t")[0] for ln in lines]
        assert all(ln.endswith("\t*\t" + ln.split("\t")[2]) for ln in
                   frozen.excluded_bytes.decode().splitlines())  # fmt: skip


@pytest.mark.parametrize("vector", DRAW, ids=[v["name"] for v in DRAW])
def test_published_release_carries_the_vector_values(vector):
    case = build_draw(vector)
    e = vector["expected"]
    rel = case.release
    assert rel["seed_statement"] == e["seed_statement"] and rel["seed"] == e["seed"]
    assert rel["commitments"] == e["commitments"]
    sealed = vector["input"].get("strata_mode") == "sealed"
    shown = [[s["id"], s["stratum"], s["score"]] for s in rel["selected"]]
    if sealed:
        assert shown == [[c, "*", score] for c, _, score in e["selected"]]
        assert rel["strata"] == {"*": {"n": len(vector["input"]["population"]),
                                       "k": len(e["selected"])}}  # fmt: skip
    else:
        assert shown == e["selected"]
        assert {s: v["k"] for s, v in rel["strata"].items()} == e["k"]


@pytest.mark.parametrize("vector", DRAW, ids=[v["name"] for v in DRAW])
def test_verify_passes_on_records_built_from_the_vectors(vector):
    case = build_draw(vector)
    report = case.verify()
    assert report.exit_code == 0, report.text()
    assert "PASS" in report.text()
    # Without the announcement: still PASS, with the warning.
    report = case.verify(announcement=False)
    assert report.exit_code == 0, report.text()
    assert any("announcement" in w for w in report.warnings)


def test_sealed_vector_without_the_strata_file_warns_and_passes():
    case = build_draw(next(v for v in DRAW if v["input"].get("strata_mode") == "sealed"))
    report = case.verify(strata=False)
    assert report.exit_code == 0, report.text()
    assert any("strata file" in w for w in report.warnings)


@pytest.mark.parametrize("vector", ASSIGN, ids=[v["name"] for v in ASSIGN])
def test_assign_vector(vector):
    i, e = vector["input"], vector["expected"]
    case = build_assign(vector)
    inputs, result = case.inputs, case.assignment
    assert inputs.teams_sha256 == e["teams_sha256"]
    assert inputs.need_sha256 == e["need_sha256"]
    assert inputs.eligibility_sha256 == e["eligibility_sha256"]
    assert result.commitments == e["commitments"]
    assert result.assign_statement == e["assign_statement"]
    assert result.assign_seed.hex() == e["assign_seed"]
    assert [x.as_dict() for x in result.entries] == e["assignment"]
    assert result.replacements == e["replacements"]
    assert result.teams == e["teams"]
    assert case.record["assignment"] == e["assignment"]
    assert case.record["teams"] == e["teams"]
    # Shortfalls are reported, not papered over.
    assert [(s.team, s.dept, s.missing) for s in result.shortfalls] == [
        (x["team"], x["dept"], x["missing"]) for x in e["assignment"] if x["missing"]
    ]
    # The lower-level pieces agree.
    assert A.assign_statement(
        task=i["task"], draw=i["draw"], run=i["run"], lead=i["lead_department"],
        draw_seed=i["draw_seed"], teams_sha256=e["teams_sha256"], need_sha256=e["need_sha256"],
        eligibility_sha256=e["eligibility_sha256"], entropy=i["entropy"],
    ) == e["assign_statement"]  # fmt: skip


@pytest.mark.parametrize("vector", ASSIGN, ids=[v["name"] for v in ASSIGN])
def test_verify_assign_passes_on_the_record_built_from_the_vector(vector):
    case = build_assign(vector)
    report = case.verify()
    assert report.exit_code == 0, report.text()
    report = case.verify(announcement=False, draw=False)
    assert report.exit_code == 0, report.text()
    assert any("announcement" in w for w in report.warnings)
    assert ("fc3d", "2027061", "747") in report.beacons
