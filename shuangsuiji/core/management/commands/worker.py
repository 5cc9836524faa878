from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "运行后台任务（导入、大批量抽取等）；中断后重启会继续未完成的任务"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="运行完当前排队的任务后退出")

    def handle(self, *args, once, **options):
        from shuangsuiji.core import jobs

        if once:
            self.stdout.write(f"已运行 {jobs.run_pending()} 个任务")
        else:
            jobs.work_forever()
