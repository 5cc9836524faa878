"""``python -m shuangsuiji.protocol verify …`` / ``… verify-assign …`` (no Django needed)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .verify import main_verify, main_verify_assign

COMMANDS = {"verify": main_verify, "verify-assign": main_verify_assign}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(
            "用法 (usage): python -m shuangsuiji.protocol verify RECORD.json POPULATION.tsv "
            "EXCLUDED.tsv [--announcement A.json] [--strata STRATA.tsv]\n"
            "             python -m shuangsuiji.protocol verify-assign RECORD.json TEAMS.tsv "
            "NEED.tsv ELIGIBILITY.tsv [--announcement A.json] [--draw RELEASE.json]\n"
        )
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
