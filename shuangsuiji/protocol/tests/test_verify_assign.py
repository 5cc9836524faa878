"""verify-assign (DRAW-PROTOCOL.md §2.5 items 1–6): tampered copies of the vector record fail with
the right message; unreadable input gives exit status 2."""

import pytest

from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D

from .helpers import build_assign
from .test_verify import fails, unreadable


@pytest.fixture
def case():
    return build_assign()


def lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


def tsv(rows: list[str]) -> bytes:
    return "".join(f"{r}\n" for r in rows).encode()


# --- 1. files ----------------------------------------------------------------------------------


def test_files_must_match_the_hashes(case):
    rows = lines(case.inputs.eligibility_bytes)
    del rows[0]
    fails(case.verify(eligibility=tsv(rows)), "eligibility_sha256 不符")


def test_files_must_be_canonical(case):
    rows = lines(case.inputs.teams_bytes)
    rows[0], rows[1] = rows[1], rows[0]
    fails(case.verify(teams=tsv(rows)), "teams 文件 第 2 行未按字节升序排列")
    rows = lines(case.inputs.need_bytes)
    fails(case.verify(need=tsv(rows[:1] + rows)), "need 文件 第 2 行重复")
    fails(case.verify(need=case.inputs.need_bytes[:-1]), "need 文件 的最后一行没有以 LF 结尾")


def test_every_pair_once_and_needs_well_formed(case):
    rows = lines(case.inputs.need_bytes)
    fails(case.verify(need=tsv(rows[1:])), "need 文件缺少 T0001/SCJGJ")
    rows = [r.replace("T0001\tSCJGJ\t2", "T0001\tSCJGJ\t02") for r in lines(case.inputs.need_bytes)]
    fails(case.verify(need=tsv(rows)), "NEED '02' 不是无符号、无前导零的整数")
    rows = sorted(lines(case.inputs.need_bytes) + ["T0001\tSCJGJ\t3"])
    fails(case.verify(need=tsv(rows)), "need 文件中 T0001/SCJGJ 出现多次")
    rows = sorted(lines(case.inputs.need_bytes) + ["T0001\tGAJ\t1"])
    fails(case.verify(need=tsv(rows)), "need 文件中的部门 GAJ 不在 departments 中")


def test_a_team_needs_two_inspectors(case):
    rows = [
        r.rsplit("\t", 1)[0] + "\t0" if r.startswith("T0002\t") and not r.endswith("WJW\t1") else r
        for r in lines(case.inputs.need_bytes)
    ]
    fails(case.verify(need=tsv(rows)), "检查组 T0002 的需要人数合计 1，至少应为 2")


def test_eligibility_only_for_listed_pairs_and_one_department_per_code(case):
    rows = sorted(lines(case.inputs.eligibility_bytes) + ["T0009\tSWJ\tSWJ-000"])
    fails(case.verify(eligibility=tsv(rows)), "eligibility 文件中的 T0009/SWJ 不在 need 文件中")
    rows = sorted(lines(case.inputs.eligibility_bytes) + ["T0001\tSWJ\tWJW-000"])
    fails(case.verify(eligibility=tsv(rows)), "执法人员 WJW-000 出现在两个部门下")
    rows = sorted(lines(case.inputs.eligibility_bytes) + ["T0001\tSWJ\tSWJ-é"])
    fails(case.verify(eligibility=tsv(rows)), "必须是非空的可打印 ASCII")


def test_teams_file_rules(case):
    rows = lines(case.inputs.teams_bytes)
    rows.append("T0009\t" + rows[0].split("\t")[1])
    fails(case.verify(teams=tsv(sorted(rows))), "在多个检查组中")
    renumbered = [r.replace("T0008", "T0010") for r in lines(case.inputs.teams_bytes)]
    fails(case.verify(teams=tsv(renumbered)), "检查组编号应为 T0008")
    wide = [r.replace("T000", "T0000") for r in lines(case.inputs.teams_bytes)]
    fails(case.verify(teams=tsv(wide)), "检查组编号应为 T0001")


def test_files_not_canonical_are_not_replayed(case):
    rows = lines(case.inputs.teams_bytes)
    rows[0], rows[1] = rows[1], rows[0]
    report = case.verify(teams=tsv(rows))
    assert any("未重放" in n for n in report.notes)


# --- 2. statement ------------------------------------------------------------------------------


def restate(case, statement: str) -> None:
    case.record["assign_statement"] = statement
    case.record["assign_seed"] = D.seed_of(statement).hex()


def test_statement_lines_and_values(case):
    statement = case.record["assign_statement"]
    restate(case, statement.replace("run=1\n", "run=2\n"))
    fails(case.verify(), "assign_statement 第 4 行不符：记录为 'run=2'，应为 'run=1'")
    ordered = statement.split("\n")
    ordered[4], ordered[5] = ordered[5], ordered[4]
    restate(case, "\n".join(ordered))
    fails(case.verify(), "assign_statement 第 5 行不符")


def test_server_entropy_alone_is_not_enough(case):
    statement = case.record["assign_statement"]
    head = "".join(f"{ln}\n" for ln in statement.splitlines() if not ln.startswith("entropy."))
    restate(case, head + "entropy.server=" + "1" * 64 + "\n")
    case.record["commitments"] = {"server": D.commitment("1" * 64)}
    fails(case.verify(announcement=False), "仅有服务器熵不够")
    with pytest.raises(D.ProtocolError, match="beacon or party"):
        A.check_assign_entropy({"server": "1" * 64}, ["SCJGJ"])


def test_commitment_and_seed(case):
    case.record["commitments"]["party.WJW"] = D.commitment("0" * 64)
    fails(case.verify(announcement=False), "熵项 party.WJW 的揭示值与承诺不符")
    case = build_assign()
    case.record["assign_seed"] = "0" * 64
    fails(case.verify(), "assign_seed 不符")


def test_party_must_be_a_department(case):
    restate(case, case.record["assign_statement"].replace("party.WJW", "party.GAJ"))
    case.record["commitments"] = {"party.GAJ": case.record["commitments"]["party.WJW"]}
    fails(case.verify(announcement=False), "熵项 party.GAJ 不是 departments 中的部门")


# --- 3. the replayed run -----------------------------------------------------------------------


def test_changed_member(case):
    case.record["assignment"][0]["members"] = ["SCJGJ-001", "SCJGJ-004"]
    fails(
        case.verify(),
        'assignment[0] (T0001/SCJGJ) 的 members 不符：记录为 ["SCJGJ-001", "SCJGJ-004"]，'
        '重放为 ["SCJGJ-000", "SCJGJ-004"]',
    )


def test_pick_order_matters(case):
    case.record["assignment"][3]["members"].reverse()
    fails(case.verify(), "assignment[3] (T0002/SCJGJ) 的 members 不符")


def test_hidden_shortfall(case):
    entry = next(e for e in case.record["assignment"] if e["missing"])
    entry["missing"] = 0
    fails(case.verify(), "的 missing 不符：记录为 0，重放为 1")


def test_dropped_entry(case):
    case.record["assignment"].pop()
    fails(case.verify(), "assignment 应有 24 项")


def test_changed_eligibility_changes_the_run(case):
    rows = [r for r in lines(case.inputs.eligibility_bytes) if r != "T0001\tSCJGJ\tSCJGJ-000"]
    text = fails(case.verify(eligibility=tsv(rows)), "eligibility_sha256 不符")
    assert "重放为" in text


# --- 4. replacements and teams -----------------------------------------------------------------


def test_wrong_substitute(case):
    case.record["replacements"][0]["in"] = "SCJGJ-001"
    fails(
        case.verify(), "replacements[0] (T0001/SCJGJ) 的 in 不符：记录为 SCJGJ-001，应为 SCJGJ-003"
    )


def test_replacements_in_approval_order(case):
    case.record["replacements"][2]["at"] = "2027-03-02T08:00:00+08:00"
    fails(case.verify(), "replacements[2] 的 at (2027-03-02T08:00:00+08:00) 早于上一次更换")


def test_reordered_replacements(case):
    reps = case.record["replacements"]
    reps[0], reps[1] = reps[1], reps[0]
    fails(case.verify(), "replacements[0] 不成立：SCJGJ-003 不是 T0001/SCJGJ 的现任成员")


def test_replacement_needs_reason_and_approver(case):
    case.record["replacements"][0]["reason"] = " "
    case.record["replacements"][1]["approved_by"] = ""
    fails(
        case.verify(),
        "replacements[0] 的 reason 不能为空",
        "replacements[1] 的 approved_by 不能为空",
    )


def test_dropped_replacement_shows_in_teams(case):
    case.record["replacements"].pop()
    fails(case.verify(), "teams[T0003] 的 members 不符")


def test_wrong_leader(case):
    case.record["teams"]["T0001"]["leader"] = "SCJGJ-004"
    fails(case.verify(), "teams[T0001] 的组长 leader 不符：记录为 SCJGJ-004，应为 SCJGJ-005")
    case = build_assign()
    case.record["teams"]["T0006"]["leader"] = "SWJ-000"  # no lead-department member: no leader
    fails(case.verify(), "teams[T0006] 的组长 leader 不符")


def test_teams_missing_or_extra(case):
    case.record["teams"]["T0009"] = case.record["teams"].pop("T0008")
    fails(case.verify(), "teams 缺少检查组 T0008", "teams 多出检查组 T0009")


def test_a_replacement_without_substitute_is_refused():
    case = build_assign()
    inputs = case.inputs
    requests = [
        {"team": "T0002", "dept": "WJW", "out": "WJW-001", "reason": "回避",
         "approved_by": "head-WJW", "at": "2027-03-02T09:00:00+08:00"},
    ]  # fmt: skip
    with pytest.raises(D.ProtocolError, match="没有可替补"):
        A.perform(
            inputs, task="2027-XJ-0001", draw=1, run_number=1, lead_department="SCJGJ",
            draw_seed=case.record["draw_seed"], entropy={"beacon.fc3d.2027061": "747"},
            replacement_requests=requests,
        )  # fmt: skip


# --- 5. announcement ---------------------------------------------------------------------------


def test_announcement_hash(case):
    fails(case.verify(announcement=case.announcement_bytes + b"\n"), "announcement_sha256 不符")


def test_announcement_values(case):
    for key, value, message in [
        ("teams_count", 9, "公告的 teams_count 不符：公告为 9，teams 文件有 8 个检查组"),
        ("run", 2, "announcement 的 run 与记录不符"),
        ("need_sha256", "0" * 64, "announcement 的 need_sha256 与记录不符"),
        ("departments", ["SCJGJ", "SWJ"], "announcement 的 departments 与记录不符"),
        ("stage", "release", "公告的 stage 应为 announcement"),
        ("protocol", "ssj-draw/1", "公告的 protocol 应为 ssj-assign/1"),
        ("reveals_due", None, "reveals_due 为 null，但有部门熵项"),
    ]:
        case = build_assign()
        case.announcement[key] = value
        case.reseal()
        fails(case.verify(), message)


def test_announcement_entropy(case):
    case.announcement["entropy"]["beacon.fc3d.2027061"] = "747"
    case.reseal()
    fails(case.verify(), "公开随机源 beacon.fc3d.2027061 必须为 null")
    case = build_assign()
    case.announcement["entropy"] = {"party.WJW": case.announcement["entropy"]["party.WJW"]}
    case.reseal()
    fails(case.verify(), "没有声明中的熵项 beacon.fc3d.2027061")


# --- 6. the target draw ------------------------------------------------------------------------


def test_draw_seed_task_and_draw_must_agree(case):
    case.draw_release["seed"] = "1" * 64
    case.draw_release["draw"] = 2
    fails(case.verify(), "draw_seed 与对象抽取的 seed 不符", "draw 与对象抽取不符")


def test_teams_hold_exactly_the_selected_ids(case):
    case.draw_release["selected"].pop()
    case.draw_release["selected"].append({"id": "91652800009TEST009"})
    fails(
        case.verify(),
        "对象抽取选中的 91652800009TEST009 不在 teams 文件中",
        "teams 文件中的 91652800008TEST008 不是对象抽取选中的对象",
    )


def test_teams_numbered_in_published_order(case):
    selected = case.draw_release["selected"]
    selected[0], selected[1] = selected[1], selected[0]
    fails(case.verify(), "第 1 个出现的检查组是 T0002，应编号为 T0001")


# --- exit status 2 ----------------------------------------------------------------------------


def test_unreadable_inputs(case):
    unreadable(
        case.verify(record=b'{"run":2,' + case.record_bytes[1:]), "重复的键 (duplicate key): 'run'"
    )
    del case.record["teams"]["T0001"]["leader"]
    unreadable(case.verify(), "teams['T0001'] 缺少键 (missing keys): leader")
    case = build_assign()
    del case.record["assign_seed"]
    unreadable(case.verify(), "record 缺少键 (missing keys): assign_seed")
    case = build_assign()
    unreadable(
        case.verify(eligibility=b"T0001\tSCJGJ\t\xff\n"), "eligibility 文件 不是有效的 UTF-8"
    )
    unreadable(case.verify(draw=b"{}"), "draw release 缺少键")
    del case.announcement["teams_count"]
    unreadable(case.verify(), "announcement 缺少键 (missing keys): teams_count")


def test_wrong_types_are_differences_not_crashes(case):
    case.record["assignment"] = "x"
    case.record["replacements"] = {}
    case.record["teams"] = []
    case.record["departments"] = "SCJGJ"
    report = case.verify()
    assert report.exit_code == 1, report.text()
