"""Benchmark: the inspector draw (ssj-assign/1) for 30,000 teams × 5 departments, 5,000 inspectors.

    .venv/bin/python bench/assign_inspectors.py                  # 9 regions: ~111 eligible/pair
    .venv/bin/python bench/assign_inspectors.py --regions 50     # ~20 eligible per pair
    .venv/bin/python bench/assign_inspectors.py --no-parsed      # the draw parses the files again

A target draw's 30,000 selected targets, one per team (§2.1), each in one of ``--regions``
regions; 5 departments with 1,000 inspectors each, every inspector competent for one region.
A pair (team, department) is eligible for the department's inspectors of the team's region, less
about 1% recused at random (declared conflicts). Need per team: 2 from the lead department
(SCJGJ), 1 from each of the other four. The eligibility file therefore has about
30,000 × 5 × 1,000 / regions lines: the size of that file is what the time depends on.

Timed, as the platform does it in two steps (the synthetic data is made first, untimed; no
database is read or written):

- **freeze** (services.freeze, in this process): **rules** = staffing.eligibility.compute on the
  inspectors and declared conflicts; **files** = the three canonical files (teams_file, need_file,
  eligibility_bytes); **check** = protocol.assign.parse_files (every §2.1 check);
  **write** = services.write_files (the files and the sealed parse beside them).
- **draw** (services._perform_locked without its database writes, in a fresh process as the
  background job is): **read** = services.read_inputs (the files, their hashes, the sealed parse
  or with ``--no-parsed`` a full parse and check); **perform** = protocol.assign.perform (the
  statement, the seed, the run of §2.3); **record** = the record and the release entry as JSON.
  Not timed: the job's database writes (teams, members, the record) and audit.

The files are made from the per-pair code lists with the same random numbers as earlier versions
of this bench (codes ``GAJ-0001``), so ``assignment_sha256`` (the SHA-256 of the entries as JSON)
compares versions of the code; the rules give the same lists under the platform's codes (checked,
untimed). Printed: seconds per phase and step (wall and CPU), peak RSS of each step, the hashes.
Target (ARCHITECTURE.md): < 10 s.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEPARTMENTS = ["GAJ", "HBJ", "SCJGJ", "WJW", "YJJ"]
LEAD = "SCJGJ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=30_000)
    parser.add_argument("--inspectors", type=int, default=5_000, help="over all 5 departments")
    parser.add_argument("--regions", type=int, default=9)
    parser.add_argument(
        "--no-parsed",
        dest="parsed",
        action="store_false",
        help="the draw parses the files again (as for a run frozen without the parsed copy)",
    )
    parser.add_argument("--draw", metavar="FOLDER", help=argparse.SUPPRESS)  # the draw step
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()  # services (the files' MAC uses the site's key); no database is used
    if args.draw:
        print(json.dumps(draw(Path(args.draw))))
        return
    from shuangsuiji.directory.identifiers import make_uscc
    from shuangsuiji.protocol import assign as A
    from shuangsuiji.staffing import eligibility as E
    from shuangsuiji.staffing import services as S

    rnd = random.Random(20261126)
    per_dept = args.inspectors // len(DEPARTMENTS)
    # The draw's published order: 30,000 targets, each with its region.
    targets = [
        make_uscc("9", "1", "652801", f"{(i * 7919) % 10**8:08d}") for i in range(args.teams)
    ]
    rnd.shuffle(targets)
    region = {t: i % args.regions for i, t in enumerate(targets)}
    inspectors = {
        d: [(f"{d}-{n:04d}", n % args.regions) for n in range(per_dept)] for d in DEPARTMENTS
    }
    by_region = {
        (d, r): [c for c, g in inspectors[d] if g == r] for d in DEPARTMENTS
        for r in range(args.regions)
    }  # fmt: skip
    # The same people for the rules: pk k·1000+n for GAJ-n of the k-th department, competent
    # for region code 65xxxx (6 digits: a county's, covering itself).
    pk = {
        c: k * 1000 + n for k, d in enumerate(DEPARTMENTS) for n, (c, _) in enumerate(inspectors[d])
    }
    people = {
        d: [_person(E, pk[c], d, f"65{g + 1:04d}") for c, g in inspectors[d]] for d in DEPARTMENTS
    }
    recused: dict[str, set[int]] = {}

    # The eligible codes per pair, as staffing.eligibility.compute gives them: sorted lists
    # (shared per region and department when nobody is recused).
    pairs = A.form_teams(targets)
    team_of = {t: team for team, t in pairs}
    eligible = {}
    for target in targets:
        team = team_of[target]
        for d in DEPARTMENTS:
            # ~1% recused (the same random numbers, in the same order, as before)
            eligible[(team, d)] = codes = []
            for c in by_region[(d, region[target])]:
                if rnd.random() >= 0.01:
                    codes.append(c)
                else:
                    recused.setdefault(target, set()).add(pk[c])
    rules = {
        "teams": {team: [t] for team, t in pairs},
        "target_region": {t: f"65{r + 1:04d}" for t, r in region.items()},
        "people": people,
        "home_region": dict.fromkeys(DEPARTMENTS, "650000"),
        "start": datetime.date(2027, 6, 1),
        "end": datetime.date(2027, 6, 30),
        "specialities": [],
        "experts": [],
        "recused": recused,
        "rotation": {},
    }
    data_dir = Path(os.environ.get("SHUANGSUIJI_DATA") or tempfile.gettempdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="assign-bench-", dir=data_dir))  # the run's folder
    try:
        result = freeze(args, pairs, eligible, rules, folder)
        if not args.parsed:
            (folder / S.PARSED).unlink()
        # The draw in a fresh process, as the background job runs it: its own memory and CPU.
        command = [sys.executable, __file__, "--draw", str(folder)]
        result |= json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    finally:
        shutil.rmtree(folder)
    if result.pop("read_hashes") != result.pop("hashes"):
        raise SystemExit("the draw read other files than the freeze wrote")
    result |= {
        "departments": len(DEPARTMENTS),
        "inspectors": per_dept * len(DEPARTMENTS),
        "regions": args.regions,
        "parsed_copy": args.parsed,
        "total_s": round(result["freeze_s"] + result["draw_s"], 2),
        "total_cpu_s": round(result["freeze_cpu_s"] + result["draw_cpu_s"], 2),
        "loadavg": os.getloadavg()[0],
    }
    r = result

    def phases(names) -> str:
        return ", ".join(f"{n} {r[n + '_s']:.2f} ({r[n + '_cpu_s']:.2f})" for n in names)

    print(
        f"{r['teams']:,} teams × {r['departments']} departments, {r['inspectors']:,} inspectors "
        f"in {args.regions} regions, {r['eligibility_lines']:,} eligibility lines "
        f"({r['eligibility_mb']} MB), {r['members']:,} members, {r['shortfalls']} shortfalls"
        + ("" if args.parsed else "; the draw parses the files again (--no-parsed)")
        + "; seconds wall (CPU):\n"
        f"  freeze {r['freeze_s']:.2f} ({r['freeze_cpu_s']:.2f}): {phases(FREEZE)}; "
        f"peak RSS {r['freeze_peak_rss_mb']:,} MB\n"
        f"  draw {r['draw_s']:.2f} ({r['draw_cpu_s']:.2f}): {phases(DRAW)}; "
        f"peak RSS {r['draw_peak_rss_mb']:,} MB\n"
        f"  total {r['total_s']:.2f} ({r['total_cpu_s']:.2f}); load average {r['loadavg']:.1f}",
        flush=True,
    )
    print(json.dumps(result))


FREEZE = ("rules", "files", "check", "write")
DRAW = ("read", "perform", "record")


def _person(E, pk: int, dept: str, region: str):
    return E.Person(pk=pk, department=dept, kind="inspector", active=True, available=True,
                    certificate_no=f"C{pk}", valid_from=None, valid_to=datetime.date(2030, 1, 1),
                    regions=[region], specialities=[])  # fmt: skip


class Timer:
    """Wall and CPU seconds per phase (the machine is shared: wall time includes waiting)."""

    def __init__(self) -> None:
        self.result: dict = {}
        self.start()

    def start(self) -> None:
        self.at = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.result[f"{name}_s"] = round(now[0] - self.at[0], 2)
        self.result[f"{name}_cpu_s"] = round(now[1] - self.at[1], 2)
        self.at = now

    def step(self, name: str, phases: tuple[str, ...]) -> dict:
        for kind in ("s", "cpu_s"):
            self.result[f"{name}_{kind}"] = round(
                sum(self.result[f"{p}_{kind}"] for p in phases), 2
            )
        self.result[f"{name}_peak_rss_mb"] = peak_rss_mb()
        return self.result


def peak_rss_mb() -> int:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not carried over from the parent)."""
    status = Path("/proc/self/status")
    if status.exists():
        kb = next(
            line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM:")
        )
        return round(int(kb) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def freeze(args, pairs, eligible: dict, rules: dict, folder: Path) -> dict:
    """services.freeze after reading the database: rules, files, check, write."""
    from shuangsuiji.protocol import assign as A
    from shuangsuiji.staffing import eligibility as E
    from shuangsuiji.staffing import services as S

    timer = Timer()
    computed = E.compute(**rules)
    timer.lap("rules")
    # Untimed: the rules give this bench's lists, under the platform's codes.
    code = {f"{d}-{k * 1000 + n}": f"{d}-{n:04d}" for k, d in enumerate(DEPARTMENTS)
            for n in range(args.inspectors // len(DEPARTMENTS))}  # fmt: skip
    for pair, codes in computed.eligible.items():
        if sorted(map(code.__getitem__, codes)) != eligible[pair]:
            raise SystemExit(f"the rules give other inspectors for {pair}")
    del computed, code
    timer.start()
    need_rows = [
        (team, d, 2 if d == LEAD else 1) for team, _ in pairs for d in DEPARTMENTS
    ]  # fmt: skip
    files = {
        "teams.tsv": A.teams_file(pairs),
        "need.tsv": A.need_file(need_rows),
        "eligibility.tsv": E.eligibility_bytes(eligible),
    }
    eligible.clear()
    timer.lap("files")
    inputs = A.parse_files(*(files[n] for n in S.FILES), DEPARTMENTS)
    timer.lap("check")
    S.write_files(folder, files, inputs)
    timer.lap("write")
    return timer.step("freeze", FREEZE) | {
        "eligibility_lines": files["eligibility.tsv"].count(b"\n"),
        "eligibility_mb": round(len(files["eligibility.tsv"]) / 2**20),
        "hashes": [inputs.teams_sha256, inputs.need_sha256, inputs.eligibility_sha256],
    }


def draw(folder: Path) -> dict:
    """services._perform_locked without its database writes: read the files, perform, record."""
    from shuangsuiji.protocol import assign as A
    from shuangsuiji.protocol import draw as D
    from shuangsuiji.staffing import services as S

    timer = Timer()
    inputs = S.read_inputs(folder, DEPARTMENTS)
    timer.lap("read")
    assignment = A.perform(
        inputs,
        task="2027-XJ-BENCH",
        draw=1,
        run_number=1,
        lead_department=LEAD,
        draw_seed="ab" * 32,
        entropy={"beacon.fc3d.2027061": "482", "party.SCJGJ": "7a" * 32},
    )
    timer.lap("perform")
    # The record and the release entry, as _perform_locked makes them (_record_bytes, _publish)
    doc = A.record(assignment, announcement_sha256=D.sha256_hex(b"announcement"))
    D.dumps(A.release_entry(doc, D.dumps(doc)))
    timer.lap("record")
    result = timer.step("draw", DRAW)
    entries = [e.as_dict() for e in assignment.entries]
    return result | {
        "read_hashes": [inputs.teams_sha256, inputs.need_sha256, inputs.eligibility_sha256],
        "teams": len(inputs.teams),
        "pairs": len(entries),
        "members": sum(len(e["members"]) for e in entries),
        "shortfalls": len(assignment.shortfalls),
        "eligibility_sha256": inputs.eligibility_sha256,
        "assignment_sha256": hashlib.sha256(json.dumps(entries).encode()).hexdigest(),
    }


if __name__ == "__main__":
    main()
