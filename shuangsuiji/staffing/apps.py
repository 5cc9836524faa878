from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "shuangsuiji.staffing"
    label = "staffing"
    verbose_name = "执法检查人员抽取"
