from django import template

from shuangsuiji.draws import selectors

register = template.Library()


@register.inclusion_tag("draws/_panel.html", takes_context=True)
def draws_panel(context):
    """The task page's section on target draws (context: task, user, request)."""
    ctx = selectors.panel_context(context["task"], context["user"])
    request = context.get("request")
    ctx.update(
        {
            "request": request,
            "user": context["user"],
            "csrf_token": context.get("csrf_token"),
            "next": request.get_full_path() if request else "",
        }
    )
    return ctx


@register.filter
def short_hash(value: str) -> str:
    return f"{value[:12]}…" if value else ""


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
