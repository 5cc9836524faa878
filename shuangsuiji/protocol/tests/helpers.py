"""Build complete published documents from the test vectors, to verify and to tamper with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import verify as V

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
LEAD = "SCJGJ"


def draw_vectors() -> list[dict]:
    return json.loads((VECTORS / "draw-vectors.json").read_text(encoding="utf-8"))


def assign_vectors() -> list[dict]:
    return json.loads((VECTORS / "assign-vectors.json").read_text(encoding="utf-8"))


def draw_vector(name: str) -> dict:
    return next(v for v in draw_vectors() if v["name"] == name)


def allocation_of(vector_input: dict) -> D.Allocation:
    params = vector_input["params"]
    if vector_input["mode"] == "ratio":
        return D.Allocation.ratio(params)
    return D.Allocation.count(params["K"], params.get("weights"))


def freeze_vector(vector: dict) -> D.Frozen:
    i = vector["input"]
    return D.freeze(
        task=i["task"],
        draw=i["draw"],
        population=[tuple(r) for r in i["population"]],
        excluded=[tuple(r) for r in i["excluded"]],
        allocation=allocation_of(i),
        sealed=i.get("strata_mode") == "sealed",
        salt=i.get("strata_salt"),
    )


@dataclass
class DrawCase:
    """A draw built from a vector: the two documents as dicts, and all the published bytes."""

    frozen: D.Frozen
    result: D.Result
    announcement: dict
    release: dict
    population: bytes
    excluded: bytes
    strata: bytes | None
    extra: dict = field(default_factory=dict)

    @property
    def announcement_bytes(self) -> bytes:
        return D.dumps(self.announcement)

    @property
    def release_bytes(self) -> bytes:
        return D.dumps(self.release)

    def reseal(self) -> None:
        """After editing the announcement, point the release at its new bytes."""
        self.release["announcement_sha256"] = D.sha256_hex(self.announcement_bytes)

    def verify(
        self, *, release=None, population=None, excluded=None, announcement=True, strata=True
    ) -> V.Report:
        """Verify the case; each input may be replaced by bytes (True: the case's own, False:
        left out)."""
        return V.verify(
            self.release_bytes if release is None else release,
            self.population if population is None else population,
            self.excluded if excluded is None else excluded,
            _pick(announcement, self.announcement_bytes),
            _pick(strata, self.strata),
        )


def _pick(choice, own: bytes | None) -> bytes | None:
    if choice is True:
        return own
    return None if choice is False else choice


def build_draw(vector: dict, *, release: str | None = None) -> DrawCase:
    i = vector["input"]
    frozen = freeze_vector(vector)
    result = D.perform(frozen, i["entropy"])
    departments = sorted({LEAD} | {n[6:] for n in i["entropy"] if n.startswith("party.")})
    entropy = {
        n: (None if D.entropy_kind(n) == "beacon" else D.commitment(v))
        for n, v in i["entropy"].items()
    }
    has_party = any(D.entropy_kind(n) == "party" for n in entropy)
    if release is None:
        release = "after-inspection" if frozen.sealed else "immediate"
    announcement = D.announcement(
        frozen,
        task_name="2027年食品安全双随机抽查",
        announced_at="2027-03-01T09:00:00+08:00",
        lead_department=LEAD,
        departments=departments,
        entropy=entropy,
        reveals_due="2027-03-01T12:00:00+08:00" if has_party else None,
        release=release,
    )
    names = {row[0]: f"测试企业{row[0][-4:]}" for row in i["population"]}
    document = D.release(
        result,
        task_name="2027年食品安全双随机抽查",
        drawn_at="2027-03-02T10:00:00+08:00",
        lead_department=LEAD,
        departments=departments,
        announcement_sha256=D.sha256_hex(D.dumps(announcement)),
        names=names,
    )
    return DrawCase(
        frozen=frozen,
        result=result,
        announcement=announcement,
        release=document,
        population=frozen.population_bytes,
        excluded=frozen.excluded_bytes,
        strata=frozen.strata_bytes,
    )


@dataclass
class AssignCase:
    inputs: A.Inputs
    assignment: A.Assignment
    announcement: dict
    record: dict
    draw_release: dict

    @property
    def announcement_bytes(self) -> bytes:
        return D.dumps(self.announcement)

    @property
    def record_bytes(self) -> bytes:
        return D.dumps(self.record)

    def reseal(self) -> None:
        self.record["announcement_sha256"] = D.sha256_hex(self.announcement_bytes)

    def verify(
        self, *, record=None, teams=None, need=None, eligibility=None, announcement=True, draw=True
    ) -> V.Report:
        return V.verify_assign(
            self.record_bytes if record is None else record,
            self.inputs.teams_bytes if teams is None else teams,
            self.inputs.need_bytes if need is None else need,
            self.inputs.eligibility_bytes if eligibility is None else eligibility,
            _pick(announcement, self.announcement_bytes),
            _pick(draw, D.dumps(self.draw_release)),
        )


def build_assign(vector: dict | None = None) -> AssignCase:
    vector = vector or assign_vectors()[0]
    i = vector["input"]
    departments = sorted({d for _, d, _ in i["need"]})
    inputs = A.parse_files(
        A.teams_file(map(tuple, i["teams"])),
        A.need_file(map(tuple, i["need"])),
        A.eligibility_file(map(tuple, i["eligibility"])),
        departments,
    )
    entropy = {
        n: (None if D.entropy_kind(n) == "beacon" else D.commitment(v))
        for n, v in i["entropy"].items()
    }
    has_party = any(D.entropy_kind(n) == "party" for n in entropy)
    announcement = A.announcement(
        inputs,
        task=i["task"],
        draw=i["draw"],
        run_number=i["run"],
        lead_department=i["lead_department"],
        announced_at="2027-03-01T16:00:00+08:00",
        entropy=entropy,
        reveals_due="2027-03-01T18:00:00+08:00" if has_party else None,
    )
    assignment = A.perform(
        inputs,
        task=i["task"],
        draw=i["draw"],
        run_number=i["run"],
        lead_department=i["lead_department"],
        draw_seed=i["draw_seed"],
        entropy=i["entropy"],
        replacement_requests=i["replacement_requests"],
    )
    record = A.record(assignment, announcement_sha256=D.sha256_hex(D.dumps(announcement)))
    # The vector has no target draw; a minimal release whose published order opens the teams in
    # order, to exercise check 6.
    draw_release = {
        "protocol": D.PROTOCOL,
        "stage": "release",
        "task": i["task"],
        "draw": i["draw"],
        "seed": i["draw_seed"],
        "selected": [{"id": target} for _, target in sorted(i["teams"])],
    }
    return AssignCase(inputs, assignment, announcement, record, draw_release)


def problems_text(report: V.Report) -> str:
    return "\n".join(report.problems + report.unreadable)
