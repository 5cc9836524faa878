from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "shuangsuiji.staffing"
    label = "staffing"
    verbose_name = "执法检查人员抽取"

    def ready(self) -> None:
        # Registers the "staffing.*" job handlers with core.jobs and the receiver of
        # draws.signals.release_published (held log documents of unannounced draws).
        from . import services  # noqa: F401
