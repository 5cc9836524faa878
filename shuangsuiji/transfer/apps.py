from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "shuangsuiji.transfer"
    label = "transfer"
    verbose_name = "导入导出"
