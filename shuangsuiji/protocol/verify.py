"""Re-derive a published draw and say PASS or exactly what differs (DRAW-PROTOCOL.md §1.6, §2.5).

``verify`` checks a target draw's release against its population and excluded files (and, when
given, its announcement and the sealed strata file); ``verify_assign`` replays an inspector draw.
Both return a :class:`Report`: exit status 0 (PASS), 1 (something differs from what the protocol
requires) or 2 (an input cannot be read or parsed at all: not UTF-8, not JSON, JSON with a
duplicate key, or a key the protocol lists missing). Messages are Chinese first, with the English
key names, so that a reader can find each one in the protocol.

Command line: ``python -m shuangsuiji.protocol verify …`` and ``… verify-assign …`` (see
:func:`main_verify`, :func:`main_verify_assign`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import assign as A
from . import draw as D
from .draw import HEX64, ProtocolError, parse_instant, sha256_hex

RELEASE_KEYS = (
    "protocol", "stage", "task", "task_name", "draw", "drawn_at", "lead_department",
    "departments", "announcement_sha256", "population_sha256", "excluded_sha256", "strata_mode",
    "strata_sha256", "strata", "excluded_counts", "allocation", "commitments", "seed_statement",
    "seed", "selected",
)  # fmt: skip
SELECTED_KEYS = ("id", "name", "stratum", "score")
STRATUM_KEYS = ("n", "k")
ANNOUNCEMENT_KEYS = (
    "protocol", "stage", "task", "task_name", "draw", "announced_at", "lead_department",
    "departments", "population_sha256", "excluded_sha256", "strata_mode", "strata_sha256",
    "population_size", "allocation", "entropy", "reveals_due", "release",
)  # fmt: skip
RECORD_KEYS = (
    "protocol", "task", "draw", "run", "lead_department", "departments", "draw_seed",
    "announcement_sha256", "teams_sha256", "need_sha256", "eligibility_sha256", "commitments",
    "assign_statement", "assign_seed", "assignment", "replacements", "teams",
)  # fmt: skip
ASSIGNMENT_KEYS = ("team", "dept", "members", "missing")
REPLACEMENT_KEYS = ("team", "dept", "out", "in", "reason", "approved_by", "at")
TEAM_KEYS = ("leader", "members")
ASSIGN_ANNOUNCEMENT_KEYS = (
    "protocol", "stage", "task", "draw", "run", "lead_department", "departments", "announced_at",
    "teams_count", "teams_sha256", "need_sha256", "eligibility_sha256", "entropy", "reveals_due",
)  # fmt: skip
DRAW_FOR_ASSIGN_KEYS = ("protocol", "stage", "task", "draw", "seed", "selected")

# A whole canonical TSV file of 2 or 3 fields per line, each line ending in LF.
_TSV = {n: re.compile(rb"(?:[^\t\n]*(?:\t[^\t\n]*){%d}\n)*" % (n - 1)) for n in (2, 3)}
SHOWN_PER_GROUP = 10  # problems of one kind listed before "… and N more"


# --- the report ----------------------------------------------------------------------------------


@dataclass
class Report:
    """What a verification found. ``exit_code``: 0 PASS, 1 differs, 2 unreadable."""

    title: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    beacons: list[tuple[str, str, str]] = field(default_factory=list)  # (source, issue, value)
    unreadable: list[str] = field(default_factory=list)
    hidden: Counter = field(default_factory=Counter)  # group -> problems not listed
    _shown: Counter = field(default_factory=Counter)

    def fail(self, message: str, group: str | None = None) -> None:
        if group is not None:
            self._shown[group] += 1
            if self._shown[group] > SHOWN_PER_GROUP:
                self.hidden[group] += 1
                return
        self.problems.append(message)

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 1 if self.problems or self.hidden else 0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def text(self) -> str:
        out = [self.title]
        if self.beacons:
            out.append("公开随机源 (beacon items)，请对照来源核对 (check them against the source):")
            for source, issue, value in self.beacons:
                out.append(f"  source={source}  issue={issue}  value={value}")
        elif not self.unreadable:
            out.append("公开随机源 (beacon items)：无 (none)")
        out.extend(f"警告 (warning): {w}" for w in self.warnings)
        out.extend(f"说明 (note): {n}" for n in self.notes)
        if self.unreadable:
            out.append("结果：无法读取 (UNREADABLE)")
            out.extend(f"  - {u}" for u in self.unreadable)
        elif self.problems or self.hidden:
            count = len(self.problems) + sum(self.hidden.values())
            out.append(f"结果：不符 (FAIL)，共 {count} 处:")
            out.extend(f"  - {p}" for p in self.problems)
            for group, n in self.hidden.items():
                out.append(f"  - ……另有 {n} 处同类问题 ({group})")
        else:
            out.append("结果：通过 (PASS)")
        return "\n".join(out) + "\n"


class Unreadable(Exception):
    """An input that cannot be read or parsed at all (exit status 2)."""


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):  # only then look for the key that repeats
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} 不是 JSON 的合法值")


def decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{what} 不是有效的 UTF-8 (not UTF-8)：第 {exc.start} 字节") from None


def load_json(data: bytes, what: str) -> object:
    """Strict JSON: UTF-8, no duplicate keys (anywhere), no NaN/Infinity."""
    text = decode(data, what)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise Unreadable(f"{what} 含有重复的键 (duplicate key): {exc.args[0]!r}") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(
            f"{what} 不是有效的 JSON (not JSON)：{exc.msg}，第 {exc.lineno} 行第 {exc.colno} 列"
        ) from None
    except ValueError as exc:
        raise Unreadable(f"{what} 不是有效的 JSON (not JSON)：{exc}") from None


def require_keys(doc: object, keys: Sequence[str], what: str) -> dict:
    if not isinstance(doc, dict):
        raise Unreadable(f"{what} 不是 JSON 对象 (not a JSON object)")
    missing = [k for k in keys if k not in doc]
    if missing:
        raise Unreadable(f"{what} 缺少键 (missing keys): {', '.join(missing)}")
    return doc


def _require_items(doc: dict, key: str, keys: Sequence[str], what: str) -> None:
    """Entries of a listed array (or object of objects) must carry their listed keys."""
    value = doc.get(key)
    if not isinstance(value, list | dict):
        return  # a wrong type is a difference (exit 1), reported by the checks
    for index, item in value.items() if isinstance(value, dict) else enumerate(value):
        if isinstance(item, dict):
            require_keys(item, keys, f"{what} 的 {key}[{index!r}]")


def _tsv(fields: list[bytes]) -> str:
    return b"\t".join(fields).decode("utf-8")


def _show(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- shared checks -------------------------------------------------------------------------------


class _Checks:
    """Field checks shared by both verifications; every finding goes to ``self.report``."""

    report: Report

    def fail(self, message: str, group: str | None = None) -> None:
        self.report.fail(message, group)

    def is_int(self, doc: dict, key: str, what: str, minimum: int = 0) -> bool:
        value = doc.get(key)
        if type(value) is not int or value < minimum:
            self.fail(f"{what} 的 {key} 必须是不小于 {minimum} 的整数，记录为 {_show(value)}")
            return False
        return True

    def is_hex(self, doc: dict, key: str, what: str) -> bool:
        value = doc.get(key)
        if not isinstance(value, str) or not HEX64.fullmatch(value):
            self.fail(f"{what} 的 {key} 必须是 64 个小写十六进制字符，记录为 {_show(value)}")
            return False
        return True

    def is_text(self, doc: dict, key: str, what: str, *, line: bool = True) -> bool:
        value = doc.get(key)
        if not isinstance(value, str) or (line and (not value or "\n" in value or "\t" in value)):
            self.fail(f"{what} 的 {key} 必须是非空文本（不含 TAB/LF），记录为 {_show(value)}")
            return False
        return True

    def is_instant(self, doc: dict, key: str, what: str) -> bool:
        if parse_instant(doc.get(key)) is None:
            self.fail(
                f"{what} 的 {key} 必须是带时区偏移的 ISO 8601 时间，记录为 {_show(doc.get(key))}"
            )
            return False
        return True

    def departments(self, doc: dict, what: str) -> list[str]:
        """Check ``lead_department`` and ``departments`` (sorted, unique, codes, lead included)."""
        lead, departments = doc.get("lead_department"), doc.get("departments")
        if not isinstance(lead, str) or not D.DEPT_CODE.fullmatch(lead):
            self.fail(f"{what} 的 lead_department 必须符合 [A-Z0-9]+，记录为 {_show(lead)}")
        if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
            self.fail(f"{what} 的 departments 必须是部门代码的列表，记录为 {_show(departments)}")
            return []
        for code in departments:
            if not D.DEPT_CODE.fullmatch(code):
                self.fail(f"{what} 的 departments 中的 {code!r} 必须符合 [A-Z0-9]+")
        if departments != sorted(set(departments)):
            self.fail(f"{what} 的 departments 必须按字节升序且不重复，记录为 {_show(departments)}")
        if isinstance(lead, str) and lead not in departments:
            self.fail(f"{what} 的 departments 必须包含牵头部门 lead_department {lead}")
        return departments

    def statement(
        self,
        statement: object,
        key: str,
        header: list[str],
        departments: Sequence[str],
        recorded_commitments: object,
    ) -> tuple[dict[str, str], bytes | None]:
        """Check a seed/assignment statement (§1.4, §2.2). Returns (entropy items, seed)."""
        if not isinstance(statement, str):
            self.fail(f"{key} 必须是文本，记录为 {_show(statement)}")
            return {}, None
        if not statement.endswith("\n"):
            self.fail(f"{key} 的最后一行没有以 LF 结尾 (each line ends in LF)")
        lines = statement.split("\n")
        if lines[-1] == "":
            lines.pop()
        first_entropy = next((i for i, ln in enumerate(lines) if ln.startswith("entropy.")), None)
        head = lines if first_entropy is None else lines[:first_entropy]
        tail = [] if first_entropy is None else lines[first_entropy:]
        self._statement_header(key, head, header)
        entropy: dict[str, str] = {}
        previous = None
        for offset, line in enumerate(tail):
            number = len(head) + offset + 1
            if not line.startswith("entropy."):
                self.fail(f"{key} 第 {number} 行 {line!r} 应在熵项之前或不应出现 (line order)")
                continue
            name, eq, value = line[len("entropy.") :].partition("=")
            if not eq:
                self.fail(f"{key} 第 {number} 行 {line!r} 不是 entropy.<名称>=<值>")
                continue
            try:
                kind = D.entropy_kind(name)
            except ProtocolError as exc:
                self.fail(f"{key} 第 {number} 行：{exc}")
                continue
            problem = D.entropy_value_problem(name, value)
            if problem:
                self.fail(f"{key} 第 {number} 行：{problem}")
            if name in entropy:
                self.fail(f"{key} 中熵项 {name} 出现了两次 (entropy names unique)")
                continue
            if previous is not None and name < previous:
                self.fail(
                    f"{key} 的熵项未按名称的字节顺序排列 (sorted by name)：{name} 应在 {previous} 之前"
                )
            previous = name
            if kind == "party" and name[len("party.") :] not in departments:
                self.fail(f"{key} 的熵项 {name} 不是 departments 中的部门 (party item)")
            entropy[name] = value
        if not entropy:
            self.fail(f"{key} 至少需要一个熵项 (at least one entropy item)")
        for name, source, issue in D.beacons(entropy):
            self.report.beacons.append((source, issue, entropy[name]))
        self._commitments(entropy, recorded_commitments)
        return entropy, D.seed_of(statement)

    def _statement_header(self, key: str, got: list[str], expected: list[str]) -> None:
        if got == expected:
            return
        if len(got) == len(expected):
            for number, (g, e) in enumerate(zip(got, expected, strict=True), 1):
                if g != e:
                    self.fail(f"{key} 第 {number} 行不符：记录为 {g!r}，应为 {e!r}")
            return
        for line in expected:
            if line not in got:
                self.fail(f"{key} 缺少行 (missing line) {line!r}")
        for line in got:
            if line not in expected:
                self.fail(f"{key} 多出行 (unexpected line) {line!r}")
        if sorted(got) == sorted(expected):
            self.fail(f"{key} 的行序不符 §1.4/§2.2 (line order)")

    def _commitments(self, entropy: dict[str, str], recorded: object) -> None:
        if not isinstance(recorded, dict):
            self.fail(f"commitments 必须是 JSON 对象，记录为 {_show(recorded)}")
            return
        committed = [n for n in entropy if D.entropy_kind(n) != "beacon"]
        for name in committed:
            if name not in recorded:
                self.fail(f"commitments 缺少熵项 {name} 的承诺")
            elif D.entropy_value_problem(name, entropy[name]) is None:
                opened = D.commitment(entropy[name])
                if recorded[name] != opened:
                    self.fail(
                        f"熵项 {name} 的揭示值与承诺不符 (reveal does not open commitment)："
                        f"承诺为 {_show(recorded[name])}，sha256(揭示值) 为 {opened}"
                    )
        for name in recorded:
            if name not in committed:
                self.fail(
                    f"commitments 多出 {name}：声明中没有该部门或服务器熵项 "
                    "(commitments name exactly the party and server items)"
                )

    def seed(self, recorded: object, seed: bytes | None, key: str, statement_key: str) -> None:
        if seed is not None and recorded != seed.hex():
            self.fail(
                f"{key} 不符：记录为 {_show(recorded)}，由 {statement_key} 计算为 {seed.hex()}"
            )

    def announced_entropy(
        self, ann: dict, entropy: dict[str, str], recorded_commitments: object, what: str
    ) -> None:
        """The announcement names exactly the statement's items with their commitments."""
        announced = ann.get("entropy")
        if not isinstance(announced, dict):
            self.fail(f"{what} 的 entropy 必须是 JSON 对象，记录为 {_show(announced)}")
            return
        commits = recorded_commitments if isinstance(recorded_commitments, dict) else {}
        for name in entropy:
            if name not in announced:
                self.fail(f"{what} 的 entropy 没有声明中的熵项 {name}（事先未公告）")
        for name, commit in announced.items():
            if name not in entropy:
                self.fail(f"{what} 的 entropy 有 {name}，但声明中没有该熵项")
                continue
            if D.entropy_kind(name) == "beacon":
                if commit is not None:
                    self.fail(
                        f"{what} 的 entropy 中公开随机源 {name} 必须为 null，公告为 {_show(commit)}"
                    )
            elif commit != commits.get(name):
                self.fail(
                    f"{what} 的 entropy 中 {name} 的承诺与记录不符：公告为 {_show(commit)}，"
                    f"记录为 {_show(commits.get(name))}"
                )
        has_party = any(D.entropy_kind(n) == "party" for n in entropy)
        due = ann.get("reveals_due")
        if has_party and due is None:
            self.fail(f"{what} 的 reveals_due 为 null，但有部门熵项 (party item)")
        elif not has_party and due is not None:
            self.fail(f"{what} 的 reveals_due 应为 null（没有部门熵项），公告为 {_show(due)}")
        elif due is not None:
            self.is_instant(ann, "reveals_due", what)

    def same(self, ann: dict, doc: dict, keys: Sequence[str], what: str, other: str) -> None:
        for key in keys:
            if ann.get(key) != doc.get(key):
                self.fail(
                    f"{what} 的 {key} 与{other}不符：公告为 {_show(ann.get(key))}，"
                    f"{other}为 {_show(doc.get(key))}"
                )


# --- ssj-draw/1 ----------------------------------------------------------------------------------


def verify(
    release_bytes: bytes,
    population_bytes: bytes,
    excluded_bytes: bytes,
    announcement_bytes: bytes | None = None,
    strata_bytes: bytes | None = None,
) -> Report:
    """Every check of DRAW-PROTOCOL.md §1.6 "Verification" (items 1–4)."""
    report = Report("ssj-draw/1 核验 (verify)")
    release = announcement = None
    files: dict[str, bytes] = {}

    def attempt(fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Unreadable as exc:
            report.unreadable.append(str(exc))
            return None

    def load_release() -> dict:
        doc = require_keys(load_json(release_bytes, "release（抽取记录）"), RELEASE_KEYS, "release")
        _require_items(doc, "selected", SELECTED_KEYS, "release")
        _require_items(doc, "strata", STRATUM_KEYS, "release")
        return doc

    release = attempt(load_release)
    if announcement_bytes is not None:
        announcement = attempt(
            lambda: require_keys(
                load_json(announcement_bytes, "announcement（公告）"),
                ANNOUNCEMENT_KEYS,
                "announcement",
            )
        )
    for name, data in (
        ("population", population_bytes),
        ("excluded", excluded_bytes),
        ("strata", strata_bytes),
    ):
        # Only checked to be UTF-8 here; the checks work on the bytes (IDs sort by bytes).
        if data is not None and attempt(lambda d=data, n=name: decode(d, f"{n} 文件")) is not None:
            files[name] = data
    if report.unreadable:
        return report
    _DrawCheck(report, release, files, announcement, announcement_bytes).run()
    return report


class _DrawCheck(_Checks):
    def __init__(self, report, release, files, announcement, announcement_bytes):
        self.report = report
        self.rel = release
        self.files = files
        self.ann = announcement
        self.ann_bytes = announcement_bytes
        self.sealed = release.get("strata_mode") == "sealed"
        self.ids: list[bytes] = []  # the population file's IDs, in file order (UTF-8)
        self.labels: list[bytes] = []
        self.ids_sorted = True

    def run(self) -> None:
        rel = self.rel
        if isinstance(rel.get("task"), str) and type(rel.get("draw")) is int:
            self.report.title += f" — 任务 {rel['task']} 第 {rel['draw']} 次抽取"
        self.header()
        self.check_files()
        entropy, seed = self.statement(
            rel["seed_statement"],
            "seed_statement",
            self.expected_header(),
            rel["departments"] if isinstance(rel["departments"], list) else [],
            rel["commitments"],
        )
        self.seed(rel["seed"], seed, "seed", "seed_statement")
        if seed is not None:
            self.selection(seed)
        if self.ann is not None:
            self.announcement(entropy)
        else:
            self.report.warnings.append(
                "未提供公告 (announcement)：承诺本身不能证明各熵值何时确定；公开日志中带时间戳的公告"
                "才使抽取无法被操控 (without the announcement the commitments prove nothing "
                "about when the values were fixed)"
            )

    # release fields
    def header(self) -> None:
        rel, what = self.rel, "release"
        if rel["protocol"] != D.PROTOCOL:
            self.fail(f"protocol 不符：记录为 {_show(rel['protocol'])}，应为 {D.PROTOCOL}")
        if rel["stage"] != "release":
            self.fail(f"stage 不符：记录为 {_show(rel['stage'])}，应为 release")
        self.is_text(rel, "task", what)
        self.is_text(rel, "task_name", what, line=False)
        self.is_int(rel, "draw", what, 1)
        self.is_instant(rel, "drawn_at", what)
        self.departments(rel, what)
        for key in ("announcement_sha256", "population_sha256", "excluded_sha256", "seed"):
            self.is_hex(rel, key, what)
        if rel["strata_mode"] not in ("public", "sealed"):
            self.fail(f"strata_mode 必须是 public 或 sealed，记录为 {_show(rel['strata_mode'])}")
        if self.sealed:
            self.is_hex(rel, "strata_sha256", what)
        elif rel["strata_sha256"] is not None:
            self.fail(f"公开分层时 strata_sha256 必须为 null，记录为 {_show(rel['strata_sha256'])}")
        for key in ("strata", "excluded_counts", "commitments"):
            if not isinstance(rel[key], dict):
                self.fail(f"{key} 必须是 JSON 对象，记录为 {_show(rel[key])}")
        if not isinstance(rel["selected"], list):
            self.fail(f"selected 必须是数组，记录为 {_show(rel['selected'])}")

    def expected_header(self) -> list[str]:
        rel = self.rel
        return [
            D.PROTOCOL,
            f"task={_show(rel['task'])}",
            f"draw={_show(rel['draw'])}",
            f"population={_show(rel['population_sha256'])}",
            f"excluded={_show(rel['excluded_sha256'])}",
            *([f"strata={_show(rel['strata_sha256'])}"] if self.sealed else []),
            f"allocation={_show(rel['allocation'])}",
        ]

    # check 1: files
    def check_files(self) -> None:
        rel = self.rel
        self.ids, self.labels = self.population(self.files["population"])
        self.ids_sorted = all(map(bytes.__lt__, self.ids, self.ids[1:]))
        excluded = self.excluded(self.files["excluded"])
        for key, name in (("population_sha256", "population"), ("excluded_sha256", "excluded")):
            actual = sha256_hex(self.files[name])
            if rel[key] != actual:
                self.fail(f"{key} 不符：记录为 {_show(rel[key])}，文件为 {actual}")
        excluded_ids = {i for i, _, _ in excluded}
        for candidate in (i for i in self.ids if i in excluded_ids) if excluded_ids else ():
            self.fail(
                f"ID {candidate.decode()} 既在 population 文件中又在 excluded 文件中 "
                "(no excluded ID is in the population)",
                "both",
            )
        counts = dict(sorted(Counter(r for _, _, r in excluded).items()))
        if rel["excluded_counts"] != counts:
            self.fail(
                f"excluded_counts 不符：记录为 {_show(rel['excluded_counts'])}，文件为 {_show(counts)}"
            )

    def _lines(self, data: bytes, name: str) -> list[bytes]:
        if data and not data.endswith(b"\n"):
            self.fail(f"{name} 文件的最后一行没有以 LF 结尾")
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        return lines

    def _labels(self, labels: list[bytes], name: str) -> bool:
        """Each distinct label once: ``*`` when sealed, a valid label when public."""
        ok = True
        for label in sorted(set(labels)):
            number = labels.index(label) + 1 + (name == "strata")
            text = label.decode("utf-8")
            if self.sealed and name != "strata":
                problem = (
                    None
                    if text == D.SEALED
                    else (f"密封分层时标签必须为 *，实为 {text!r} (sealed strata: LABEL is *)")
                )
            else:
                problem = D.label_problem(text)
            if problem:
                self.fail(f"{name} 文件第 {number} 行起：{problem}", f"{name}-label")
                ok = False
        return ok

    def _ids(self, ids: list[bytes], name: str, offset: int = 1) -> None:
        """Non-empty, strictly ascending by bytes (so unique); the loop runs only on a problem."""
        if all(ids) and all(map(bytes.__lt__, ids, ids[1:])):
            return
        previous = None
        for number, candidate in enumerate(ids, offset):
            if not candidate:
                self.fail(f"{name} 文件第 {number} 行的 ID 为空", f"{name}-id")
            if previous is not None and candidate <= previous:
                shown = candidate.decode()
                if candidate == previous:
                    self.fail(
                        f"{name} 文件第 {number} 行：ID {shown} 重复 (IDs unique)", f"{name}-dup"
                    )
                else:
                    self.fail(
                        f"{name} 文件第 {number} 行：ID {shown} 未按字节升序排列 (sorted by ID)",
                        f"{name}-order",
                    )
            previous = candidate

    def _split(self, data: bytes, name: str, fields: int, layout: str) -> list[list[bytes]]:
        """The file's fields as columns. One regex check and one split over the whole file in
        the usual case; line by line (to say which lines are wrong) only when some are."""
        if re.fullmatch(_TSV[fields], data):
            parts = data.replace(b"\t", b"\n").split(b"\n")
            parts.pop()  # after the last LF
            return [parts[i::fields] for i in range(fields)]
        rows = []
        for number, line in enumerate(self._lines(data, name), 1):
            row = line.split(b"\t")
            if len(row) == fields:
                rows.append(row)
            else:
                self.fail(f"{name} 文件第 {number} 行应为 {layout}：{_tsv(row)!r}", f"{name}-line")
        return [[row[i] for row in rows] for i in range(fields)]

    def population(self, data: bytes) -> tuple[list[bytes], list[bytes]]:
        ids, labels = self._split(data, "population", 2, "ID<TAB>LABEL")
        self._ids(ids, "population")
        self._labels(labels, "population")
        return ids, labels

    def excluded(self, data: bytes) -> list[tuple[bytes, bytes, str]]:
        ids, labels, reasons = self._split(data, "excluded", 3, "ID<TAB>LABEL<TAB>REASON")
        self._ids(ids, "excluded")
        self._labels(labels, "excluded")
        for number, reason in enumerate(reasons, 1):
            if not D.REASON.fullmatch(reason.decode()):
                self.fail(
                    f"excluded 文件第 {number} 行：排除原因 {reason.decode()!r} 不符合 [a-z0-9-]+"
                )
        return [(i, s, r.decode()) for i, s, r in zip(ids, labels, reasons, strict=True)]

    # check 3: selection
    def selection(self, seed: bytes) -> None:
        rel = self.rel
        selected = rel["selected"] if isinstance(rel["selected"], list) else []
        entries = []  # (index, ID as UTF-8, stratum, score) of well-formed entries
        for index, entry in enumerate(selected):
            if not isinstance(entry, dict):
                self.fail(f"selected[{index}] 必须是 JSON 对象")
                continue
            bad = [k for k in SELECTED_KEYS if not isinstance(entry[k], str)]
            if bad:
                self.fail(f"selected[{index}] 的 {', '.join(bad)} 必须是文本")
                continue
            entries.append((index, entry["id"].encode(), entry["stratum"], entry["score"]))
        label_of = self.labels_of(e[1] for e in entries)
        true_score: dict[bytes, bytes] = {}
        seen: set[bytes] = set()
        for index, candidate, stratum, recorded in entries:
            where = f"selected[{index}] ({candidate.decode()})"
            if candidate in seen:
                self.fail(f"{where} 重复出现 (each selected ID once)")
                continue
            seen.add(candidate)
            if candidate not in label_of:
                self.fail(f"{where} 不在 population 文件中 (selected ID not in the population)")
                continue
            actual = hashlib.sha256(seed + candidate).digest()
            true_score[candidate] = actual
            if recorded != actual.hex():
                self.fail(f"{where} 的 score 不符：记录为 {recorded}，应为 {actual.hex()}", "score")
            expected = label_of[candidate].decode()
            if stratum != expected:
                self.fail(
                    f"{where} 的 stratum 不符：记录为 {stratum!r}，population 文件为 {expected!r}"
                )
        self.order(entries, true_score, label_of)
        allocation = self.allocation()
        if not self.sealed:
            self.bottom_k(seed, self.labels, allocation, entries)
        elif "strata" in self.files:
            true_labels = self.strata_file()
            if true_labels is not None:
                self.bottom_k(seed, true_labels, allocation, entries)
        else:
            self.sealed_counts(allocation, len(entries))
            self.report.warnings.append(
                "密封分层 (sealed strata)：没有分层文件 (strata file)，无法核验各信用类别的抽取数量和"
                "入选名单；已核验的只有总数、每个 score 和排序。持有分层文件的部门和审计人员可加 "
                "--strata 核验 (the per-class selection needs the strata file)"
            )

    def labels_of(self, wanted) -> dict[bytes, bytes]:
        """Population label of each wanted ID found in the population file."""
        ids, labels = self.ids, self.labels
        if not self.ids_sorted:
            wanted = set(wanted)
            return {i: s for i, s in zip(ids, labels, strict=True) if i in wanted}
        found = {}
        for candidate in wanted:
            at = bisect_left(ids, candidate)
            if at < len(ids) and ids[at] == candidate:
                found[candidate] = labels[at]
        return found

    def order(self, entries, true_score, label_of) -> None:
        keys = []
        for index, candidate, _, _ in entries:
            if candidate in true_score:
                score = true_score[candidate]
                key = (score, candidate) if self.sealed else (label_of[candidate], score, candidate)
                keys.append((key, index, candidate))
        for (a, _, a_id), (b, index, b_id) in zip(keys, keys[1:], strict=False):
            if b < a:
                rule = "score，再按 ID" if self.sealed else "分层标签，再按 score"
                self.fail(
                    f"selected 的顺序不符 §1.5（应按{rule}）：selected[{index}] {b_id.decode()} "
                    f"应排在 {a_id.decode()} 之前",
                    "order",
                )

    def allocation(self) -> D.Allocation | None:
        try:
            return D.parse_allocation(self.rel["allocation"])
        except ProtocolError as exc:
            self.fail(f"allocation 无效：{exc}")
            return None

    def bottom_k(self, seed, labels: list[bytes], allocation, entries) -> None:
        """The record's strata and the selection are exactly the bottom-k of every stratum."""
        if allocation is None:
            return
        counts = Counter(labels)
        k_by_text = allocation.k({s.decode(): n for s, n in counts.items()})
        k = {s.encode(): n for s, n in k_by_text.items()}
        if self.sealed:
            expected = {D.SEALED: {"n": len(self.ids), "k": sum(k.values())}}
        else:
            expected = {s: {"n": counts[s.encode()], "k": n} for s, n in k_by_text.items()}
        if self.rel["strata"] != expected:
            self.fail(f"strata 不符：记录为 {_show(self.rel['strata'])}，应为 {_show(expected)}")
        rows = lambda: zip(self.ids, labels, strict=True)  # noqa: E731
        chosen = D.bottom_k_bytes(seed, rows, k, counts)
        expected_ids = {i: (s, score) for s, pairs in chosen.items() for score, i in pairs}
        recorded = {e[1] for e in entries}
        for candidate, (stratum, score) in sorted(expected_ids.items()):
            if candidate not in recorded:
                self.fail(
                    f"应选但未选 (should be selected)：{candidate.decode()}（分层 {stratum.decode()}，"
                    f"score {score.hex()}）",
                    "missing",
                )
        extra = recorded - expected_ids.keys()
        population = set(self.ids) if extra else set()
        for candidate in sorted(extra & population):
            self.fail(
                f"不应入选 (not among the k smallest scores of its stratum)：{candidate.decode()}",
                "extra",
            )

    def sealed_counts(self, allocation, selected_count: int) -> None:
        n = len(self.ids)
        expected = {D.SEALED: {"n": n, "k": selected_count}}
        if self.rel["strata"] != expected:
            self.fail(f"strata 不符：记录为 {_show(self.rel['strata'])}，应为 {_show(expected)}")
        counted = allocation is not None and allocation.mode == "count"
        if counted and selected_count != min(allocation.total, n):
            self.fail(
                f"计数模式应抽取 min(K, n) = {min(allocation.total, n)} 个，selected 有 "
                f"{selected_count} 个"
            )

    def strata_file(self) -> list[bytes] | None:
        data = self.files["strata"]
        actual = sha256_hex(data)
        if self.rel["strata_sha256"] != actual:
            self.fail(
                f"strata_sha256 不符：记录为 {_show(self.rel['strata_sha256'])}，分层文件为 {actual}"
            )
        lines = self._lines(data, "strata")
        if not lines:
            self.fail("strata 文件为空：第一行应为 salt<TAB><64 个小写十六进制字符>")
            return None
        salt, tab, value = lines[0].partition(b"\t")
        if salt != b"salt" or not tab or not HEX64.fullmatch(value.decode()):
            self.fail(
                f"strata 文件第 1 行应为 salt<TAB><64 个小写十六进制字符>，实为 {lines[0].decode()!r}"
            )
        rows = [line.split(b"\t") for line in lines[1:]]
        if len(rows) != len(self.ids):
            self.fail(
                f"strata 文件有 {len(rows)} 个 ID，population 文件有 {len(self.ids)} 个 (same IDs)"
            )
            return None
        ok = True
        for number, (row, candidate) in enumerate(zip(rows, self.ids, strict=True), 2):
            if len(row) != 2 or row[0] != candidate:
                self.fail(
                    f"strata 文件第 {number} 行应为 {candidate.decode()}<TAB><分层>，"
                    f"实为 {_tsv(row)!r} (same IDs in the same order)",
                    "strata-id",
                )
                ok = False
        if not ok:
            return None
        labels = [row[1] for row in rows]
        return labels if self._labels(labels, "strata") else None

    # check 4: announcement
    def announcement(self, entropy: dict[str, str]) -> None:
        ann, rel, what = self.ann, self.rel, "announcement"
        actual = sha256_hex(self.ann_bytes)
        if rel["announcement_sha256"] != actual:
            self.fail(
                f"announcement_sha256 不符：记录为 {_show(rel['announcement_sha256'])}，公告文件为 {actual}"
            )
        if ann["stage"] != "announcement":
            self.fail(f"公告的 stage 应为 announcement，实为 {_show(ann['stage'])}")
        keys = (
            "protocol", "task", "draw", "lead_department", "departments", "population_sha256",
            "excluded_sha256", "strata_mode", "strata_sha256", "allocation",
        )  # fmt: skip
        self.same(ann, rel, keys, what, " release ")
        if ann["population_size"] != len(self.ids):
            self.fail(
                f"公告的 population_size 不符：公告为 {_show(ann['population_size'])}，"
                f"population 文件有 {len(self.ids)} 行"
            )
        self.announced_entropy(ann, entropy, rel["commitments"], what)
        kinds = {D.entropy_kind(n) for n in entropy}
        if ann["release"] not in ("immediate", "after-inspection"):
            self.fail(
                f"公告的 release 应为 immediate 或 after-inspection，实为 {_show(ann['release'])}"
            )
        elif ann["release"] == "after-inspection" and not kinds & {"party", "server"}:
            self.fail(
                "不预先告知的检查 (release: after-inspection) 不能只用公开随机源：至少需要一个部门或"
                "服务器熵项 (an after-inspection draw needs a party or server item)"
            )
        announced = (
            parse_instant(ann["announced_at"])
            if self.is_instant(ann, "announced_at", what)
            else None
        )
        drawn = parse_instant(rel["drawn_at"])
        if announced and drawn and drawn < announced:
            self.fail(
                f"drawn_at ({rel['drawn_at']}) 早于公告的 announced_at ({ann['announced_at']})"
            )
        if "beacon" in kinds and ann["reveals_due"] is not None:
            self.report.notes.append(
                f"请人工核对：公开随机源的期号应在 reveals_due ({ann['reveals_due']}) 之后开奖 "
                "(a beacon issue's date after reveals_due is for a person to check)"
            )


# --- ssj-assign/1 --------------------------------------------------------------------------------


def verify_assign(
    record_bytes: bytes,
    teams_bytes: bytes,
    need_bytes: bytes,
    eligibility_bytes: bytes,
    announcement_bytes: bytes | None = None,
    draw_bytes: bytes | None = None,
) -> Report:
    """Every check of DRAW-PROTOCOL.md §2.5 (items 1–6)."""
    report = Report("ssj-assign/1 核验 (verify-assign)")
    texts: dict[str, str] = {}

    def attempt(fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Unreadable as exc:
            report.unreadable.append(str(exc))
            return None

    def load_record() -> dict:
        doc = require_keys(load_json(record_bytes, "record（人员抽取记录）"), RECORD_KEYS, "record")
        _require_items(doc, "assignment", ASSIGNMENT_KEYS, "record")
        _require_items(doc, "replacements", REPLACEMENT_KEYS, "record")
        _require_items(doc, "teams", TEAM_KEYS, "record")
        return doc

    def load_draw() -> dict:
        doc = require_keys(
            load_json(draw_bytes, "draw release（对象抽取记录）"),
            DRAW_FOR_ASSIGN_KEYS,
            "draw release",
        )
        _require_items(doc, "selected", ("id",), "draw release")
        return doc

    record = attempt(load_record)
    announcement = None
    if announcement_bytes is not None:
        announcement = attempt(
            lambda: require_keys(
                load_json(announcement_bytes, "announcement（公告）"),
                ASSIGN_ANNOUNCEMENT_KEYS,
                "announcement",
            )
        )
    release = attempt(load_draw) if draw_bytes is not None else None
    for name, data in (
        ("teams", teams_bytes),
        ("need", need_bytes),
        ("eligibility", eligibility_bytes),
    ):
        text = attempt(lambda data=data, name=name: decode(data, f"{name} 文件"))
        if text is not None:
            texts[name] = text
    if report.unreadable:
        return report
    _AssignCheck(report, record, texts, announcement, announcement_bytes, release).run()
    return report


class _AssignCheck(_Checks):
    def __init__(self, report, record, texts, announcement, announcement_bytes, release):
        self.report = report
        self.rec = record
        self.texts = texts
        self.ann = announcement
        self.ann_bytes = announcement_bytes
        self.release = release

    def run(self) -> None:
        rec, what = self.rec, "record"
        if isinstance(rec.get("task"), str):
            self.report.title += (
                f" — 任务 {rec['task']} 第 {_show(rec['draw'])} 次抽取 第 {_show(rec['run'])} 轮"
            )
        if rec["protocol"] != A.PROTOCOL:
            self.fail(f"protocol 不符：记录为 {_show(rec['protocol'])}，应为 {A.PROTOCOL}")
        self.is_text(rec, "task", what)
        self.is_int(rec, "draw", what, 1)
        self.is_int(rec, "run", what, 1)
        departments = self.departments(rec, what)
        for key in ("draw_seed", "announcement_sha256", "assign_seed"):
            self.is_hex(rec, key, what)
        # 1. files
        inputs, problems = A.check_files(
            self.texts["teams"], self.texts["need"], self.texts["eligibility"], departments
        )
        for problem in problems:
            self.fail(problem, "files")
        for key, name in (
            ("teams_sha256", "teams"),
            ("need_sha256", "need"),
            ("eligibility_sha256", "eligibility"),
        ):
            actual = sha256_hex(self.texts[name].encode("utf-8"))
            if rec[key] != actual:
                self.fail(f"{key} 不符：记录为 {_show(rec[key])}，文件为 {actual}")
        # 2. statement
        header = [
            A.PROTOCOL,
            f"task={_show(rec['task'])}",
            f"draw={_show(rec['draw'])}",
            f"run={_show(rec['run'])}",
            f"lead={_show(rec['lead_department'])}",
            f"draw_seed={_show(rec['draw_seed'])}",
            f"teams={_show(rec['teams_sha256'])}",
            f"need={_show(rec['need_sha256'])}",
            f"eligibility={_show(rec['eligibility_sha256'])}",
        ]
        entropy, seed = self.statement(
            rec["assign_statement"], "assign_statement", header, departments, rec["commitments"]
        )
        if entropy and not {"beacon", "party"} & {D.entropy_kind(n) for n in entropy}:
            self.fail("assign_statement 至少需要一个公开随机源或部门熵项，仅有服务器熵不够 (§2.2)")
        self.seed(rec["assign_seed"], seed, "assign_seed", "assign_statement")
        # 3. and 4. the replayed run, the replacements, the teams
        if seed is not None and not problems:
            self.replay(inputs, seed)
        elif problems:
            self.report.notes.append("文件不符合 §2.1，未重放人员抽取 (run not replayed)")
        # 5. announcement
        if self.ann is not None:
            self.announcement(inputs, entropy)
        else:
            self.report.warnings.append(
                "未提供公告 (announcement)：没有证据表明三个文件在熵值产生之前已经确定 (nothing then "
                "shows the inputs were fixed before the entropy)"
            )
        # 6. the target draw
        if self.release is not None:
            self.draw(inputs)

    def replay(self, inputs: A.Inputs, seed: bytes) -> None:
        rec = self.rec
        replacements = rec["replacements"] if isinstance(rec["replacements"], list) else []
        if not isinstance(rec["replacements"], list):
            self.fail(f"replacements 必须是数组，记录为 {_show(rec['replacements'])}")
        pairs = {
            (r["team"], r["dept"])
            for r in replacements
            if isinstance(r, dict) and isinstance(r["team"], str) and isinstance(r["dept"], str)
        }
        entries, orders = A.run(inputs, seed, orders_for=pairs)
        recorded = rec["assignment"]
        if not isinstance(recorded, list):
            self.fail(f"assignment 必须是数组，记录为 {_show(recorded)}")
            recorded = []
        if len(recorded) != len(entries):
            self.fail(
                f"assignment 应有 {len(entries)} 项（每个检查组与部门一项），记录有 {len(recorded)} 项"
            )
        for index, (got, entry) in enumerate(zip(recorded, entries, strict=False)):
            expected = entry.as_dict()
            if got != expected:
                what = f"assignment[{index}]"
                if not isinstance(got, dict):
                    self.fail(f"{what} 必须是 JSON 对象", "assignment")
                    continue
                for key in ASSIGNMENT_KEYS:
                    if got[key] != expected[key]:
                        self.fail(
                            f"{what} ({entry.team}/{entry.dept}) 的 {key} 不符：记录为 "
                            f"{_show(got[key])}，重放为 {_show(expected[key])}",
                            "assignment",
                        )
        # 4. replacements, in approval order, each substitute
        staffing = A.Staffing.from_entries(entries)
        previous_at = None
        for index, r in enumerate(replacements):
            what = f"replacements[{index}]"
            if not isinstance(r, dict):
                self.fail(f"{what} 必须是 JSON 对象")
                continue
            for key in ("reason", "approved_by"):
                if not isinstance(r[key], str) or not r[key].strip():
                    self.fail(f"{what} 的 {key} 不能为空")
            at = parse_instant(r["at"])
            if at is None:
                self.fail(f"{what} 的 at 必须是带时区偏移的 ISO 8601 时间，记录为 {_show(r['at'])}")
            elif previous_at is not None and at < previous_at:
                self.fail(
                    f"{what} 的 at ({r['at']}) 早于上一次更换：更换须按批准顺序排列 (approval order)"
                )
            previous_at = at or previous_at
            pair = (r["team"], r["dept"])
            try:
                substitute = staffing.replace(pair, r["out"], orders.get(pair, []))
            except (ProtocolError, TypeError) as exc:
                self.fail(f"{what} 不成立：{exc}")
                continue
            if r["in"] != substitute:
                self.fail(
                    f"{what} ({pair[0]}/{pair[1]}) 的 in 不符：记录为 {_show(r['in'])}，应为 {substitute}"
                )
        lead = rec["lead_department"] if isinstance(rec["lead_department"], str) else ""
        expected_teams = staffing.teams(inputs, lead)
        teams = rec["teams"]
        if not isinstance(teams, dict):
            self.fail(f"teams 必须是 JSON 对象，记录为 {_show(teams)}")
            return
        for team in expected_teams:
            if team not in teams:
                self.fail(f"teams 缺少检查组 {team}", "teams")
        for team, got in teams.items():
            expected = expected_teams.get(team)
            if expected is None:
                self.fail(f"teams 多出检查组 {team}", "teams")
            elif not isinstance(got, dict):
                self.fail(f"teams[{team}] 必须是 JSON 对象", "teams")
            else:
                if got["leader"] != expected["leader"]:
                    self.fail(
                        f"teams[{team}] 的组长 leader 不符：记录为 {_show(got['leader'])}，"
                        f"应为 {_show(expected['leader'])}",
                        "teams",
                    )
                if got["members"] != expected["members"]:
                    self.fail(
                        f"teams[{team}] 的 members 不符：记录为 {_show(got['members'])}，"
                        f"应为 {_show(expected['members'])}",
                        "teams",
                    )

    def announcement(self, inputs: A.Inputs, entropy: dict[str, str]) -> None:
        ann, rec, what = self.ann, self.rec, "announcement"
        actual = sha256_hex(self.ann_bytes)
        if rec["announcement_sha256"] != actual:
            self.fail(
                f"announcement_sha256 不符：记录为 {_show(rec['announcement_sha256'])}，公告文件为 {actual}"
            )
        if ann["protocol"] != A.PROTOCOL:
            self.fail(f"公告的 protocol 应为 {A.PROTOCOL}，实为 {_show(ann['protocol'])}")
        if ann["stage"] != "announcement":
            self.fail(f"公告的 stage 应为 announcement，实为 {_show(ann['stage'])}")
        keys = (
            "task", "draw", "run", "lead_department", "departments", "teams_sha256",
            "need_sha256", "eligibility_sha256",
        )  # fmt: skip
        self.same(ann, rec, keys, what, "记录")
        if ann["teams_count"] != len(inputs.teams):
            self.fail(
                f"公告的 teams_count 不符：公告为 {_show(ann['teams_count'])}，teams 文件有 "
                f"{len(inputs.teams)} 个检查组"
            )
        self.is_instant(ann, "announced_at", what)
        self.announced_entropy(ann, entropy, rec["commitments"], what)

    def draw(self, inputs: A.Inputs) -> None:
        release, rec = self.release, self.rec
        if release["protocol"] != D.PROTOCOL or release["stage"] != "release":
            self.fail("--draw 给出的文件不是 ssj-draw/1 的 release")
        if rec["draw_seed"] != release["seed"]:
            self.fail(
                f"draw_seed 与对象抽取的 seed 不符：记录为 {_show(rec['draw_seed'])}，release 为 {_show(release['seed'])}"
            )
        for key in ("task", "draw"):
            if rec[key] != release[key]:
                self.fail(
                    f"{key} 与对象抽取不符：记录为 {_show(rec[key])}，release 为 {_show(release[key])}"
                )
        selected = release["selected"] if isinstance(release["selected"], list) else []
        order = [e["id"] for e in selected if isinstance(e, dict)]
        team_of = {t: team for team, targets in inputs.targets.items() for t in targets}
        for target in order:
            if target not in team_of:
                self.fail(f"对象抽取选中的 {target} 不在 teams 文件中", "draw-teams")
        chosen = set(order)
        for target in sorted(team_of):
            if target not in chosen:
                self.fail(f"teams 文件中的 {target} 不是对象抽取选中的对象", "draw-teams")
        opened: list[str] = []
        for target in order:
            team = team_of.get(target)
            if team is not None and team not in opened:
                opened.append(team)
        for number, team in enumerate(opened, 1):
            expected = A.team_code(number, len(inputs.teams))
            if team != expected:
                self.fail(
                    f"检查组编号不符合对象在公布顺序中首次出现的次序：第 {number} 个出现的检查组是 "
                    f"{team}，应编号为 {expected} (teams numbered in the published order)"
                )
                break


# --- command line --------------------------------------------------------------------------------


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def _run(build: Callable[[], Report], title: str) -> int:
    try:
        report = build()
    except OSError as exc:
        report = Report(
            title, unreadable=[f"无法读取文件 (cannot read) {exc.filename}: {exc.strerror}"]
        )
    sys.stdout.write(report.text())
    return report.exit_code


def main_verify(argv: Sequence[str] | None = None) -> int:
    """``verify RECORD.json POPULATION.tsv EXCLUDED.tsv [--announcement A] [--strata S]``."""
    parser = argparse.ArgumentParser(
        prog="verify",
        description="重新计算 ssj-draw/1 对象抽取并核验 (re-run a published target draw). "
        "退出码 (exit status): 0 通过, 1 不符, 2 无法读取.",
    )
    parser.add_argument("record", help="release（抽取记录）JSON")
    parser.add_argument("population", help="population 文件 (TSV)")
    parser.add_argument("excluded", help="excluded 文件 (TSV)")
    parser.add_argument("--announcement", help="公告 (announcement) JSON")
    parser.add_argument("--strata", help="分层文件 (strata file)，仅限任务部门和审计人员")
    args = parser.parse_args(argv)
    return _run(
        lambda: verify(
            _read(args.record),
            _read(args.population),
            _read(args.excluded),
            _read(args.announcement),
            _read(args.strata),
        ),
        "ssj-draw/1 核验 (verify)",
    )


def main_verify_assign(argv: Sequence[str] | None = None) -> int:
    """``verify-assign RECORD.json TEAMS.tsv NEED.tsv ELIGIBILITY.tsv [--announcement A]
    [--draw RELEASE.json]``."""
    parser = argparse.ArgumentParser(
        prog="verify-assign",
        description="重放 ssj-assign/1 人员抽取并核验 (replay an inspector draw). "
        "退出码 (exit status): 0 通过, 1 不符, 2 无法读取.",
    )
    parser.add_argument("record", help="人员抽取记录 (assignment record) JSON")
    parser.add_argument("teams", help="teams 文件 (TSV)")
    parser.add_argument("need", help="need 文件 (TSV)")
    parser.add_argument("eligibility", help="eligibility 文件 (TSV)")
    parser.add_argument("--announcement", help="人员抽取公告 (announcement) JSON")
    parser.add_argument("--draw", help="对象抽取的 release JSON（请另用 verify 核验）")
    args = parser.parse_args(argv)
    return _run(
        lambda: verify_assign(
            _read(args.record),
            _read(args.teams),
            _read(args.need),
            _read(args.eligibility),
            _read(args.announcement),
            _read(args.draw),
        ),
        "ssj-assign/1 核验 (verify-assign)",
    )
