from django.apps import AppConfig


class JointcheckConfig(AppConfig):
    name = "shuangsuiji.jointcheck"
    label = "jointcheck"
    verbose_name = "部门联合抽查任务"
