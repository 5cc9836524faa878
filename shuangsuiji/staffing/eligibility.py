"""Who may staff which (team, department) pair of an inspector draw (DRAW-PROTOCOL.md §2.1), and
why everyone else was left out — computed so that it scales.

The rules (docs/staffing.md says the same for people):

- team-independent, per inspector: in the directory (``inactive``), available (``unavailable``),
  an 执法检查人员 — or an expert of a department that opted in for this run (``expert``), an
  enforcement certificate valid for the whole inspection window (``certificate``; experts are
  exempt), at least one of the task's required specialities when it names any (``speciality``);
- per region: competent for the region of every target of the team (``region``). An inspector's
  执法区域 codes cover their own area: a province code (``xx0000``) covers every code starting with
  its first 2 digits, a prefecture code (``xxxx00``) its first 4, any other code itself and the
  codes under it; an inspector with no region covers the department's whole jurisdiction;
- per team: not recused from a target of the team (``recusal``, a declared conflict), and, when the
  task's rotation rule is on, not a current member of the team that last inspected one of its
  targets in a dispatched task (``rotation``).

Left-out reasons are kept in one file beside the run's files, one line per inspector for the
team-independent reasons, per (region, inspector) for region mismatch, and per (team, inspector)
only for recusal and rotation — so 30,000 teams × 5 departments × 1,000 inspectors stay a few
thousand lines instead of 150 million rows.
"""

from __future__ import annotations

import datetime
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse

REASONS = {
    "inactive": "已出库（不在名录库中）",
    "unavailable": "标记为不可参与抽取",
    "expert": "专家库人员，本轮未启用专家",
    "certificate": "执法证在检查期间内无效或缺失",
    "speciality": "不具备任务所需的业务专长",
    "region": "执法区域不含检查对象所在区域",
    "recusal": "已登记回避",
    "rotation": "上次检查过同一对象（轮换规则）",
}

_SPLIT = re.compile(r"[|,，、;；\s]+")


def split_values(text: str) -> list[str]:
    """The task's required specialities, written with ``|``, commas, 、 or spaces."""
    return [v for v in _SPLIT.split(text or "") if v]


def region_prefix(code: str) -> str:
    """The code prefix an 执法区域 code covers (GB/T 2260: ``xx0000`` province, ``xxxx00``
    prefecture; anything else covers itself and the codes under it)."""
    if len(code) == 6 and code.isdigit():
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def inspector_code(department_code: str, pk: int) -> str:
    """The code of an inspector in the run's files: no personal data, one per person."""
    return f"{department_code}-{pk}"


def inspector_pk(code: str) -> int:
    return int(code.rsplit("-", 1)[1])


@dataclass
class Person:
    """What the rules need of one inspector (filled from directory.Inspector)."""

    pk: int
    department: str  # department code
    kind: str  # "inspector" / "expert"
    active: bool
    available: bool
    certificate_no: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    regions: list[str]
    specialities: list[str]

    @property
    def code(self) -> str:
        return inspector_code(self.department, self.pk)


@dataclass
class Result:
    """The three file bodies' rows and the left-out lines."""

    eligible: dict[tuple[str, str], list[str]]  # (team, dept) -> codes sorted
    left_out: list[str] = field(default_factory=list)  # lines without LF, sorted

    def left_out_bytes(self) -> bytes:
        return "".join(f"{line}\n" for line in self.left_out).encode("utf-8")


def person_reasons(
    person: Person,
    *,
    start: datetime.date,
    end: datetime.date,
    specialities: Sequence[str],
    experts: bool,
) -> list[str]:
    """The team-independent reasons that leave ``person`` out (empty: may be drawn)."""
    reasons = []
    if not person.active:
        reasons.append("inactive")
    if not person.available:
        reasons.append("unavailable")
    if person.kind != "inspector" and not experts:
        reasons.append("expert")
    if person.kind == "inspector":
        valid = (
            bool(person.certificate_no)
            and person.valid_to is not None
            and person.valid_to >= end
            and (person.valid_from is None or person.valid_from <= start)
        )
        if not valid:
            reasons.append("certificate")
    if specialities and not set(specialities) & set(person.specialities):
        reasons.append("speciality")
    return reasons


def compute(
    *,
    teams: Mapping[str, Sequence[str]],
    target_region: Mapping[str, str],
    people: Mapping[str, Iterable[Person]],
    home_region: Mapping[str, str],
    start: datetime.date,
    end: datetime.date,
    specialities: Sequence[str],
    experts: Iterable[str],
    recused: Mapping[str, set[int]],
    rotation: Mapping[str, set[int]],
) -> Result:
    """Eligibility of every (team, department) pair and the left-out lines.

    ``teams``: team code -> its targets; ``target_region``: target -> region code;
    ``people``: department code -> its inspectors; ``home_region``: department code -> its
    jurisdiction's code (for inspectors without a region); ``recused`` / ``rotation``: target ->
    inspector pks left out of its team for that reason.
    """
    experts = set(experts)
    departments = sorted(people)
    regions = sorted({target_region[t] for targets in teams.values() for t in targets})
    left_out: list[str] = []
    # region -> dept -> sorted codes of the inspectors who pass every team-independent rule
    covered: dict[str, dict[str, list[str]]] = {r: {} for r in regions}
    passing_code: dict[int, tuple[str, str]] = {}  # pk -> (dept, code) of who passes those
    for dept in departments:
        passing = []
        for person in people[dept]:
            reasons = person_reasons(
                person,
                start=start,
                end=end,
                specialities=specialities,
                experts=dept in experts,
            )
            if reasons:
                left_out.append(f"all\t{dept}\t{person.code}\t{','.join(reasons)}")
            else:
                passing.append(person)
                passing_code[person.pk] = (dept, person.code)
        prefixes = {
            p.code: [region_prefix(c) for c in (p.regions or [home_region[dept]])] for p in passing
        }
        for region in regions:
            codes = []
            for person in passing:
                if any(region.startswith(prefix) for prefix in prefixes[person.code]):
                    codes.append(person.code)
                else:
                    left_out.append(f"region\t{region}\t{dept}\t{person.code}")
            covered[region][dept] = sorted(codes)
    eligible: dict[tuple[str, str], list[str]] = {}
    for team in sorted(teams):
        targets = teams[team]
        team_regions = sorted({target_region[t] for t in targets})
        out_recusal = set().union(*(recused.get(t, set()) for t in targets))
        out_rotation = set().union(*(rotation.get(t, set()) for t in targets))
        # The few people the team's targets leave out, by department: code -> reasons
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for reason, pks in (("recusal", out_recusal), ("rotation", out_rotation)):
            for pk in pks & passing_code.keys():
                dept, code = passing_code[pk]
                out[dept][code].append(reason)
        for dept in departments:
            if len(team_regions) == 1:
                codes = covered[team_regions[0]][dept]
            else:
                common = set(covered[team_regions[0]][dept])
                for region in team_regions[1:]:
                    common &= set(covered[region][dept])
                codes = sorted(common)
            gone = out[dept].keys() & codes if dept in out else None
            if gone:
                # C-level filter: a Python step per eligible code cost seconds at 16 M codes.
                codes = list(filterfalse(gone.__contains__, codes))
                for code in gone:
                    reasons = ",".join(out[dept][code])
                    left_out.append(f"team\t{team}\t{dept}\t{code}\t{reasons}")
            eligible[(team, dept)] = codes
    left_out.sort()
    return Result(eligible=eligible, left_out=left_out)


def eligibility_bytes(eligible: Mapping[tuple[str, str], list[str]]) -> bytes:
    """The eligibility file (§2.1) without sorting millions of lines: team codes have a fixed
    width, so walking teams, departments and codes in order gives the lines in byte order (TAB
    sorts before every printable character, so ``GAJ`` comes before ``GAJX``).

    Each pair's block is encoded and written to one growing buffer: joining the blocks, then
    encoding the whole, would take two more copies of a file of ~300 MB (fresh memory is slow)."""
    out = io.BytesIO()
    for team, dept in sorted(eligible):
        codes = eligible[(team, dept)]
        if codes:
            prefix = f"{team}\t{dept}\t"
            out.write((prefix + f"\n{prefix}".join(codes) + "\n").encode("utf-8"))
    return out.getvalue()


def parse_left_out(data: bytes) -> list[dict]:
    """The left-out file as rows for the page: scope (all/region/team), where, dept, code, reasons."""
    rows = []
    for line in data.decode("utf-8").splitlines():
        parts = line.split("\t")
        if parts[0] == "all":
            _, dept, code, reasons = parts
            rows.append({"scope": "all", "where": "", "dept": dept, "code": code,
                         "reasons": reasons.split(",")})  # fmt: skip
        elif parts[0] == "region":
            _, region, dept, code = parts
            rows.append({"scope": "region", "where": region, "dept": dept, "code": code,
                         "reasons": ["region"]})  # fmt: skip
        elif parts[0] == "team":
            _, team, dept, code, reasons = parts
            rows.append({"scope": "team", "where": team, "dept": dept, "code": code,
                         "reasons": reasons.split(",")})  # fmt: skip
    return rows
