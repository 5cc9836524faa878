from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "shuangsuiji.catalog"
    label = "catalog"
    verbose_name = "抽查事项清单"
