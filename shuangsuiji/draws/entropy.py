"""Entropy rules shared by the target draw and the inspector draw (DRAW-PROTOCOL.md §1.4, §2.2):
the public beacons the platform offers and how their values are written (docs/draws.md), and
opening a commitment with a reveal. Pure functions: the services decide when each applies."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from shuangsuiji.protocol import draw as D

# source -> (name, the value's form, how to write it)
BEACON_SOURCES = {
    "fc3d": ("福彩3D", re.compile(r"[0-9]{3}"), "三位数字，如 482"),
    "ssq": (
        "双色球",
        re.compile(r"(?:[0-9]{2} ){6}\+ [0-9]{2}"),
        "六个红球（两位数、升序、空格分隔）加“ + ”和蓝球，如 03 07 12 19 25 31 + 09",
    ),
}


# Both lotteries draw at 21:15 Beijing time (中国福利彩票发行管理中心). An announcement must be
# published before the value exists: this long before the draw at the latest.
DRAW_TIME = datetime.time(21, 15)
BEIJING = ZoneInfo("Asia/Shanghai")
ANNOUNCE_MARGIN = datetime.timedelta(minutes=30)


def beacon_time(issue_date: datetime.date) -> datetime.datetime:
    """When the issue drawn on ``issue_date`` is drawn (its value exists from then on)."""
    return datetime.datetime.combine(issue_date, DRAW_TIME, tzinfo=BEIJING)


def beacon_problem(source: str, value: str) -> str | None:
    """Why ``value`` is not written as ``source`` publishes it (Chinese), or None."""
    if source not in BEACON_SOURCES:
        return f"不支持的公开随机源“{source}”：只能是 {'、'.join(BEACON_SOURCES)}。"
    name, pattern, how = BEACON_SOURCES[source]
    if not pattern.fullmatch(value):
        return f"{name}开奖号码的写法不对：应为{how}。"
    if source == "ssq":
        reds = [int(x) for x in value.split(" + ")[0].split(" ")]
        blue = int(value.split(" + ")[1])
        if reds != sorted(set(reds)) or not all(1 <= r <= 33 for r in reds) or not 1 <= blue <= 16:
            return f"双色球号码无效：红球 01–33 六个不同且升序，蓝球 01–16。应为{how}。"
    return D.entropy_value_problem(f"beacon.{source}.x", value)


def open_commitment(commitment: str, value: str) -> tuple[str | None, str]:
    """(problem or None, the reveal as the protocol writes it: 64 lowercase hex characters).

    A printed backup may come back in upper case or with spaces around it; the commitment is
    over the lowercase form, so that is what is checked and kept."""
    value = (value or "").strip().lower()
    if not D.HEX64.fullmatch(value):
        return "揭示值必须是 64 个十六进制字符（承诺时浏览器生成并请您保存的随机数）。", value
    if D.commitment(value) != commitment:
        return (
            "揭示值与本部门公告的承诺不符，未保存。请使用承诺时生成并保存的那个随机数"
            "（同一台电脑的浏览器中已保存，或您打印/记下的备份）。",
            value,
        )
    return None, value
