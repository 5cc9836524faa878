"""Small factories for the directory tests (valid codes and ID numbers from identifiers.py)."""

import datetime
import itertools

from shuangsuiji.core.models import Department
from shuangsuiji.directory import identifiers
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, pack

_seq = itertools.count(1)


def uscc(n: int | None = None, region: str = "652801", kind: str = "1") -> str:
    return identifiers.make_uscc("9", kind, region, f"{n if n is not None else next(_seq):08d}")


def id_number(n: int | None = None, birth=datetime.date(1985, 3, 7)) -> str:
    return identifiers.make_id_number(
        "652801", birth, f"{(n if n is not None else next(_seq)) % 1000:03d}"
    )


def make_target(org, *, departments: tuple[Department, ...] = (), tags=(), **fields) -> Target:
    fields.setdefault("code", uscc())
    fields.setdefault("code_kind", "uscc")
    fields.setdefault("name", f"测试企业{fields['code'][-6:]}有限公司")
    fields.setdefault("object_kind", "company")
    fields.setdefault("region", org.korla)
    target = Target.objects.create(jurisdiction=org.prefecture, **fields)
    for department in departments:
        DirectoryEntry.objects.create(department=department, target=target, tags=pack(tags))
    return target


def make_inspector(org, *, department=None, **fields) -> Inspector:
    fields.setdefault("id_number", id_number())
    fields.setdefault("name", "张三")
    fields.setdefault("phone", "13812345678")
    return Inspector.objects.create(department=department or org.scjgj, **fields)


def regno(n: int = 1) -> str:
    first14 = f"110105{n:08d}"
    return first14 + identifiers.regno_check_digit(first14)
