"""Benchmark: the inspector draw (ssj-assign/1) for 30,000 teams × 5 departments, 5,000 inspectors.

    .venv/bin/python bench/assign_inspectors.py                  # 9 regions: ~111 eligible/pair
    .venv/bin/python bench/assign_inspectors.py --regions 50     # ~20 eligible per pair

A target draw's 30,000 selected targets, one per team (§2.1), each in one of ``--regions``
regions; 5 departments with 1,000 inspectors each, every inspector competent for one region.
A pair (team, department) is eligible for the department's inspectors of the team's region, less
about 1% recused at random (declared conflicts). Need per team: 2 from the lead department
(SCJGJ), 1 from each of the other four. The eligibility file therefore has about
30,000 × 5 × 1,000 / regions lines: the size of that file is what the time depends on.

Timed, in this process (the synthetic data itself is made first, untimed): **files** = building
the three canonical files as the staffing freeze does: protocol.assign.teams_file / need_file
(sorting lines) and staffing.eligibility.eligibility_bytes (the per-pair sorted code lists
written by block, already in byte order); **parse** =
protocol.assign.parse_files (every §2.1 check, as the platform and verify-assign do);
**perform** = protocol.assign.perform (the statement, the seed, the run of §2.3 with its
lowest-load-level shortcut). Printed: seconds per phase (wall and CPU), peak RSS, and the
SHA-256 of the assignment (its entries as JSON) so two versions of the code can be compared on
the same data. Target (ARCHITECTURE.md): < 10 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sys
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
    args = parser.parse_args()

    from shuangsuiji.directory.identifiers import make_uscc
    from shuangsuiji.protocol import assign as A
    from shuangsuiji.staffing import eligibility as E

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
    entropy = {"beacon.fc3d.2027061": "482", "party.SCJGJ": "7a" * 32}

    # The eligible codes per pair, as staffing.eligibility.compute gives them: sorted lists
    # (shared per region and department when nobody is recused).
    pairs = A.form_teams(targets)
    team_of = {t: team for team, t in pairs}
    eligible = {}
    for target in targets:
        team = team_of[target]
        for d in DEPARTMENTS:
            # ~1% recused (the same random numbers, in the same order, as before)
            eligible[(team, d)] = [
                c for c in by_region[(d, region[target])] if rnd.random() >= 0.01
            ]  # fmt: skip
    c0 = time.process_time()
    t0 = time.perf_counter()
    need_rows = [
        (team, d, 2 if d == LEAD else 1) for team, _ in pairs for d in DEPARTMENTS
    ]  # fmt: skip
    teams_bytes = A.teams_file(pairs)
    need_bytes = A.need_file(need_rows)
    eligibility_bytes = E.eligibility_bytes(eligible)
    del eligible
    t1, c1 = time.perf_counter(), time.process_time()
    inputs = A.parse_files(teams_bytes, need_bytes, eligibility_bytes, DEPARTMENTS)
    t2, c2 = time.perf_counter(), time.process_time()
    assignment = A.perform(
        inputs,
        task="2027-XJ-BENCH",
        draw=1,
        run_number=1,
        lead_department=LEAD,
        draw_seed="ab" * 32,
        entropy=entropy,
    )
    t3, c3 = time.perf_counter(), time.process_time()
    members = sum(len(e.members) for e in assignment.entries)
    digest = hashlib.sha256(
        json.dumps([e.as_dict() for e in assignment.entries]).encode()
    ).hexdigest()
    result = {
        "teams": len(inputs.teams),
        "departments": len(DEPARTMENTS),
        "inspectors": per_dept * len(DEPARTMENTS),
        "regions": args.regions,
        "eligibility_lines": eligibility_bytes.count(b"\n"),
        "eligibility_mb": round(len(eligibility_bytes) / 2**20),
        "pairs": len(assignment.entries),
        "members": members,
        "shortfalls": len(assignment.shortfalls),
        "files_s": round(t1 - t0, 2),
        "parse_s": round(t2 - t1, 2),
        "perform_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        # CPU seconds (the machine is shared: wall time includes waiting for a core)
        "files_cpu_s": round(c1 - c0, 2),
        "parse_cpu_s": round(c2 - c1, 2),
        "perform_cpu_s": round(c3 - c2, 2),
        "cpu_s": round(c3 - c0, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "loadavg": os.getloadavg()[0],
        "eligibility_sha256": inputs.eligibility_sha256,
        "assignment_sha256": digest,
    }
    print(
        f"{result['teams']:,} teams × {result['departments']} departments, "
        f"{result['inspectors']:,} inspectors in {args.regions} regions, "
        f"{result['eligibility_lines']:,} eligibility lines ({result['eligibility_mb']} MB), "
        f"{members:,} members, {result['shortfalls']} shortfalls: files {result['files_s']:.2f} s, "
        f"parse {result['parse_s']:.2f} s, perform {result['perform_s']:.2f} s, total "
        f"{result['total_s']:.2f} s (CPU: files {result['files_cpu_s']:.2f} s, parse "
        f"{result['parse_cpu_s']:.2f} s, perform {result['perform_cpu_s']:.2f} s, total "
        f"{result['cpu_s']:.2f} s); peak RSS {result['peak_rss_mb']:,} MB; load average "
        f"{result['loadavg']:.1f}",
        flush=True,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
