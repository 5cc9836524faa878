"""``{% page_url n %}``: the current list's query string with another page number, so every
paged list keeps its filters without each view building the string."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    params = context["request"].GET.copy()
    params["page"] = str(number)
    return "?" + params.urlencode()
