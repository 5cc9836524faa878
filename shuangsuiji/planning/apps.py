from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "shuangsuiji.planning"
    label = "planning"
    verbose_name = "抽查工作计划"
