"""Management commands that hand their arguments to a protocol ``main_*`` function untouched.

The protocol's verifier owns the command line (its argparse, its help, its exit status 0/1/2);
Django's own options are not added, and nothing here needs a database, so ``shuangsuiji verify``
runs on a machine with no database at all (cli.NO_MIGRATE skips the migrate).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from django.core.management.base import BaseCommand, CommandError


class PassThroughCommand(BaseCommand):
    requires_system_checks: list = []
    requires_migrations_checks = False
    main: Callable[[Sequence[str]], int]

    def run_from_argv(self, argv: list[str]) -> None:
        # argv is ["shuangsuiji", "<command>", ...]: exit with the verifier's own status.
        sys.stdout.flush()
        sys.exit(type(self).main(argv[2:]))

    def add_arguments(self, parser) -> None:
        parser.add_argument("argv", nargs="*", help="见 --help")

    def handle(self, *args, **options) -> None:
        # call_command(...) path: same behaviour, the status as CommandError's returncode.
        code = type(self).main([*args, *options.get("argv", [])])
        if code:
            raise CommandError(f"核验未通过（退出码 {code}）", returncode=code)
