"""verify (DRAW-PROTOCOL.md §1.6 "Verification"): tampered copies of the vector records fail with
the right message and exit status (1 differs, 2 unreadable)."""

import json

import pytest

from shuangsuiji.protocol import draw as D

from .helpers import build_draw, draw_vector, problems_text

PUBLIC = "ratio-five-strata"
COUNT = "count-weighted-with-exclusions"
SEALED = "sealed-ratio-unannounced"
INDUSTRY = "public-industry-strata-count"


@pytest.fixture
def public():
    return build_draw(draw_vector(PUBLIC))


@pytest.fixture
def parties():
    return build_draw(draw_vector(COUNT))


@pytest.fixture
def sealed():
    return build_draw(draw_vector(SEALED))


def fails(report, *fragments):
    """Exit status 1, and every fragment appears in one of the listed differences."""
    text = problems_text(report)
    assert report.exit_code == 1, report.text()
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{report.text()}"
    assert "FAIL" in report.text()
    return text


def unreadable(report, fragment):
    assert report.exit_code == 2, report.text()
    assert fragment in problems_text(report), report.text()
    assert "UNREADABLE" in report.text()


def test_report_always_prints_the_beacon_items(public):
    report = public.verify()
    assert report.beacons == [("fc3d", "2027001", "482")]
    assert "source=fc3d  issue=2027001  value=482" in report.text()
    # …also when something differs.
    public.release["selected"][0]["score"] = "0" * 64
    assert "value=482" in public.verify().text()


def test_no_beacon_is_said_plainly(parties):
    assert "beacon items)：无 (none)" in parties.verify().text()


# --- check 1: files ----------------------------------------------------------------------------


def test_changed_population_line(public):
    lines = public.population.decode().splitlines(keepends=True)
    candidate, label = lines[3].rstrip("\n").split("\t")
    lines[3] = f"{candidate}\t{'A' if label != 'A' else 'B'}\n"
    fails(public.verify(population="".join(lines).encode()), "population_sha256 不符：记录为")


def test_population_missing_a_line_changes_the_hash_and_the_counts(public):
    lines = public.population.decode().splitlines(keepends=True)
    del lines[10]
    fails(
        public.verify(population="".join(lines).encode()), "population_sha256 不符", "strata 不符"
    )


def test_population_not_sorted_and_duplicates(public):
    lines = public.population.splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    fails(public.verify(population=b"".join(lines)), "未按字节升序排列 (sorted by ID)")
    lines = public.population.splitlines(keepends=True)
    lines.insert(5, lines[5])
    fails(public.verify(population=b"".join(lines)), "重复 (IDs unique)")


def test_population_without_final_lf_and_bad_lines(public):
    fails(public.verify(population=public.population[:-1]), "没有以 LF 结尾")
    fails(public.verify(population=public.population + b"ABC\n"), "应为 ID<TAB>LABEL")
    bad = public.population.replace(b"\tA\n", b"\tA;B\n", 1)
    fails(public.verify(population=bad), "含有 ;")
    bad = public.population.replace(b"\tA\n", b"\t*\n", 1)
    fails(public.verify(population=bad), "不能是 *")


def test_excluded_id_also_in_population(parties):
    first = parties.population.decode().splitlines()[0].split("\t")[0]
    rows = parties.excluded.decode().splitlines() + [f"{first}\tA\tannual-limit"]
    excluded = "".join(f"{r}\n" for r in sorted(rows)).encode()
    fails(
        parties.verify(excluded=excluded), f"ID {first} 既在 population 文件中又在 excluded 文件中"
    )


def test_excluded_file_rules(parties):
    lines = parties.excluded.decode().splitlines(keepends=True)
    fails(
        parties.verify(excluded="".join([lines[0], *lines]).encode()),
        "excluded 文件第 2 行",
        "重复",
    )
    bad = parties.excluded.replace(b"annual-limit", b"Annual_Limit", 1)
    fails(parties.verify(excluded=bad), "排除原因 'Annual_Limit' 不符合 [a-z0-9-]+")


def test_excluded_counts_must_match(parties):
    parties.release["excluded_counts"] = {"annual-limit": 4}
    fails(
        parties.verify(),
        'excluded_counts 不符：记录为 {"annual-limit": 4}，文件为 {"annual-limit": 5}',
    )


def test_sealed_file_with_a_non_star_label(sealed):
    bad = sealed.population.replace(b"\t*\n", b"\tA\n", 1)
    fails(sealed.verify(population=bad), "密封分层时标签必须为 *")
    bad = sealed.excluded.replace(b"\t*\t", b"\tB\t", 1)
    fails(sealed.verify(excluded=bad), "excluded 文件第 1 行起：密封分层时标签必须为 *")


# --- check 2: statement ------------------------------------------------------------------------


def test_wrong_commitment(parties):
    parties.release["commitments"]["party.SCJGJ"] = D.commitment("0" * 64)
    fails(parties.verify(announcement=False), "熵项 party.SCJGJ 的揭示值与承诺不符")


def test_reveal_not_matching_its_commitment(parties):
    statement = parties.release["seed_statement"]
    reveal = parties.frozen and statement.split("entropy.party.WJW=")[1].split("\n")[0]
    tampered = statement.replace(reveal, "f" * 64)
    parties.release["seed_statement"] = tampered
    parties.release["seed"] = D.seed_of(tampered).hex()
    text = fails(parties.verify(), "熵项 party.WJW 的揭示值与承诺不符")
    assert "score 不符" in text  # a different seed: every score differs


def test_commitments_must_name_exactly_the_party_and_server_items(parties):
    parties.release["commitments"]["server"] = D.commitment("1" * 64)
    fails(parties.verify(announcement=False), "commitments 多出 server")
    del parties.release["commitments"]["server"]
    del parties.release["commitments"]["party.WJW"]
    fails(parties.verify(announcement=False), "commitments 缺少熵项 party.WJW 的承诺")


def test_statement_line_order(public):
    lines = public.release["seed_statement"].split("\n")
    lines[3], lines[4] = lines[4], lines[3]  # population= and excluded=
    statement = "\n".join(lines)
    public.release["seed_statement"] = statement
    public.release["seed"] = D.seed_of(statement).hex()
    fails(public.verify(), "seed_statement 第 4 行不符：记录为 'excluded=", "第 5 行不符")


def test_entropy_lines_are_ordered_by_name(parties):
    lines = parties.release["seed_statement"].rstrip("\n").split("\n")
    lines[-1], lines[-2] = lines[-2], lines[-1]
    statement = "\n".join(lines) + "\n"
    parties.release["seed_statement"] = statement
    parties.release["seed"] = D.seed_of(statement).hex()
    fails(
        parties.verify(),
        "熵项未按名称的字节顺序排列 (sorted by name)：party.SCJGJ 应在 party.WJW 之前",
    )


def test_entropy_order_is_by_name_not_by_line():
    # "party.A" < "party.A1" by name, although "entropy.party.A1=" < "entropy.party.A=" by line.
    statement = D.seed_statement(
        task="T", draw=1, population_sha256="p", excluded_sha256="e", strata_sha256=None,
        allocation="mode=count;K=1", entropy={"party.A1": "1" * 64, "party.A": "0" * 64},
    )  # fmt: skip
    assert statement.index("party.A=") < statement.index("party.A1=")


def test_strata_line_only_when_sealed(public, sealed):
    lines = sealed.release["seed_statement"].split("\n")
    statement = "\n".join(ln for ln in lines if not ln.startswith("strata="))
    sealed.release["seed_statement"] = statement
    sealed.release["seed"] = D.seed_of(statement).hex()
    fails(sealed.verify(), "seed_statement 缺少行 (missing line) 'strata=")
    statement = public.release["seed_statement"].replace(
        "allocation=", "strata=" + "0" * 64 + "\nallocation="
    )
    public.release["seed_statement"] = statement
    public.release["seed"] = D.seed_of(statement).hex()
    fails(public.verify(), "seed_statement 多出行 (unexpected line) 'strata=")


def test_statement_must_end_in_lf_and_have_an_entropy_item(public):
    statement = public.release["seed_statement"]
    public.release["seed_statement"] = statement.rstrip("\n")
    fails(public.verify(), "seed_statement 的最后一行没有以 LF 结尾")
    header = "".join(ln + "\n" for ln in statement.splitlines() if not ln.startswith("entropy."))
    public.release["seed_statement"] = header
    fails(public.verify(announcement=False), "至少需要一个熵项")


def test_invalid_entropy_names_and_values(public):
    statement = public.release["seed_statement"]
    for old, new, message in [
        ("entropy.beacon.fc3d.2027001=482", "entropy.beacon.FC3D.2027001=482", "熵项名称"),
        ("entropy.beacon.fc3d.2027001=482", "entropy.beacon.fc3d.2027001= 482", "首尾无空格"),
        ("entropy.beacon.fc3d.2027001=482", "entropy.server=ABC", "64 个小写十六进制字符"),
        ("entropy.beacon.fc3d.2027001=482", "entropy.party.XYZ=" + "a" * 64, "不是 departments 中的部门"),
    ]:  # fmt: skip
        public.release["seed_statement"] = statement.replace(old, new)
        fails(public.verify(announcement=False), message)


def test_seed_must_be_the_hash_of_the_statement(public):
    public.release["seed"] = "0" * 64
    fails(public.verify(), "seed 不符：记录为 " + "0" * 64 + "，由 seed_statement 计算为 ")


def test_statement_must_carry_the_records_values(public):
    public.release["allocation"] = "mode=ratio;A=300;B=500;C=1500;D=3000;U=600"
    text = fails(public.verify(announcement=False), "seed_statement 第 6 行不符")
    assert "allocation=mode=ratio;A=300;B=500;C=1500;D=3000;U=600" in text


# --- check 3: selection ------------------------------------------------------------------------


def test_changed_score(public):
    public.release["selected"][2]["score"] = "0" * 64
    fails(public.verify(), "selected[2] (", "的 score 不符：记录为 " + "0" * 64)


def test_reordered_selection(public, sealed):
    selected = public.release["selected"]
    selected[0], selected[1] = selected[1], selected[0]
    fails(public.verify(), "selected 的顺序不符 §1.5（应按分层标签，再按 score）")
    selected = sealed.release["selected"]
    selected[3], selected[4] = selected[4], selected[3]
    fails(sealed.verify(strata=False), "selected 的顺序不符 §1.5（应按score，再按 ID）")


def test_selection_in_score_order_is_not_the_public_order(public):
    public.release["selected"].sort(key=lambda s: s["score"])
    fails(public.verify(), "应按分层标签")


def test_dropped_selected_entry(public, sealed):
    dropped = public.release["selected"].pop(4)
    fails(public.verify(), f"应选但未选 (should be selected)：{dropped['id']}")
    sealed.release["selected"].pop()
    fails(sealed.verify(strata=False), "strata 不符")
    fails(sealed.verify(), "应选但未选")


def test_swapped_for_another_candidate(public):
    chosen = {s["id"] for s in public.release["selected"]}
    population = public.population.decode().splitlines()
    other, label = next(
        ln.split("\t")
        for ln in population
        if ln.split("\t")[0] not in chosen and ln.endswith("\tC")
    )
    entry = next(s for s in public.release["selected"] if s["stratum"] == "C")
    removed = entry["id"]
    entry["id"] = other
    entry["score"] = D.score(bytes.fromhex(public.release["seed"]), other).hex()
    text = fails(
        public.verify(), f"不应入选 (not among the k smallest scores of its stratum)：{other}"
    )
    assert f"应选但未选 (should be selected)：{removed}" in text


def test_selected_id_not_in_population_or_twice(public):
    public.release["selected"][0]["id"] = "NOSUCHID"
    fails(public.verify(), "selected[0] (NOSUCHID) 不在 population 文件中")
    case = build_draw(draw_vector(PUBLIC))
    case.release["selected"].insert(1, dict(case.release["selected"][0]))
    fails(case.verify(), "重复出现 (each selected ID once)")


def test_wrong_stratum_on_a_selected_entry(public, sealed):
    public.release["selected"][0]["stratum"] = "B"
    fails(public.verify(), "的 stratum 不符：记录为 'B'，population 文件为 'A'")
    sealed.release["selected"][0]["stratum"] = "A"  # sealed: never the class
    fails(sealed.verify(), "的 stratum 不符：记录为 'A'，population 文件为 '*'")


def test_public_strata_must_equal_counts_and_allocation(public):
    public.release["strata"]["A"]["k"] += 1
    fails(public.verify(), "strata 不符")
    case = build_draw(draw_vector(PUBLIC))
    case.release["strata"]["Z"] = {"n": 0, "k": 0}
    fails(case.verify(), "strata 不符")


def test_sealed_counts_without_the_strata_file(sealed):
    sealed.release["strata"] = {"*": {"n": 250, "k": 15}}
    fails(sealed.verify(strata=False), 'strata 不符：记录为 {"*": {"k": 15, "n": 250}}')


def test_sealed_count_mode_must_select_min_k_n():
    vector = draw_vector(COUNT)
    vector["input"]["strata_mode"] = "sealed"
    vector["input"]["strata_salt"] = "ab" * 32
    case = build_draw(vector)
    assert case.verify(strata=False).exit_code == 0
    case.release["selected"].pop()
    case.release["strata"]["*"]["k"] -= 1
    fails(case.verify(strata=False), "计数模式应抽取 min(K, n) = 25 个，selected 有 24 个")


def test_strata_file_checks(sealed):
    lines = sealed.strata.decode().splitlines(keepends=True)
    # A changed class: the hash, and the per-class selection, differ.
    swapped = lines[:]
    candidate, label = swapped[5].rstrip("\n").split("\t")
    swapped[5] = f"{candidate}\t{'D' if label != 'D' else 'A'}\n"
    fails(sealed.verify(strata="".join(swapped).encode()), "strata_sha256 不符")
    # Salt line malformed
    bad = "".join(["salt\tXYZ\n", *lines[1:]]).encode()
    fails(sealed.verify(strata=bad), "strata 文件第 1 行应为 salt<TAB>")
    # IDs not the population's
    bad = "".join([*lines[:3], *lines[4:]]).encode()
    fails(sealed.verify(strata=bad), "strata 文件有 249 个 ID，population 文件有 250 个")
    bad = "".join([lines[0], lines[2], lines[1], *lines[3:]]).encode()
    fails(sealed.verify(strata=bad), "same IDs in the same order")
    bad = sealed.strata.replace(b"\tA\n", b"\t*\n", 1)
    fails(sealed.verify(strata=bad), "strata 文件第")


def test_invalid_allocation_string(public):
    public.release["allocation"] = "mode=ratio;B=500;A=300"
    fails(public.verify(announcement=False), "allocation 无效")


def test_release_field_rules(public):
    public.release["departments"] = ["WJW", "SCJGJ"]
    fails(public.verify(announcement=False), "departments 必须按字节升序且不重复")
    case = build_draw(draw_vector(PUBLIC))
    case.release["departments"] = ["WJW"]
    fails(case.verify(announcement=False), "departments 必须包含牵头部门")
    case = build_draw(draw_vector(PUBLIC))
    case.release["drawn_at"] = "2027-03-02 10:00"
    fails(case.verify(announcement=False), "drawn_at 必须是带时区偏移的 ISO 8601 时间")
    case = build_draw(draw_vector(PUBLIC))
    case.release["protocol"] = "ssj-draw/2"
    fails(case.verify(announcement=False), "protocol 不符：记录为 ssj-draw/2，应为 ssj-draw/1")
    case = build_draw(draw_vector(PUBLIC))
    case.release["strata_sha256"] = "0" * 64
    fails(case.verify(announcement=False), "公开分层时 strata_sha256 必须为 null")
    case = build_draw(draw_vector(PUBLIC))
    case.release["draw"] = "1"
    fails(case.verify(announcement=False), "draw 必须是不小于 1 的整数")
    case = build_draw(draw_vector(PUBLIC))
    case.release["selected"] = {}
    fails(case.verify(announcement=False), "selected 必须是数组")


# --- check 4: announcement ---------------------------------------------------------------------


def test_announcement_with_a_different_allocation(public):
    public.announcement["allocation"] = "mode=ratio;A=300"
    public.reseal()
    fails(public.verify(), "announcement 的 allocation 与 release 不符：公告为 mode=ratio;A=300")


def test_announcement_bytes_must_match_the_hash(public):
    fails(public.verify(announcement=public.announcement_bytes + b" "), "announcement_sha256 不符")


def test_announcement_fields_must_equal_the_release(parties):
    for key, value in [("task", "2027-CJ-0043"), ("draw", 2), ("lead_department", "WJW"),
                       ("departments", ["SCJGJ"]), ("population_sha256", "0" * 64),
                       ("strata_mode", "sealed"), ("protocol", "ssj-draw/2")]:  # fmt: skip
        case = build_draw(draw_vector(COUNT))
        case.announcement[key] = value
        case.reseal()
        fails(case.verify(), f"announcement 的 {key} 与 release 不符")


def test_announcement_stage_and_population_size(public):
    public.announcement["stage"] = "release"
    public.announcement["population_size"] = 399
    public.reseal()
    fails(public.verify(), "公告的 stage 应为 announcement", "population_size 不符：公告为 399")


def test_drawn_at_before_announced_at(public):
    public.release["drawn_at"] = "2027-03-01T00:59:59Z"  # 08:59:59 in Beijing, before 09:00+08:00
    fails(public.verify(), "drawn_at (2027-03-01T00:59:59Z) 早于公告的 announced_at")
    public.release["drawn_at"] = "2027-03-01T01:00:00Z"  # the same instant: allowed
    assert public.verify().exit_code == 0


def test_after_inspection_release_with_only_a_beacon(public):
    with pytest.raises(D.ProtocolError, match="after-inspection"):
        build_draw(draw_vector(PUBLIC), release="after-inspection")
    public.announcement["release"] = "after-inspection"
    public.reseal()
    fails(public.verify(), "(an after-inspection draw needs a party or server item)")
    public.announcement["release"] = "later"
    public.reseal()
    fails(public.verify(), "公告的 release 应为 immediate 或 after-inspection")


def test_announcement_entropy(parties):
    parties.announcement["entropy"]["party.WJW"] = D.commitment("0" * 64)
    parties.reseal()
    fails(parties.verify(), "announcement 的 entropy 中 party.WJW 的承诺与记录不符")
    case = build_draw(draw_vector(COUNT))
    del case.announcement["entropy"]["party.WJW"]
    case.announcement["entropy"]["beacon.fc3d.2027001"] = None
    case.reseal()
    text = fails(case.verify(), "没有声明中的熵项 party.WJW（事先未公告）")
    assert "有 beacon.fc3d.2027001，但声明中没有该熵项" in text
    case = build_draw(draw_vector(PUBLIC))
    case.announcement["entropy"]["beacon.fc3d.2027001"] = "482"
    case.reseal()
    fails(case.verify(), "公开随机源 beacon.fc3d.2027001 必须为 null")


def test_reveals_due_null_exactly_without_party_items(parties, public):
    parties.announcement["reveals_due"] = None
    parties.reseal()
    fails(parties.verify(), "reveals_due 为 null，但有部门熵项")
    public.announcement["reveals_due"] = "2027-03-01T12:00:00+08:00"
    public.reseal()
    fails(public.verify(), "reveals_due 应为 null")


def test_beacon_with_reveals_asks_a_person_to_check_the_issue_date():
    vector = draw_vector(COUNT)
    vector["input"]["entropy"]["beacon.fc3d.2027070"] = "915"
    report = build_draw(vector).verify()
    assert report.exit_code == 0, report.text()
    assert any("reveals_due" in n for n in report.notes)


# --- exit status 2 ----------------------------------------------------------------------------


def test_duplicate_json_key_is_unreadable(public):
    raw = public.release_bytes
    unreadable(
        public.verify(release=b'{"task":"X",' + raw[1:]), "含有重复的键 (duplicate key): 'task'"
    )
    nested = raw.replace(b'"id":', b'"id":"X","id":', 1)
    unreadable(public.verify(release=nested), "重复的键")
    unreadable(
        public.verify(announcement=b'{"task":"X",' + public.announcement_bytes[1:]), "announcement"
    )


def test_missing_key_is_unreadable(public):
    del public.release["seed"]
    unreadable(public.verify(), "release 缺少键 (missing keys): seed")
    case = build_draw(draw_vector(PUBLIC))
    del case.release["selected"][3]["score"]
    unreadable(case.verify(), "selected[3] 缺少键 (missing keys): score")
    case = build_draw(draw_vector(PUBLIC))
    del case.announcement["entropy"]
    unreadable(case.verify(), "announcement 缺少键 (missing keys): entropy")


def test_not_utf8_not_json_not_an_object(public):
    unreadable(
        public.verify(population=public.population + b"\xff\xfe\tA\n"),
        "population 文件 不是有效的 UTF-8",
    )
    unreadable(public.verify(release=b"\xef\xbb\xbf" + public.release_bytes), "不是有效的 JSON")
    unreadable(public.verify(release=public.release_bytes[:-1]), "不是有效的 JSON (not JSON)")
    unreadable(public.verify(release=b"[]"), "不是 JSON 对象")
    nan = public.release_bytes.replace(b'"draw":1', b'"draw":NaN')
    unreadable(public.verify(release=nan), "不是有效的 JSON")
    unreadable(public.verify(excluded=b"\x80"), "excluded 文件 不是有效的 UTF-8")


def test_every_unreadable_input_is_listed(public):
    report = public.verify(release=b"{", population=b"\xff")
    assert report.exit_code == 2
    assert len(report.unreadable) == 2


def test_any_valid_json_serialisation_verifies(public):
    # The hash covers the exact bytes; verify does not require our canonical form.
    pretty = json.dumps(public.release, ensure_ascii=True, indent=2).encode()
    assert public.verify(release=pretty).exit_code == 0


def test_many_differences_are_summarised(public):
    for entry in public.release["selected"]:
        entry["score"] = "0" * 64
    report = public.verify()
    assert report.exit_code == 1
    assert "另有 16 处同类问题 (score)" in report.text()
