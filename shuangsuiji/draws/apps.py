from django.apps import AppConfig


class DrawsConfig(AppConfig):
    name = "shuangsuiji.draws"
    label = "draws"
    verbose_name = "检查对象抽取"

    def ready(self) -> None:
        # Registers the "draws.freeze" / "draws.perform" job handlers with core.jobs.
        from . import services  # noqa: F401
