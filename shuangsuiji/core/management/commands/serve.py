import threading

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "运行平台（waitress HTTP 服务，并在同一进程中运行后台任务）"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="不在本进程运行后台任务（另起 shuangsuiji worker）",
        )

    def handle(self, *args, host, port, threads, no_worker, **options):
        from waitress import serve

        from shuangsuiji.core import jobs
        from shuangsuiji.wsgi import application

        if not no_worker:
            threading.Thread(target=jobs.work_forever, name="job-worker", daemon=True).start()
        self.stdout.write(f"平台已启动：http://{host}:{port}/  （Ctrl+C 停止）")
        serve(application, host=host, port=port, threads=threads, ident="shuangsuiji")
