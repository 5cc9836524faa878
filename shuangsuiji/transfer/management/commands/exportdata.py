"""``shuangsuiji export targets|inspectors|items FILE.xlsx|FILE.csv --department CODE``

Writes the department's current rows under the same headings the import reads, so the file
can be edited and imported back."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shuangsuiji.transfer import services

from ._common import EXIT_REFUSED, add_common_arguments, find_department, find_user


class Command(BaseCommand):
    help = (
        "把部门当前的检查对象、执法检查人员或抽查事项导出为 .xlsx 或 .csv（列标题与导入模板相同）"
    )

    def add_arguments(self, parser):
        add_common_arguments(parser)

    def handle(self, *args, kind, file, department, jurisdiction, user, **options):
        path = Path(file)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("xlsx", "csv"):
            raise CommandError("文件名应以 .xlsx 或 .csv 结尾", returncode=EXIT_REFUSED)
        dept = find_department(department, jurisdiction)
        actor = find_user(user)
        rows = services.export_rows(user=actor, kind=kind, department=dept, params={})
        tmp = path.with_name(path.name + ".part")
        try:
            count = services.write_export(tmp, kind, rows, fmt=fmt)
            tmp.replace(path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.stdout.write(self.style.SUCCESS(f"已导出 {count:,} 行到 {path}"))
