from django.apps import AppConfig


class DrawsConfig(AppConfig):
    name = "shuangsuiji.draws"
    label = "draws"
    verbose_name = "检查对象抽取"
