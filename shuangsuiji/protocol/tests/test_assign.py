"""ssj-assign/1 building blocks (DRAW-PROTOCOL.md §2.1–§2.5)."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import verify as V

from .helpers import build_assign, build_draw, draw_vector

SEED = hashlib.sha256(b"assign").digest()


# --- §2.1 teams --------------------------------------------------------------------------------


def test_team_codes():
    assert A.team_code(1, 8) == "T0001"
    assert A.team_code(12, 9999) == "T0012"
    assert A.team_code(12, 10000) == "T00012"


def test_one_target_per_team():
    assert A.form_teams(["b", "a", "c"]) == [("T0001", "b"), ("T0002", "a"), ("T0003", "c")]


def test_up_to_n_targets_of_one_region():
    order = ["a1", "b1", "a2", "a3", "b2", "a4", "c1"]
    region = {t: t[0] for t in order}
    assert A.form_teams(order, per_team=2, region=region) == [
        ("T0001", "a1"), ("T0002", "b1"), ("T0001", "a2"), ("T0003", "a3"),
        ("T0002", "b2"), ("T0003", "a4"), ("T0004", "c1"),
    ]  # fmt: skip
    with pytest.raises(D.ProtocolError):
        A.form_teams(order, per_team=2)
    with pytest.raises(D.ProtocolError):
        A.form_teams(order, per_team=0)


def test_team_code_width_grows_with_the_count():
    pairs = A.form_teams([f"t{i}" for i in range(10001)])
    assert pairs[0][0] == "T00001" and pairs[-1][0] == "T10001"


def test_files_sort_lines_by_bytes():
    assert (
        A.need_file([("T0001", "SWJ", 1), ("T0001", "SW", 1)]) == b"T0001\tSW\t1\nT0001\tSWJ\t1\n"
    )


def test_parse_files_refuses_non_canonical_input():
    teams = A.teams_file([("T0001", "a")])
    need = A.need_file([("T0001", "SCJGJ", 2)])
    eligibility = A.eligibility_file([("T0001", "SCJGJ", "x"), ("T0001", "SCJGJ", "y")])
    inputs = A.parse_files(teams, need, eligibility, ["SCJGJ"])
    assert inputs.eligible == {("T0001", "SCJGJ"): ["x", "y"]}
    with pytest.raises(D.ProtocolError, match="至少应为 2"):
        A.parse_files(teams, A.need_file([("T0001", "SCJGJ", 1)]), b"", ["SCJGJ"])
    with pytest.raises(D.ProtocolError, match="缺少 T0001/WJW"):
        A.parse_files(teams, need, b"", ["SCJGJ", "WJW"])
    with pytest.raises(D.ProtocolError, match="UTF-8"):
        A.parse_files(b"\xff", need, b"", ["SCJGJ"])


# --- §2.3 algorithm ----------------------------------------------------------------------------


def naive_run(inputs, seed):
    """§2.3 literally: the whole order of every pair, sorted by (load, hash, code)."""
    load = {}
    out = []
    for team in inputs.teams:
        for dept in inputs.departments:
            eligible = inputs.eligible.get((team, dept), [])
            need = inputs.need[(team, dept)]
            order = sorted(
                eligible,
                key=lambda c, t=team, d=dept: (
                    load.get(c, 0),
                    hashlib.sha256(seed + f"{t}\t{d}\t{c}".encode()).digest(),
                    c,
                ),
            )
            members = order[:need]
            for c in members:
                load[c] = load.get(c, 0) + 1
            out.append(A.Entry(team, dept, members, max(0, need - len(eligible))))
    return out


@st.composite
def assignment_inputs(draw):
    departments = draw(st.lists(st.sampled_from(["SCJGJ", "WJW", "SWJ", "GAJ"]), min_size=1,
                                max_size=3, unique=True))  # fmt: skip
    people = {d: [f"{d}-{i:02d}" for i in range(draw(st.integers(0, 6)))] for d in departments}
    count = draw(st.integers(1, 12))
    teams = [A.team_code(i + 1, count) for i in range(count)]
    need, eligibility = [], []
    for team in teams:
        needs = [draw(st.integers(0, 3)) for _ in departments]
        if sum(needs) < 2:
            needs[0] += 2
        for dept, n in zip(departments, needs, strict=True):
            need.append((team, dept, n))
            for code in (
                draw(st.lists(st.sampled_from(people[dept]), unique=True)) if people[dept] else []
            ):
                eligibility.append((team, dept, code))
    return A.parse_files(
        A.teams_file((t, f"target-{t}") for t in teams),
        A.need_file(need),
        A.eligibility_file(eligibility),
        sorted(departments),
    )


@settings(max_examples=150, deadline=None)
@given(assignment_inputs(), st.binary(min_size=32, max_size=32))
def test_load_level_shortcut_gives_the_full_orders_picks(inputs, seed):
    entries, _ = A.run(inputs, seed)
    assert entries == naive_run(inputs, seed)
    everything = [(t, d) for t in inputs.teams for d in inputs.departments]
    full, orders = A.run(inputs, seed, orders_for=everything)
    assert full == entries
    for entry in entries:
        assert orders[(entry.team, entry.dept)][: len(entry.members)] == entry.members


def test_shortfall_is_recorded_not_hidden():
    case = build_assign()
    short = {(e.team, e.dept): e.missing for e in case.assignment.shortfalls}
    assert short == {("T0004", "SWJ"): 1, ("T0005", "SWJ"): 1}


def test_load_spreads_the_work():
    teams = [A.team_code(i + 1, 30) for i in range(30)]
    inputs = A.parse_files(
        A.teams_file((t, f"x{t}") for t in teams),
        A.need_file((t, "SCJGJ", 2) for t in teams),
        A.eligibility_file((t, "SCJGJ", f"P{i}") for t in teams for i in range(6)),
        ["SCJGJ"],
    )
    entries, _ = A.run(inputs, SEED)
    load = {}
    for e in entries:
        for m in e.members:
            load[m] = load.get(m, 0) + 1
    assert sorted(load.values()) == [10] * 6


# --- §2.4 replacements -------------------------------------------------------------------------


def test_substitute_skips_current_members_and_those_replaced_out():
    staffing = A.Staffing({("T1", "D"): ["a", "b"]})
    order = ["a", "b", "c", "d"]
    assert staffing.replace(("T1", "D"), "a", order) == "c"
    assert staffing.members[("T1", "D")] == ["c", "b"]  # the substitute takes the place
    assert staffing.replace(("T1", "D"), "c", order) == "d"  # not a: it was replaced out
    with pytest.raises(D.ProtocolError, match="没有可替补"):
        staffing.replace(("T1", "D"), "d", order)
    with pytest.raises(D.ProtocolError, match="不是 T1/D 的现任成员"):
        staffing.replace(("T1", "D"), "zz", order)
    with pytest.raises(D.ProtocolError):
        staffing.replace(("T9", "D"), "a", order)


def test_replacement_requests_are_checked():
    case = build_assign()
    request = {"team": "T0001", "dept": "SCJGJ", "out": "SCJGJ-000", "reason": "回避",
               "approved_by": "head", "at": "2027-03-02T09:00:00+08:00"}  # fmt: skip
    for bad in ({"reason": ""}, {"approved_by": " "}, {"at": "2027-03-02"}):
        with pytest.raises(D.ProtocolError):
            A.check_replacement_request({**request, **bad}, None)
    with pytest.raises(D.ProtocolError, match="approval order"):
        A.check_replacement_request(request, "2027-03-02T10:00:00+08:00")
    assert case.assignment.teams["T0001"]["leader"] == "SCJGJ-005"  # a replaced leader's substitute


# --- documents and log entries -----------------------------------------------------------------


def test_record_announcement_and_log_entries():
    case = build_assign()
    record, announcement = case.record, case.announcement
    assert list(record) == list(V.RECORD_KEYS)
    assert set(announcement) == set(V.ASSIGN_ANNOUNCEMENT_KEYS)
    assert (
        announcement["teams_count"] == 8 and announcement["entropy"]["beacon.fc3d.2027061"] is None
    )
    raw = D.dumps(record)
    entry = A.replacement_entry(record, 0, raw)
    assert entry == {"protocol": "ssj-assign/1", "stage": "replacement", "task": "2027-XJ-0001",
                     "draw": 1, "run": 1, "index": 0, "record_sha256": D.sha256_hex(raw)}  # fmt: skip
    done = A.release_entry(record, raw)
    assert done["members"]["T0003"] == {"SCJGJ": 2, "SWJ": 2, "WJW": 1}
    assert done["members"]["T0006"] == {"SCJGJ": 0, "SWJ": 1, "WJW": 1}
    # No personal data in the public entries.
    assert "SCJGJ-00" not in D.dumps(done).decode() + D.dumps(announcement).decode()


def test_announcement_rules():
    inputs = build_assign().inputs
    args = {"task": "T", "draw": 1, "run_number": 1, "lead_department": "SCJGJ",
                "announced_at": "2027-03-01T16:00:00+08:00"}  # fmt: skip
    with pytest.raises(D.ProtocolError, match="beacon or party"):
        A.announcement(inputs, entropy={"server": "0" * 64}, reveals_due=None, **args)
    with pytest.raises(D.ProtocolError, match="reveals_due"):
        A.announcement(inputs, entropy={"party.WJW": "0" * 64}, reveals_due=None, **args)
    with pytest.raises(D.ProtocolError, match="announced_at"):
        A.announcement(inputs, entropy={"beacon.fc3d.1": None}, reveals_due=None,
                       **{**args, "announced_at": "yesterday"})  # fmt: skip


def test_perform_refuses_a_lead_outside_the_task():
    case = build_assign()
    with pytest.raises(D.ProtocolError, match="lead_department"):
        A.perform(case.inputs, task="T", draw=1, run_number=1, lead_department="GAJ",
                  draw_seed="0" * 64, entropy={"beacon.fc3d.1": "1"})  # fmt: skip


# --- end to end: a target draw, its teams, the inspector draw ----------------------------------


@pytest.mark.parametrize("per_team", [1, 3])
def test_from_a_target_draw_to_a_verified_assignment(per_team):
    target = build_draw(draw_vector("ratio-five-strata"))
    order = [s["id"] for s in target.release["selected"]]
    region = {t: f"65280{int(t[-3], 36) % 3}" for t in order}
    pairs = A.form_teams(order, per_team=per_team, region=region)
    teams = sorted({t for t, _ in pairs})
    departments = ["SCJGJ", "SWJ", "WJW"]
    people = {d: [f"{d}-{i:03d}" for i in range(7)] for d in departments}
    need = [(t, d, 2 if d == "SCJGJ" else 1) for t in teams for d in departments]
    eligibility = [
        (t, d, code) for t in teams for d in departments for code in people[d]
        if int(hashlib.sha256(f"{t}{code}".encode()).hexdigest(), 16) % 4  # some recused
    ]  # fmt: skip
    inputs = A.parse_files(
        A.teams_file(pairs), A.need_file(need), A.eligibility_file(eligibility), departments
    )
    entropy = {"beacon.fc3d.2027061": "747", "party.WJW": "5" * 64}
    announcement = A.announcement(
        inputs, task=target.release["task"], draw=1, run_number=1, lead_department="SCJGJ",
        announced_at="2027-03-03T09:00:00+08:00",
        entropy={"beacon.fc3d.2027061": None, "party.WJW": D.commitment("5" * 64)},
        reveals_due="2027-03-03T12:00:00+08:00",
    )  # fmt: skip
    assignment = A.perform(
        inputs, task=target.release["task"], draw=1, run_number=1, lead_department="SCJGJ",
        draw_seed=target.release["seed"], entropy=entropy,
    )  # fmt: skip
    record = A.record(assignment, announcement_sha256=D.sha256_hex(D.dumps(announcement)))
    report = V.verify_assign(
        D.dumps(record), inputs.teams_bytes, inputs.need_bytes, inputs.eligibility_bytes,
        D.dumps(announcement), target.release_bytes,
    )  # fmt: skip
    assert report.exit_code == 0, report.text()
    assert len(teams) == (len(order) if per_team == 1 else len(teams))
    # Another draw's release does not match this assignment.
    other = build_draw(draw_vector("count-weighted-with-exclusions"))
    report = V.verify_assign(
        D.dumps(record), inputs.teams_bytes, inputs.need_bytes, inputs.eligibility_bytes,
        D.dumps(announcement), other.release_bytes,
    )  # fmt: skip
    assert report.exit_code == 1
