"""国民经济行业分类 (GB/T 4754-2017): the 20 sections (门类, A–T) and which two-digit divisions
(大类) belong to each, so a code typed without its letter ("5211") is still found under F."""

SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

# First division (大类) of each section; a section runs up to the next one's first division.
_FIRST_DIVISION = [
    ("A", 1), ("B", 6), ("C", 13), ("D", 44), ("E", 47), ("F", 51), ("G", 53), ("H", 61),
    ("I", 63), ("J", 66), ("K", 70), ("L", 71), ("M", 73), ("N", 76), ("O", 80), ("P", 83),
    ("Q", 84), ("R", 86), ("S", 91), ("T", 97),
]  # fmt: skip


def section_of(division: str) -> str | None:
    """The section letter of a code's first two digits ("52" → "F"), or None if not a division."""
    if len(division) < 2 or not division[:2].isdigit():
        return None
    number = int(division[:2])
    if not 1 <= number <= 97:
        return None
    letter = None
    for section, first in _FIRST_DIVISION:
        if number >= first:
            letter = section
    return letter


def normalize_industry(text: str) -> str:
    """ "f5211" / "5211" / " F " → "F5211" / "F5211" / "F"; "" stays ""; anything else ValueError."""
    value = (text or "").strip().upper()
    if not value:
        return ""
    if value[0].isalpha():
        letter, digits = value[0], value[1:]
        if letter not in SECTIONS or not (digits == "" or digits.isdigit()) or len(digits) > 4:
            raise ValueError(value)
        if digits and section_of(digits) != letter:
            raise ValueError(value)
        return value
    if not value.isdigit() or len(value) > 4 or section_of(value) is None:
        raise ValueError(value)
    return section_of(value) + value
