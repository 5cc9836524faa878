from django.apps import AppConfig


class PublicationConfig(AppConfig):
    name = "shuangsuiji.publication"
    label = "publication"
    verbose_name = "公开日志与核验"
