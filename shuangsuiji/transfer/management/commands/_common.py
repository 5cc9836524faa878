"""Shared by ``shuangsuiji import`` and ``shuangsuiji export``: finding the department and the
acting user, and a console progress bar."""

import sys
import time

from django.core.management.base import CommandError

from shuangsuiji.core.models import Department, User
from shuangsuiji.transfer import services

KINDS = ("targets", "inspectors", "items")
# Exit status: 0 applied (or would be, with --dry-run); 1 invalid rows, nothing applied;
# 2 the file or the command line was refused.
EXIT_INVALID = 1
EXIT_REFUSED = 2


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "kind",
        choices=KINDS,
        help="targets（检查对象）、inspectors（执法检查人员）或 items（抽查事项）",
    )
    parser.add_argument("file", help="文件路径（.xlsx 或 .csv）")
    parser.add_argument(
        "--department", required=True, help="部门代码，如 SCJGJ（shuangsuiji departments 列出全部）"
    )
    parser.add_argument(
        "--jurisdiction", default="", help="行政区划代码（多个辖区有同一部门代码时指定）"
    )
    parser.add_argument("--user", default="", help="以该用户名义操作（默认：系统用户）")


def find_department(code: str, jurisdiction: str = "") -> Department:
    qs = Department.objects.select_related("jurisdiction").filter(code=code.strip().upper())
    if jurisdiction:
        qs = qs.filter(jurisdiction__code=jurisdiction)
    found = list(qs[:2])
    if not found:
        raise CommandError(
            f"没有部门代码为“{code}”的部门（shuangsuiji departments 可列出全部部门）",
            returncode=EXIT_REFUSED,
        )
    if len(found) > 1:
        raise CommandError(
            f"多个辖区都有部门代码“{code}”，请用 --jurisdiction 指定行政区划代码",
            returncode=EXIT_REFUSED,
        )
    return found[0]


def find_user(username: str) -> User:
    if not username:
        return services.system_user()
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"没有用户名为“{username}”的用户", returncode=EXIT_REFUSED) from None


class ConsoleProgress:
    """A progress bar on stderr, callable like core.jobs.Reporter."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._start = time.monotonic()
        self._drawn = False

    def __call__(self, progress, total=None, message=None, force=False):
        if total is not None:
            self.total = total
        total = getattr(self, "total", 0) or 0
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        share = min(progress / total, 1.0) if total else 0.0
        filled = int(share * self.width)
        bar = "█" * filled + "░" * (self.width - filled)
        rate = progress / max(now - self._start, 1e-6)
        line = f"{self.label} [{bar}] {share:4.0%} {progress:,}/{total:,} 行  {rate:,.0f} 行/秒"
        if self.tty:
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = True

    def done(self):
        if self._drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()
