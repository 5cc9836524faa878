"""ssj-assign/1, the inspector draw (DRAW-PROTOCOL.md §2).

Teams are formed from a target draw's published order (§2.1), three canonical files fix the
inputs (§2.1), an assignment statement with its own entropy gives the seed (§2.2), the run picks
inspectors pair by pair with loads (§2.3), replacements follow the run's order (§2.4), and the
record gathers everything an auditor needs to replay it (§2.5).
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, repeat
from operator import itemgetter

from .draw import (
    DEPT_CODE,
    HEX64,
    NUMBER,
    ProtocolError,
    announced_entropy,
    check_entropy,
    commitments,
    entropy_kind,
    id_problem,
    no_gc,
    parse_instant,
    sha256_hex,
    statement_lines,
)

PROTOCOL = "ssj-assign/1"
TEAM_CODE = re.compile(r"T([0-9]+)")
INSPECTOR_CODE = re.compile(r"[\x20-\x7e]+")  # non-empty printable ASCII (so never a TAB)

Pair = tuple[str, str]  # (team, department)


# --- §2.1 teams ----------------------------------------------------------------------------------


def team_code(number: int, team_count: int) -> str:
    """``T`` and a zero-padded number, width the larger of 4 and the digits of the team count."""
    return f"T{number:0{max(4, len(str(team_count)))}d}"


def form_teams(
    order: Sequence[str], *, per_team: int = 1, region: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(team, target) for every target of the draw's published ``order`` (§2.1).

    With ``per_team`` N > 1, ``region`` gives each target's region: a target joins the last team
    opened for its region while it has fewer than N targets, else opens a new team.
    """
    if type(per_team) is not int or per_team < 1:
        raise ProtocolError("每组对象数必须是正整数 (per_team)")
    if per_team > 1 and region is None:
        raise ProtocolError("每组多个对象时需要各对象的区域 (region)")
    numbers: list[int] = []
    last_team: dict[str, int] = {}  # region -> number of the last team opened for it
    size: list[int] = []
    for target in order:
        _check_problem(id_problem(target))
        where = region[target] if per_team > 1 else None
        number = last_team.get(where) if where is not None else None
        if number is None or size[number - 1] >= per_team:
            size.append(0)
            number = len(size)
            if where is not None:
                last_team[where] = number
        size[number - 1] += 1
        numbers.append(number)
    return [(team_code(n, len(size)), t) for n, t in zip(numbers, order, strict=True)]


def _check_problem(problem: str | None) -> None:
    if problem:
        raise ProtocolError(problem)


def _lines(rows: Iterable[Sequence[object]]) -> bytes:
    lines = ["\t".join(map(str, row)) for row in rows]
    lines.sort()  # code point order is UTF-8 byte order
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def teams_file(pairs: Iterable[tuple[str, str]]) -> bytes:
    """``TEAM<TAB>TARGET_ID<LF>``, lines sorted by bytes."""
    return _lines(pairs)


def need_file(rows: Iterable[tuple[str, str, int]]) -> bytes:
    """``TEAM<TAB>DEPT<TAB>NEED<LF>``, lines sorted by bytes."""
    return _lines(rows)


def eligibility_file(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """``TEAM<TAB>DEPT<TAB>INSPECTOR_CODE<LF>``, lines sorted by bytes."""
    return _lines(rows)


@dataclass
class Inputs:
    """The three files, parsed."""

    teams_bytes: bytes
    need_bytes: bytes
    eligibility_bytes: bytes
    teams: list[str]  # team codes ascending
    targets: dict[str, list[str]]  # team -> its targets
    departments: list[str]
    need: dict[Pair, int]
    eligible: dict[Pair, list[str]]

    # The files are not changed once parsed: hash each once (the eligibility file may be 300 MB).
    @cached_property
    def teams_sha256(self) -> str:
        return sha256_hex(self.teams_bytes)

    @cached_property
    def need_sha256(self) -> str:
        return sha256_hex(self.need_bytes)

    @cached_property
    def eligibility_sha256(self) -> str:
        return sha256_hex(self.eligibility_bytes)


def _file_lines(text: str, name: str, fields: int, problems: list[str]) -> list[list[str]]:
    """Split a canonical file into rows, reporting LF ends, byte order and duplicates."""
    if text and not text.endswith("\n"):
        problems.append(f"{name} 的最后一行没有以 LF 结尾 (file must end with LF)")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = []
    previous = None
    for number, line in enumerate(lines, 1):
        if previous is not None and line <= previous:
            if line == previous:
                problems.append(f"{name} 第 {number} 行重复 (duplicate line): {line!r}")
            else:
                problems.append(f"{name} 第 {number} 行未按字节升序排列 (not sorted): {line!r}")
        previous = line
        parts = line.split("\t")
        if len(parts) != fields:
            problems.append(f"{name} 第 {number} 行应有 {fields} 个以 TAB 分隔的字段: {line!r}")
            continue
        rows.append(parts)
    return rows


def check_files(
    teams_text: str, need_text: str, eligibility_text: str, departments: Sequence[str]
) -> tuple[Inputs, list[str]]:
    """Parse the three files and list every way they break §2.1 (empty list: canonical).

    ``departments`` are the task's departments (the record's); the need file must name exactly
    these. The returned Inputs hold what could be parsed, also when there are problems.
    """
    with no_gc():
        return _check_files(teams_text, need_text, eligibility_text, departments)


def _check_files(
    teams_text: str,
    need_text: str,
    eligibility_text: str,
    departments: Sequence[str],
    raw: Sequence[bytes] | None = None,
) -> tuple[Inputs, list[str]]:
    """:func:`check_files`; ``raw`` the files' bytes when the caller has them (not encoded again)."""
    problems: list[str] = []
    # Teams file
    targets: dict[str, list[str]] = {}
    team_of: dict[str, str] = {}
    for team, target in _file_lines(teams_text, "teams 文件", 2, problems):
        if not TEAM_CODE.fullmatch(team):
            problems.append(f"teams 文件中的检查组编号 {team!r} 不是 T 加数字 (TEAM)")
        problem = id_problem(target)
        if problem:
            problems.append(f"teams 文件：{problem}")
        if target in team_of:
            problems.append(f"对象 {target} 在多个检查组中：{team_of[target]}、{team} (TARGET_ID)")
        team_of[target] = team
        targets.setdefault(team, []).append(target)
    teams = sorted(targets)
    for number, team in enumerate(teams, 1):
        expected = team_code(number, len(teams))
        if team != expected:
            problems.append(
                f"检查组编号应为 {expected}（从 1 起连续编号，宽度为 4 与组数位数的较大者），"
                f"实为 {team} (TEAM numbering)"
            )
            break
    # Need file
    dept_set = set(departments)
    for dept in departments:
        if not DEPT_CODE.fullmatch(dept):
            problems.append(f"部门代码 {dept!r} 必须符合 [A-Z0-9]+ (DEPT)")
    need: dict[Pair, int] = {}
    good_numbers: set[str] = set()  # each distinct NEED text checked once
    for team, dept, count in _file_lines(need_text, "need 文件", 3, problems):
        if team not in targets:
            problems.append(f"need 文件中的检查组 {team} 不在 teams 文件中")
        if dept not in dept_set:
            problems.append(f"need 文件中的部门 {dept} 不在 departments 中")
        if count not in good_numbers and NUMBER.fullmatch(count):
            good_numbers.add(count)
        if count not in good_numbers:
            problems.append(
                f"need 文件中 {team}/{dept} 的 NEED {count!r} 不是无符号、无前导零的整数"
            )
            continue
        if (team, dept) in need:
            if need[(team, dept)] != int(count):  # an identical line is reported as a duplicate
                problems.append(f"need 文件中 {team}/{dept} 出现多次 (every pair once)")
            continue
        need[(team, dept)] = int(count)
    for team in teams:
        for dept in departments:
            if (team, dept) not in need:
                problems.append(f"need 文件缺少 {team}/{dept} (every team with every department)")
        total = sum(need.get((team, dept), 0) for dept in departments)
        if total < 2:
            problems.append(f"检查组 {team} 的需要人数合计 {total}，至少应为 2 (two inspectors)")
    # Eligibility file
    eligible = _eligibility(eligibility_text, need, problems)
    if raw is None:
        raw = [t.encode("utf-8") for t in (teams_text, need_text, eligibility_text)]
    inputs = Inputs(
        teams_bytes=raw[0],
        need_bytes=raw[1],
        eligibility_bytes=raw[2],
        teams=teams,
        targets=targets,
        departments=sorted(departments),
        need=need,
        eligible=eligible,
    )
    return inputs, problems


# One pair's block of a well-formed eligibility file: its well-formed lines
# (TEAM TAB DEPT TAB INSPECTOR_CODE LF) with the same ``TEAM TAB DEPT TAB`` prefix, in a row.
_BLOCK = re.compile(r"([^\t\n]+\t[A-Z0-9]+\t)[\x20-\x7e]+\n(?:\1[\x20-\x7e]+\n)*")


def _eligibility_blocks(text: str) -> dict[Pair, list[str]] | None:
    """The usual case, a well-formed file sorted by bytes, grouped by pair a block at a time
    (C-level regex, split and comparisons per line; Python work per pair only); None when the
    file is not that (then it is read line by line to say where).

    Every line is in a block, so the file is well formed when the blocks cover it. A prefix ends
    with its second and last TAB, so no prefix is a proper prefix of another: lines of different
    blocks compare as their prefixes, lines of one block as their codes. Strictly ascending
    prefixes and codes are therefore strictly ascending lines (sorted, no duplicate)."""
    eligible: dict[Pair, list[str]] = {}
    intern = sys.intern
    match, start, size, previous = _BLOCK.match, 0, len(text), ""
    while start < size:
        block = match(text, start)  # anchored: each block starts where the last one ended
        if block is None:
            return None
        prefix = block.group(1)
        if prefix <= previous:  # "" for the first block: a prefix is never empty
            return None
        end = block.end()
        codes = text[start + len(prefix) : end - 1].split("\n" + prefix)
        # Strictly ascending: in order (C-level sorted finds one run) and no two the same.
        if len(codes) > 1 and (codes != sorted(codes) or len(set(codes)) != len(codes)):
            return None
        team, dept, _ = prefix.split("\t")
        eligible[(team, dept)] = list(map(intern, codes))
        start, previous = end, prefix
    return eligible


def _eligibility(text: str, need: Mapping[Pair, int], problems: list[str]) -> dict[Pair, list[str]]:
    """Group the eligibility file by pair, checking §2.1. The usual case (a well-formed file,
    sorted) is read by :func:`_eligibility_blocks`; a file with problems is read line by line
    to say where they are. Codes are interned: one string per inspector."""
    eligible = _eligibility_blocks(text)
    if eligible is None:
        eligible = {}
        rows = _file_lines(text, "eligibility 文件", 3, problems)
        for team, dept, code in rows:
            if not DEPT_CODE.fullmatch(dept):
                problems.append(f"eligibility 文件中的部门代码 {dept!r} 必须符合 [A-Z0-9]+")
            if not INSPECTOR_CODE.fullmatch(code):
                problems.append(f"执法人员编码 {code!r} 必须是非空的可打印 ASCII (INSPECTOR_CODE)")
            codes = eligible.setdefault((team, dept), [])
            if code not in codes:  # a duplicate line is reported, not counted twice
                codes.append(code)
    for team, dept in eligible:
        if (team, dept) not in need:
            problems.append(f"eligibility 文件中的 {team}/{dept} 不在 need 文件中")
    # Each code under one department only: compare the departments' sets of codes.
    by_dept: dict[str, set[str]] = {}
    for (_, dept), codes in eligible.items():
        by_dept.setdefault(dept, set()).update(codes)
    depts = sorted(by_dept)
    for i, first in enumerate(depts):
        for second in depts[i + 1 :]:
            for code in sorted(by_dept[first] & by_dept[second]):
                problems.append(f"执法人员 {code} 出现在两个部门下：{first}、{second}")
    return eligible


def parse_files(
    teams_bytes: bytes, need_bytes: bytes, eligibility_bytes: bytes, departments: Sequence[str]
) -> Inputs:
    """Like :func:`check_files`, raising ProtocolError on the first problem."""
    raw = [bytes(b) for b in (teams_bytes, need_bytes, eligibility_bytes)]  # no copy of bytes
    try:
        texts = [b.decode("utf-8") for b in raw]
    except UnicodeDecodeError as exc:
        raise ProtocolError("文件不是有效的 UTF-8") from exc
    # Valid UTF-8 decodes and encodes back to the same bytes: keep the caller's, not a copy.
    with no_gc():
        inputs, problems = _check_files(*texts, departments, raw=raw)
    if problems:
        raise ProtocolError(problems[0])
    return inputs


# The parsed files kept for a later step on the same files: names the format and the Python that
# wrote it (marshal's format may change between versions).
_PACKED = ("ssj-assign/1 inputs", 1, sys.version_info[:2], marshal.version)


def pack_inputs(inputs: Inputs) -> bytes:
    """What :func:`parse_files` returned, in marshal form with the files' hashes: a later step on
    the same, already checked files (the platform's perform job) loads it with
    :func:`unpack_inputs` in a fraction of a parse (16 M eligibility lines: ~0.3 s, not ~3 s)."""
    i = inputs
    hashes = (i.teams_sha256, i.need_sha256, i.eligibility_sha256)
    return marshal.dumps((_PACKED, hashes, i.teams, i.targets, i.departments, i.need, i.eligible))


def unpack_inputs(
    packed: bytes,
    teams_bytes: bytes,
    need_bytes: bytes,
    eligibility_bytes: bytes,
    departments: Sequence[str],
) -> Inputs | None:
    """``parse_files(teams_bytes, need_bytes, eligibility_bytes, departments)`` from the
    :func:`pack_inputs` of an earlier parse, or None when ``packed`` was not made from files
    with exactly these hashes and these departments (or not by this format and Python): then
    parse the files. Only for bytes the caller wrote itself (marshal is not made to read bytes
    from strangers): ``verify-assign`` always parses and checks."""
    try:
        with no_gc():
            value = marshal.loads(packed)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(value, tuple) and len(value) == 7 and value[0] == _PACKED):
        return None
    _, hashes, teams, targets, depts, need, eligible = value
    inputs = Inputs(
        teams_bytes=bytes(teams_bytes),
        need_bytes=bytes(need_bytes),
        eligibility_bytes=bytes(eligibility_bytes),
        teams=teams,
        targets=targets,
        departments=depts,
        need=need,
        eligible=eligible,
    )
    if depts != sorted(departments) or hashes != (
        inputs.teams_sha256,
        inputs.need_sha256,
        inputs.eligibility_sha256,
    ):
        return None
    return inputs


# --- §2.2 statement ------------------------------------------------------------------------------


def check_assign_entropy(entropy: Mapping[str, object], departments: Iterable[str]) -> None:
    """§1.4's rules, plus: server entropy alone is not enough (a beacon or party item needed)."""
    check_entropy(entropy, departments)
    if not {"beacon", "party"} & {entropy_kind(n) for n in entropy}:
        raise ProtocolError(
            "人员抽取至少需要一个公开随机源或部门熵项，仅有服务器熵不够 "
            "(at least one beacon or party item)"
        )


def assign_statement(
    *,
    task: str,
    draw: int,
    run: int,
    lead: str,
    draw_seed: str,
    teams_sha256: str,
    need_sha256: str,
    eligibility_sha256: str,
    entropy: Mapping[str, str],
) -> str:
    """The assignment statement of §2.2."""
    for key, value in (("draw", draw), ("run", run)):
        if type(value) is not int or value < 1:
            raise ProtocolError(f"{key} 必须是正整数")
    if not isinstance(task, str) or not task or "\n" in task or "\t" in task:
        raise ProtocolError("任务编号必须是非空文本，不含 TAB/LF (task)")
    if not HEX64.fullmatch(draw_seed):
        raise ProtocolError("draw_seed 必须是 64 个小写十六进制字符")
    header = [
        PROTOCOL,
        f"task={task}",
        f"draw={draw}",
        f"run={run}",
        f"lead={lead}",
        f"draw_seed={draw_seed}",
        f"teams={teams_sha256}",
        f"need={need_sha256}",
        f"eligibility={eligibility_sha256}",
    ]
    return statement_lines(header, entropy)


# --- §2.3 algorithm ------------------------------------------------------------------------------


@dataclass
class Entry:
    team: str
    dept: str
    members: list[str]
    missing: int

    def as_dict(self) -> dict:
        return {
            "team": self.team,
            "dept": self.dept,
            "members": self.members,
            "missing": self.missing,
        }


def run(
    inputs: Inputs, seed: bytes, *, orders_for: Iterable[Pair] = ()
) -> tuple[list[Entry], dict[Pair, list[str]]]:
    """Replay §2.3: one entry per (team, dept) in processing order, members in pick order.

    Also returns the full order of every pair in ``orders_for`` (needed for replacements, §2.4).
    Only the lowest load levels a pair needs are hashed: nobody at a higher load can come before
    anyone at a lower one, so the picks are the same as sorting the whole order.
    """
    with no_gc():
        return _run(inputs, seed, set(orders_for))


def _run(
    inputs: Inputs, seed: bytes, wanted: set[Pair]
) -> tuple[list[Entry], dict[Pair, list[str]]]:
    copy = hashlib.sha256(seed).copy
    # Every inspector starts at load 0 (a defaultdict adds them as they come), so loads are
    # read with C-level map().
    load: dict[str, int] = defaultdict(int)
    load_of = load.__getitem__
    entries: list[Entry] = []
    orders: dict[Pair, list[str]] = {}
    for team in inputs.teams:
        for dept in inputs.departments:
            pair = (team, dept)
            need = inputs.need.get(pair, 0)
            eligible = inputs.eligible.get(pair, [])
            if need == 0 and pair not in wanted:
                entries.append(Entry(team, dept, [], 0))
                continue
            prefix = copy()
            prefix.update(f"{team}\t{dept}\t".encode())
            # One C call for the pair's loads (itemgetter of one code gives the load itself).
            loads = (
                itemgetter(*eligible)(load) if len(eligible) > 1 else list(map(load_of, eligible))
            )
            if pair in wanted:
                keys = _keys(prefix, eligible)
                order = [c for _, _, c in sorted(zip(loads, keys, eligible, strict=True))]
                orders[pair] = order
                members = order[:need]
            else:
                members = _pick(prefix, eligible, loads, need)
            for code in members:
                load[code] += 1
            entries.append(Entry(team, dept, members, max(0, need - len(eligible))))
    return entries, orders


def _keys(prefix, codes: Sequence[str]) -> list[bytes]:
    """``SHA-256(assign_seed || team TAB dept TAB code)`` from the pair's hashed prefix.

    The copies, updates and digests are C-level map() calls (no Python step per code): the run
    hashes millions of codes when a pair has a hundred eligible inspectors."""
    kind = type(prefix)
    hashes = list(map(kind.copy, repeat(prefix, len(codes))))
    deque(map(kind.update, hashes, map(str.encode, codes)), maxlen=0)  # UTF-8
    return list(map(kind.digest, hashes))


def _pick(prefix, eligible: list[str], loads: Sequence[int], need: int) -> list[str]:
    """The first ``need`` of the pair's order, hashing only the load levels reached: the
    lowest level's inspectors, then the next level's while more are needed, and so on."""
    picked: list[str] = []
    level = min(loads, default=None)
    while len(picked) < need and level is not None:
        group = list(compress(eligible, map(level.__eq__, loads)))
        keys = _keys(prefix, group)
        if need - len(picked) == 1:
            # The usual need of 1: the smallest key, no sort and no (key, code) pairs. The group
            # is in code order, so the first smallest is also the one the order would take.
            picked.append(group[keys.index(min(keys))])
        else:
            picked.extend(c for _, c in sorted(zip(keys, group, strict=True))[: need - len(picked)])
        if len(picked) < need:
            level = min(filter(level.__lt__, loads), default=None)
    return picked


# --- §2.4 replacements ---------------------------------------------------------------------------


@dataclass
class Staffing:
    """The current members of every pair, and who has been replaced out of each."""

    members: dict[Pair, list[str]]
    replaced_out: dict[Pair, set[str]] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> Staffing:
        return cls({(e.team, e.dept): list(e.members) for e in entries})

    def substitute(self, pair: Pair, order: Sequence[str]) -> str | None:
        """The first of ``order`` who is not a current member and was never replaced out."""
        current = set(self.members.get(pair, ()))
        gone = self.replaced_out.get(pair, set())
        return next((c for c in order if c not in current and c not in gone), None)

    def replace(self, pair: Pair, out: str, order: Sequence[str]) -> str:
        """Apply one replacement; returns the substitute, or raises ProtocolError (refused)."""
        current = self.members.get(pair)
        if current is None:
            raise ProtocolError(f"{pair[0]}/{pair[1]} 不是本次抽取中的检查组与部门")
        if out not in current:
            raise ProtocolError(f"{out} 不是 {pair[0]}/{pair[1]} 的现任成员，不能更换 (out)")
        substitute = self.substitute(pair, order)
        if substitute is None:
            raise ProtocolError(
                f"{pair[0]}/{pair[1]} 没有可替补的执法人员，更换被拒绝，不作记录 (no substitute)"
            )
        current[current.index(out)] = substitute
        self.replaced_out.setdefault(pair, set()).add(out)
        return substitute

    def teams(self, inputs: Inputs, lead: str) -> dict:
        """``teams`` of the record: every pair, and the leader (first of the lead's list)."""
        result = {}
        for team in inputs.teams:
            members = {d: list(self.members.get((team, d), [])) for d in inputs.departments}
            lead_list = members.get(lead) or []
            result[team] = {"leader": lead_list[0] if lead_list else None, "members": members}
        return result


def check_replacement_request(request: Mapping, previous_at: str | None) -> None:
    for key in ("reason", "approved_by"):
        if not isinstance(request.get(key), str) or not request[key].strip():
            raise ProtocolError(f"更换必须写明 {key}（不能为空）")
    at = parse_instant(request.get("at"))
    if at is None:
        raise ProtocolError("更换时间 at 必须是带时区偏移的 ISO 8601 时间")
    if previous_at is not None and at < parse_instant(previous_at):
        raise ProtocolError("更换须按批准顺序登记：at 不能早于上一次更换 (approval order)")


# --- putting it together -------------------------------------------------------------------------


@dataclass
class Assignment:
    task: str
    draw: int
    run: int
    lead_department: str
    draw_seed: str
    inputs: Inputs
    entropy: dict[str, str]
    assign_statement: str
    assign_seed: bytes
    entries: list[Entry]
    replacements: list[dict]
    teams: dict

    @property
    def commitments(self) -> dict[str, str]:
        return commitments(self.entropy)

    @property
    def shortfalls(self) -> list[Entry]:
        """Pairs with fewer eligible inspectors than needed: dispatch is blocked (§2.3)."""
        return [e for e in self.entries if e.missing]


def perform(
    inputs: Inputs,
    *,
    task: str,
    draw: int,
    run_number: int,
    lead_department: str,
    draw_seed: str,
    entropy: Mapping[str, str],
    replacement_requests: Sequence[Mapping] = (),
) -> Assignment:
    """Run the assignment and apply the approved replacement requests in order (§2.3, §2.4).

    Each request has ``team``, ``dept``, ``out``, ``reason``, ``approved_by``, ``at``; a request
    with no substitute raises ProtocolError (the platform refuses it and records nothing).
    """
    if lead_department not in inputs.departments:
        raise ProtocolError("牵头部门必须是任务部门之一 (lead_department)")
    entropy = dict(sorted(entropy.items()))
    check_assign_entropy(entropy, inputs.departments)
    statement = assign_statement(
        task=task,
        draw=draw,
        run=run_number,
        lead=lead_department,
        draw_seed=draw_seed,
        teams_sha256=inputs.teams_sha256,
        need_sha256=inputs.need_sha256,
        eligibility_sha256=inputs.eligibility_sha256,
        entropy=entropy,
    )
    seed = hashlib.sha256(statement.encode("utf-8")).digest()
    pairs = {(r["team"], r["dept"]) for r in replacement_requests}
    entries, orders = run(inputs, seed, orders_for=pairs)
    staffing = Staffing.from_entries(entries)
    replacements = []
    previous_at = None
    for request in replacement_requests:
        check_replacement_request(request, previous_at)
        pair = (request["team"], request["dept"])
        substitute = staffing.replace(pair, request["out"], orders.get(pair, []))
        replacements.append(
            {
                "team": request["team"],
                "dept": request["dept"],
                "out": request["out"],
                "in": substitute,
                "reason": request["reason"],
                "approved_by": request["approved_by"],
                "at": request["at"],
            }
        )
        previous_at = request["at"]
    return Assignment(
        task=task,
        draw=draw,
        run=run_number,
        lead_department=lead_department,
        draw_seed=draw_seed,
        inputs=inputs,
        entropy=entropy,
        assign_statement=statement,
        assign_seed=seed,
        entries=entries,
        replacements=replacements,
        teams=staffing.teams(inputs, lead_department),
    )


# --- §2.2, §2.4, §2.5 documents ------------------------------------------------------------------


def announcement(
    inputs: Inputs,
    *,
    task: str,
    draw: int,
    run_number: int,
    lead_department: str,
    announced_at: str,
    entropy: Mapping[str, str | None],
    reveals_due: str | None,
) -> dict:
    """The assignment announcement (§2.2): hashes and counts only, no personal data."""
    if parse_instant(announced_at) is None:
        raise ProtocolError("announced_at 必须是带时区偏移的 ISO 8601 时间")
    if reveals_due is not None and parse_instant(reveals_due) is None:
        raise ProtocolError("reveals_due 必须是带时区偏移的 ISO 8601 时间")
    entropy = announced_entropy(entropy, reveals_due=reveals_due)
    if not {"beacon", "party"} & {entropy_kind(n) for n in entropy}:
        raise ProtocolError("人员抽取至少需要一个公开随机源或部门熵项 (beacon or party item)")
    return {
        "protocol": PROTOCOL,
        "stage": "announcement",
        "task": task,
        "draw": draw,
        "run": run_number,
        "lead_department": lead_department,
        "departments": list(inputs.departments),
        "announced_at": announced_at,
        "teams_count": len(inputs.teams),
        "teams_sha256": inputs.teams_sha256,
        "need_sha256": inputs.need_sha256,
        "eligibility_sha256": inputs.eligibility_sha256,
        "entropy": entropy,
        "reveals_due": reveals_due,
    }


def record(assignment: Assignment, *, announcement_sha256: str) -> dict:
    """The assignment record (§2.5), given to the task's departments and auditors only."""
    a = assignment
    return {
        "protocol": PROTOCOL,
        "task": a.task,
        "draw": a.draw,
        "run": a.run,
        "lead_department": a.lead_department,
        "departments": list(a.inputs.departments),
        "draw_seed": a.draw_seed,
        "announcement_sha256": announcement_sha256,
        "teams_sha256": a.inputs.teams_sha256,
        "need_sha256": a.inputs.need_sha256,
        "eligibility_sha256": a.inputs.eligibility_sha256,
        "commitments": a.commitments,
        "assign_statement": a.assign_statement,
        "assign_seed": a.assign_seed.hex(),
        "assignment": [e.as_dict() for e in a.entries],
        "replacements": list(a.replacements),
        "teams": a.teams,
    }


def replacement_entry(record_doc: Mapping, index: int, record_bytes: bytes) -> dict:
    """The public log entry for replacement ``index`` (§2.4); ``record_bytes`` as then served."""
    return {
        "protocol": PROTOCOL,
        "stage": "replacement",
        "task": record_doc["task"],
        "draw": record_doc["draw"],
        "run": record_doc["run"],
        "index": index,
        "record_sha256": sha256_hex(record_bytes),
    }


def release_entry(record_doc: Mapping, record_bytes: bytes) -> dict:
    """The public log entry when the run is done (§2.4): per team, members per department."""
    return {
        "protocol": PROTOCOL,
        "stage": "release",
        "task": record_doc["task"],
        "draw": record_doc["draw"],
        "run": record_doc["run"],
        "record_sha256": sha256_hex(record_bytes),
        "members": {
            team: {dept: len(codes) for dept, codes in value["members"].items()}
            for team, value in record_doc["teams"].items()
        },
    }
