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
import shutil
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
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()  # services (the files' MAC uses the site's key); no database is used
    from shuangsuiji.directory.identifiers import make_uscc
    from shuangsuiji.protocol import assign as A

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
    data_dir = Path(os.environ.get("SHUANGSUIJI_DATA") or tempfile.gettempdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="assign-bench-", dir=data_dir))  # the run's folder
    try:
        result = timed(args, pairs, eligible, folder, entropy)
    finally:
        shutil.rmtree(folder)
    print(
        f"{result['teams']:,} teams × {result['departments']} departments, "
        f"{result['inspectors']:,} inspectors in {args.regions} regions, "
        f"{result['eligibility_lines']:,} eligibility lines ({result['eligibility_mb']} MB), "
        f"{result['members']:,} members, {result['shortfalls']} shortfalls"
        + ("" if args.parsed else "; the draw parses the files again (--no-parsed)")
        + ":\n  "
        + "; ".join(
            f"{name} {result[name + '_s']:.2f} s (CPU {result[name + '_cpu_s']:.2f})"
            for name in PHASES
        )
        + f"\n  freeze {result['freeze_s']:.2f} s (CPU {result['freeze_cpu_s']:.2f}), "
        f"**draw {result['draw_s']:.2f} s (CPU {result['draw_cpu_s']:.2f})**, "
        f"total {result['total_s']:.2f} s (CPU {result['cpu_s']:.2f}); "
        f"peak RSS {result['peak_rss_mb']:,} MB; load average {result['loadavg']:.1f}",
        flush=True,
    )
    print(json.dumps(result))


# freeze: files, check, write; draw: read, perform
PHASES = ("files", "check", "write", "read", "perform")


def timed(args, pairs, eligible, folder: Path, entropy: dict) -> dict:
    """The two steps, as the platform's freeze and perform job do them (see the docstring)."""
    from shuangsuiji.protocol import assign as A
    from shuangsuiji.staffing import eligibility as E
    from shuangsuiji.staffing import services as S

    marks = [(time.perf_counter(), time.process_time())]

    def mark() -> None:
        marks.append((time.perf_counter(), time.process_time()))

    # The freeze (services.freeze, after the rules)
    need_rows = [
        (team, d, 2 if d == LEAD else 1) for team, _ in pairs for d in DEPARTMENTS
    ]  # fmt: skip
    files = {
        "teams.tsv": A.teams_file(pairs),
        "need.tsv": A.need_file(need_rows),
        "eligibility.tsv": E.eligibility_bytes(eligible),
    }
    eligible.clear()  # the platform's freeze job ends here: its memory is not the draw's
    mark()
    frozen = A.parse_files(*(files[n] for n in S.FILES), DEPARTMENTS)
    mark()
    S.write_files(folder, files, frozen)
    hashes = (frozen.teams_sha256, frozen.need_sha256, frozen.eligibility_sha256)
    eligibility_size = len(files["eligibility.tsv"])
    eligibility_lines = files["eligibility.tsv"].count(b"\n")
    del files, frozen
    if not args.parsed:
        (folder / S.PARSED).unlink()
    mark()
    # The draw (services._perform_locked → _assignment → _inputs, A.perform); not timed: the
    # database writes after it (teams, 180,000 members)
    inputs = S.read_inputs(folder, DEPARTMENTS)
    if (inputs.teams_sha256, inputs.need_sha256, inputs.eligibility_sha256) != hashes:
        raise SystemExit("the files changed between the steps")
    mark()
    assignment = A.perform(
        inputs,
        task="2027-XJ-BENCH",
        draw=1,
        run_number=1,
        lead_department=LEAD,
        draw_seed="ab" * 32,
        entropy=entropy,
    )
    mark()
    digest = hashlib.sha256(
        json.dumps([e.as_dict() for e in assignment.entries]).encode()
    ).hexdigest()
    result = {
        "teams": len(inputs.teams),
        "departments": len(DEPARTMENTS),
        "inspectors": args.inspectors // len(DEPARTMENTS) * len(DEPARTMENTS),
        "regions": args.regions,
        "eligibility_lines": eligibility_lines,
        "eligibility_mb": round(eligibility_size / 2**20),
        "pairs": len(assignment.entries),
        "members": sum(len(e.members) for e in assignment.entries),
        "shortfalls": len(assignment.shortfalls),
        "parsed_copy": args.parsed,
    }
    for i, name in enumerate(PHASES):
        result[f"{name}_s"] = round(marks[i + 1][0] - marks[i][0], 2)
        result[f"{name}_cpu_s"] = round(marks[i + 1][1] - marks[i][1], 2)
    # CPU seconds too: the machine is shared, wall time includes waiting for a core
    for step, (a, b) in {"freeze": (0, 3), "draw": (3, 5), "total": (0, 5)}.items():
        result[f"{step}_s"] = round(marks[b][0] - marks[a][0], 2)
        result["cpu_s" if step == "total" else f"{step}_cpu_s"] = round(
            marks[b][1] - marks[a][1], 2
        )
    result.update(
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        loadavg=os.getloadavg()[0],
        eligibility_sha256=inputs.eligibility_sha256,
        assignment_sha256=digest,
    )
    return result


if __name__ == "__main__":
    main()
