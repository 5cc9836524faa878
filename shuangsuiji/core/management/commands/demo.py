from django.core.management.base import BaseCommand, CommandError

from shuangsuiji.core.demo.loader import DEMO_PASSWORD, load_demo

KIND_LABELS = {
    "company": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "social": "社会组织",
    "institution": "事业单位",
    "other_org": "其他组织",
    "non_market": "非市场主体",
}


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


class Command(BaseCommand):
    help = "载入演示辖区（巴音郭楞蒙古自治州）：成员单位、抽查事项清单、检查对象、执法检查人员和演示账号。可重复运行。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--targets",
            type=int,
            default=100_000,
            help="检查对象数量（默认 100000）",
        )

    def handle(self, *args, targets: int, **options):
        if targets < 20:
            raise CommandError("--targets 至少为 20（每类检查对象至少一个）")
        verbose = options.get("verbosity", 1) >= 1
        s = load_demo(
            targets=targets, progress=(lambda m: self.stdout.write(m)) if verbose else None
        )
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS(f"演示辖区已就绪：{s.jurisdiction}，{s.counties} 个县级行政区"))
        years = s.calendar_years
        if years:
            w(f"  节假日安排 (calendar)     {years[0]}–{years[-1]} 年")
        w(f"  成员单位 (departments)    {s.departments}（本次新增 {s.departments_created}）")
        by_class = "，".join(f"{k} 类 {v}" for k, v in sorted(s.items_by_class.items()))
        w(
            f"  抽查事项 (items)          {s.item_lists} 份清单，{s.items} 项（{by_class}；本次新增 {s.items_created}）"
        )
        w(f"  检查对象 (targets)        {s.targets}（本次新增 {s.targets_created}）")
        for kind, label in KIND_LABELS.items():
            if s.targets_by_kind.get(kind):
                w(f"    {_pad(label, 22)}{kind:<12}{s.targets_by_kind[kind]:>8}")
        w(f"  名录库条目 (entries)      {s.entries}（本次新增 {s.entries_created}）")
        w(
            f"  执法检查人员 (inspectors) {s.inspectors}，专家 (experts) {s.experts}（本次新增 {s.inspectors_created}）"
        )
        for task in s.tasks:
            w(f"  抽查任务 (task)           {task}")
        w(f"  用时 {s.seconds:.1f} 秒")
        w("")
        w(f"演示账号（新建账号的密码均为 {DEMO_PASSWORD}）：")
        header = f"  {_pad('用户名 username', 18)}{_pad('角色 role', 28)}{_pad('部门 dept', 12)}姓名 name"
        w(header)
        for login in s.logins:
            note = "" if login.created else "（已存在，未修改密码）"
            w(
                f"  {_pad(login.username, 18)}{_pad(login.role, 28)}"
                f"{_pad(login.department or '—', 12)}{login.full_name}{note}"
            )
