from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "shuangsuiji.transfer"
    label = "transfer"
    verbose_name = "导入导出"

    def ready(self) -> None:
        # Registers the "import.preview" / "import.apply" job handlers with core.jobs.
        from . import jobs  # noqa: F401
