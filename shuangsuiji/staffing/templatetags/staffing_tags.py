"""The task page's staffing panel: a summary the task page includes without knowing this app."""

from django import template

from shuangsuiji.staffing import services

register = template.Library()


@register.simple_tag
def staffing_summary(task, user):
    """The current run for readers of the task's inspector draws (None for anyone else)."""
    if task is None or not services.can_read_run(user, task):
        return None
    return {"run": services.current_run(task), "is_lead": services.is_lead(user, task)}
