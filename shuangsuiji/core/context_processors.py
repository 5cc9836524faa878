from . import permissions


def platform(request):
    user = getattr(request, "user", None)
    return {
        "platform_name": "部门联合“双随机、一公开”监管平台",
        "is_office": bool(user and permissions.is_office(user)),
    }
