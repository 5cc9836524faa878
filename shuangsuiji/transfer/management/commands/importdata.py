"""``shuangsuiji import targets|inspectors|items FILE --department CODE [--dry-run] [--valid-only]``

The same preview and apply as the web page (transfer.services): the file is validated, compared
with the department's data, the per-row error report is written next to FILE as
``FILE.errors.xlsx`` and summarised here, then (unless --dry-run) applied in one transaction.

Exit status: 0 rows were applied (with --dry-run: would be); 1 rows are invalid and nothing was
applied; 2 the file was refused (headings, formulas, not a spreadsheet …) or a bad argument.
"""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shuangsuiji.transfer import services
from shuangsuiji.transfer.models import ImportBatch

from ._common import (
    EXIT_INVALID,
    EXIT_REFUSED,
    ConsoleProgress,
    add_common_arguments,
    find_department,
    find_user,
)

Status = ImportBatch.Status
SHOW_ERRORS = 20


class Command(BaseCommand):
    help = "从 .xlsx 或 .csv 文件导入检查对象、执法检查人员或抽查事项（先校验，再在一个事务中写入）"

    def add_arguments(self, parser):
        add_common_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="只校验并生成错误报告，不写入")
        parser.add_argument(
            "--valid-only", action="store_true", help="有无效行时仍导入其余有效行（默认全部或全不）"
        )

    def handle(
        self, *args, kind, file, department, jurisdiction, user, dry_run, valid_only, **options
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}", returncode=EXIT_REFUSED)
        dept = find_department(department, jurisdiction)
        actor = find_user(user)
        report_copy = path.with_name(path.name + ".errors.xlsx")
        try:
            batch = services.create_batch(
                user=actor, department=dept, kind=kind, filename=path.name, fileobj_or_path=path
            )
        except services.TransferError as exc:
            raise CommandError(exc.message, returncode=EXIT_REFUSED) from None
        self.stdout.write(
            f"导入批次 #{batch.pk}：{batch.get_kind_display()} → {dept.name}（{dept.code}）"
        )

        bar = ConsoleProgress("校验", self.stderr._out)
        batch = services.preview_batch(batch, report=bar)
        bar.done()
        if batch.status == Status.REJECTED:
            self._copy_report(batch, report_copy)
            raise CommandError(
                f"文件被拒绝，未导入任何数据：{batch.message}", returncode=EXIT_REFUSED
            )
        self._summary(batch, "校验结果")
        self._errors(batch, report_copy)

        would_apply = batch.valid > 0 and (batch.invalid == 0 or valid_only)
        if dry_run:
            if batch.invalid and not valid_only:
                raise CommandError(
                    f"有 {batch.invalid:,} 行无效：按“全部或全不”的规则不会导入（--valid-only 可只导入有效行）",
                    returncode=EXIT_INVALID,
                )
            if not would_apply:
                raise CommandError("没有可以导入的有效行", returncode=EXIT_INVALID)
            self.stdout.write(self.style.SUCCESS("试运行（--dry-run）：校验通过，未写入任何数据"))
            return
        if not would_apply:
            if batch.invalid and not valid_only:
                raise CommandError(
                    f"有 {batch.invalid:,} 行无效，未导入任何数据（全部或全不）。修改后重新导入，或用 --valid-only 只导入有效行",
                    returncode=EXIT_INVALID,
                )
            raise CommandError("没有可以导入的有效行，未导入任何数据", returncode=EXIT_INVALID)

        bar = ConsoleProgress("导入", self.stderr._out)
        try:
            batch = services.apply_batch(batch, user=actor, valid_only=valid_only, report=bar)
        except services.TransferError as exc:
            raise CommandError(exc.message, returncode=EXIT_INVALID) from None
        finally:
            bar.done()
        if batch.status == Status.REJECTED:
            raise CommandError(
                f"文件被拒绝，未导入任何数据：{batch.message}", returncode=EXIT_REFUSED
            )
        if batch.status != Status.APPLIED:
            self._errors(batch, report_copy)
            raise CommandError(batch.message or "未导入任何数据", returncode=EXIT_INVALID)
        self._copy_report(batch, report_copy)
        self._summary(batch, "导入完成")
        self.stdout.write(self.style.SUCCESS(batch.message))

    def _summary(self, batch, title):
        self.stdout.write(
            f"{title}（{batch.sheet_name and '工作表“' + batch.sheet_name + '”' or 'CSV'}）：共 {batch.total:,} 行 · "
            f"新增 {batch.new:,} · 修改 {batch.changed:,} · 未变 {batch.unchanged:,} · "
            f"出库 {batch.removed:,} · 无效 {batch.invalid:,}"
        )

    def _copy_report(self, batch, report_copy: Path) -> bool:
        if batch.report_file and batch.report_file.exists():
            shutil.copyfile(batch.report_file, report_copy)
            return True
        if report_copy.exists():  # a report of an earlier run of the same file would mislead
            report_copy.unlink()
        return False

    def _errors(self, batch, report_copy: Path) -> None:
        if not self._copy_report(batch, report_copy):
            return
        self.stdout.write(f"错误报告（共 {batch.error_count:,} 条）：{report_copy}")
        for error in batch.sample_errors[:SHOW_ERRORS]:
            value = f"“{error['value']}”" if error.get("value") else "（空）"
            self.stdout.write(
                f"  第 {error['row']} 行 · {error['column']} · {value}：{error['message']}"
            )
        if batch.error_count > SHOW_ERRORS:
            self.stdout.write(f"  …… 其余 {batch.error_count - SHOW_ERRORS:,} 条见错误报告")
