from django.core.management.base import BaseCommand

from shuangsuiji.core.models import Department


class Command(BaseCommand):
    help = "列出成员单位及其代码"

    def handle(self, *args, **options):
        for d in Department.objects.select_related("jurisdiction").order_by(
            "jurisdiction__code", "sort_order"
        ):
            office = "  [联席会议办公室]" if d.hosts_office else ""
            self.stdout.write(f"{d.code:<10}{d.name}  ({d.jurisdiction.name}){office}")
