"""The ``shuangsuiji`` console command: Django management commands with the database made ready.

``shuangsuiji demo``, ``serve``, ``import``, ``export``, ``departments``, ``worker`` … and every
Django command (``shuangsuiji createsuperuser``). Commands that touch data migrate first, so a new
database (SQLite file or empty PostgreSQL) needs no separate set-up step.
"""

import os
import sys

# ``import`` is a Python keyword, so those commands live under other module names.
ALIASES = {"import": "importdata", "export": "exportdata", "verify-assign": "verify_assign"}
NO_MIGRATE = {
    "help",
    "--help",
    "-h",
    "version",
    "--version",
    "makemigrations",
    "check",
    "test",
    "shell",
    # Re-running a published draw must work anywhere, with no database at all.
    "verify",
    "verify_assign",
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django
    from django.core.management import call_command, execute_from_command_line

    django.setup()
    if argv:
        argv[0] = ALIASES.get(argv[0], argv[0])
    if argv and argv[0] not in NO_MIGRATE and not argv[0].startswith("-"):
        call_command("migrate", interactive=False, verbosity=0)
    execute_from_command_line(["shuangsuiji", *argv])


if __name__ == "__main__":
    main()
