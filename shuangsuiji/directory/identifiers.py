"""Identifier checks for targets and inspectors (DOMAIN.md "Identifiers"). Pure Python, no Django.

- 统一社会信用代码 (GB 32100-2015): 18 characters from ``0-9 A-H J-N P-R T U W-Y``; the 18th is a
  mod-31 check character. We validate the alphabet, the length and the 18th character only:

  * Registration authority / type characters are not checked against a table: new authorities
    and letter prefixes (``N2…``, ``Y1…``, ``5…``) exist and a too-strict table rejects real codes.
  * The region (positions 3–8) is never checked: entities move and keep their code.
  * The embedded organisation code (positions 9–17) has its own GB 11714 check digit, but we do
    **not** reject a code whose embedded check digit is wrong. Codes converted from older
    registrations (individual businesses, cooperatives, some 事业单位) were issued with locally
    generated 主体标识码 and we cannot be sure every real code satisfies GB 11714; the 18th
    character already detects every single-character error, so the extra check would only add
    the risk of refusing a genuine code. :func:`org_code_check_digit` is still provided (and used
    by :func:`make_uscc`, so demo and test codes do satisfy it).

- 注册号 (GS15-2006): 15 digits, the last an ISO 7064 MOD 11,10 check digit.
- 居民身份证号 (GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check character; the birth date must
  be a real date between 1900-01-01 and today. The area code is not checked against a table.

Every failure raises :class:`InvalidCode` whose ``message`` is a Chinese sentence naming the problem.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

__all__ = [
    "USCC_ALPHABET",
    "InvalidCode",
    "classify_target_code",
    "id_check_char",
    "make_id_number",
    "make_uscc",
    "normalize",
    "org_code_check_digit",
    "regno_check_digit",
    "uscc_check_char",
    "validate_id_number",
    "validate_phone",
    "validate_regno",
    "validate_uscc",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Letters GB 32100 leaves out because they look like digits; used to explain a likely typo.
_LOOKALIKES = {"I": "1", "O": "0", "Z": "2", "S": "5", "V": "U"}
OTHER_CODE_MAX = 64


class InvalidCode(ValueError):
    """An identifier failed validation; ``message`` is a Chinese sentence saying what is wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Whitespace that people paste from Word/Excel/web pages, incl. zero-width ones that
# str.isspace() does not know about.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def normalize(text) -> str:
    """Remove all spaces (also full-width, NBSP, zero-width), fold full-width forms to
    half-width and upper-case."""
    if text is None:
        return ""
    text = str(text)
    if text.isascii() and text.isalnum():  # the common case, fast
        return text.upper()
    out = []
    for ch in text:
        if ch.isspace() or ch in _INVISIBLE:
            continue
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII block
            ch = chr(code - 0xFEE0)
        out.append(ch)
    return "".join(out).upper()


# --- 统一社会信用代码 ---------------------------------------------------------------------------


def _illegal_char_message(what: str, ch: str) -> str:
    hint = f"（疑为“{_LOOKALIKES[ch]}”）" if ch in _LOOKALIKES else ""
    return f"{what}含非法字符“{ch}”{hint}"


def uscc_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 (GB 32100-2015, mod 31)."""
    first17 = normalize(first17)
    if len(first17) != 17:
        raise InvalidCode(f"统一社会信用代码前17位应为17个字符，实际为{len(first17)}个")
    total = 0
    for ch, weight in zip(first17, _USCC_WEIGHTS, strict=True):
        if ch not in _USCC_VALUE:
            raise InvalidCode(_illegal_char_message("统一社会信用代码", ch))
        total += _USCC_VALUE[ch] * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(text) -> str:
    """Return the normalised 18-character code or raise :class:`InvalidCode`."""
    code = normalize(text)
    if not code:
        raise InvalidCode("统一社会信用代码不能为空")
    for ch in code:
        if ch not in _USCC_VALUE:
            raise InvalidCode(_illegal_char_message("统一社会信用代码", ch))
    if len(code) != 18:
        raise InvalidCode(f"统一社会信用代码应为18位，实际为{len(code)}位")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCode(f"统一社会信用代码校验位错误：应为 {expected}，实际为 {code[17]}")
    return code


def org_code_check_digit(body8: str) -> str:
    """Check digit of a 9-character organisation code (GB 11714-1997): digits and letters A=10…Z=35,
    weights 3 7 9 10 5 8 4 2, ``11 - S mod 11`` with 10 → X and 11 → 0."""
    body8 = normalize(body8)
    if len(body8) != 8 or not body8.isascii() or not body8.isalnum():
        raise InvalidCode("组织机构代码本体应为8位数字或大写字母")
    total = sum(int(ch, 36) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(authority: str, kind: str, region6: str, org_body8: str) -> str:
    """Build a valid code: registration authority + type + region + organisation code (with its
    GB 11714 check digit) + check character. For demo data and tests."""
    if not (re.fullmatch(r"\d{6}", region6 or "")):
        raise InvalidCode("行政区划代码应为6位数字")
    org9 = normalize(org_body8) + org_code_check_digit(org_body8)
    first17 = normalize(authority) + normalize(kind) + region6 + org9
    return first17 + uscc_check_char(first17)


# --- 注册号 ------------------------------------------------------------------------------------


def regno_check_digit(first14: str) -> str:
    """Check digit of a 15-digit 注册号 (GS15-2006, ISO 7064 MOD 11,10)."""
    first14 = normalize(first14)
    if not re.fullmatch(r"\d{14}", first14):
        raise InvalidCode("注册号前14位应为数字")
    product = 10
    for ch in first14:
        s = (product + int(ch)) % 10 or 10
        product = s * 2 % 11
    return str((11 - product) % 10)


def validate_regno(text) -> str:
    """Return the normalised 15-digit 注册号 or raise :class:`InvalidCode`."""
    code = normalize(text)
    if not code:
        raise InvalidCode("注册号不能为空")
    if not code.isdigit() or not code.isascii():
        bad = next(ch for ch in code if not ("0" <= ch <= "9"))
        raise InvalidCode(f"注册号只能包含数字，含非法字符“{bad}”")
    if len(code) != 15:
        raise InvalidCode(f"注册号应为15位数字，实际为{len(code)}位")
    expected = regno_check_digit(code[:14])
    if code[14] != expected:
        raise InvalidCode(f"注册号校验位错误：应为 {expected}，实际为 {code[14]}")
    return code


# --- any target code ---------------------------------------------------------------------------


def _looks_like_mistyped_uscc(code: str) -> bool:
    if len(code) != 18 or not code.isascii() or not code.isalnum():
        return False
    fixed = "".join(_LOOKALIKES.get(ch, ch) for ch in code)
    if fixed == code:
        return False
    try:
        validate_uscc(fixed)
    except InvalidCode:
        return False
    return True


# Registration authority (1–9, A, N, Y), type digit, six-digit region, then the code's alphabet.
_USCC_SHAPE = re.compile(r"[1-9ANY][1-9]\d{6}[0-9A-HJ-NPQRTUW-Y]+")


def classify_target_code(text) -> tuple[str, str]:
    """Classify and validate a target's code: ``("uscc" | "regno" | "other", normalised)``.

    - 18 characters of the USCC alphabet must be a valid 统一社会信用代码;
    - 15 digits must be a valid 注册号;
    - any other non-empty text of at most 64 characters without control characters is an
      "other" code (non-market objects' own codes, possibly non-ASCII) — except an 18-character
      code that becomes a valid 统一社会信用代码 once a look-alike letter (O/I/Z/S/V) is replaced:
      that is a typo and is refused with a message naming the letter.
    """
    code = normalize(text)
    if not code:
        raise InvalidCode("编码不能为空")
    if len(code) == 18 and all(ch in _USCC_VALUE for ch in code):
        return "uscc", validate_uscc(code)
    if len(code) == 15 and code.isascii() and code.isdigit():
        return "regno", validate_regno(code)
    if _looks_like_mistyped_uscc(code):
        bad = next(ch for ch in code if ch in _LOOKALIKES)
        raise InvalidCode(_illegal_char_message("统一社会信用代码", bad))
    if len(code) in (17, 19) and _USCC_SHAPE.fullmatch(code):
        # A credit code with a character dropped or doubled: refuse rather than file it as a
        # non-market object's own code.
        raise InvalidCode(f"统一社会信用代码应为18位，实际为{len(code)}位")
    for ch in code:
        if unicodedata.category(ch).startswith("C"):
            raise InvalidCode(f"编码含不可见的控制字符（U+{ord(ch):04X}）")
    if len(code) > OTHER_CODE_MAX:
        raise InvalidCode(f"编码过长：最多{OTHER_CODE_MAX}个字符，实际为{len(code)}个")
    return "other", code


# --- 居民身份证号 ------------------------------------------------------------------------------


def id_check_char(first17: str) -> str:
    """Check character of an 18-digit 居民身份证号 (GB 11643-1999, ISO 7064 MOD 11-2)."""
    first17 = normalize(first17)
    if not re.fullmatch(r"\d{17}", first17):
        raise InvalidCode("身份证号前17位应为数字")
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _birth_date(code: str) -> datetime.date | None:
    try:
        return datetime.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


def validate_id_number(text, *, today: datetime.date | None = None) -> str:
    """Return the normalised 18-character 居民身份证号 (X upper-case) or raise :class:`InvalidCode`."""
    code = normalize(text)
    if not code:
        raise InvalidCode("身份证号不能为空")
    if len(code) == 15 and code.isascii() and code.isdigit():
        raise InvalidCode("这是15位旧身份证号，请填写18位居民身份证号")
    if len(code) != 18:
        raise InvalidCode(f"身份证号应为18位，实际为{len(code)}位")
    if not re.fullmatch(r"\d{17}[\dX]", code):
        bad = next(
            (ch for ch in code[:17] if not ("0" <= ch <= "9")),
            code[17],
        )
        raise InvalidCode(f"身份证号含非法字符“{bad}”：前17位应为数字，最后一位为数字或X")
    birth = _birth_date(code)
    today = today or datetime.date.today()
    if birth is None:
        raise InvalidCode(f"身份证号出生日期无效：{code[6:14]} 不是有效日期")
    if birth < datetime.date(1900, 1, 1):
        raise InvalidCode(f"身份证号出生日期无效：{code[6:14]} 早于1900年")
    if birth > today:
        raise InvalidCode(f"身份证号出生日期无效：{code[6:14]} 晚于今天")
    expected = id_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCode(f"身份证号校验位错误：应为 {expected}，实际为 {code[17]}")
    return code


def make_id_number(area6: str, birth: datetime.date, seq3: str) -> str:
    """Build a valid 18-character ID number. The 17th digit (last of ``seq3``) is odd for men."""
    first17 = f"{area6}{birth:%Y%m%d}{seq3}"
    if not re.fullmatch(r"\d{17}", first17):
        raise InvalidCode("地区码应为6位数字，顺序码应为3位数字")
    return first17 + id_check_char(first17)


# --- 电话 --------------------------------------------------------------------------------------

_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"(0[12]\d|0[3-9]\d{2})-?([1-9]\d{6,7})(?:-(\d{1,6}))?")


def validate_phone(text) -> str:
    """A mainland mobile number (``1[3-9]`` + 9 digits, optional +86) or a landline with area code
    such as ``0996-1234567`` (optional extension ``-123``). Returns the normalised number (mobile as
    11 digits, landline as ``area-number[-ext]``)."""
    raw = normalize(text)
    if not raw:
        raise InvalidCode("电话号码不能为空")
    phone = raw.replace("（", "(").replace("）", ")")
    phone = re.sub(r"^\((0\d{2,3})\)", r"\1-", phone)  # (0996)1234567
    mobile = _MOBILE.fullmatch(phone.replace("-", ""))
    if mobile and phone.startswith(("1", "+86", "86")):
        return mobile.group(1)
    if m := _LANDLINE.fullmatch(phone):
        area, number, ext = m.groups()
        return f"{area}-{number}" + (f"-{ext}" if ext else "")
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("1") and len(digits) != 11:
        raise InvalidCode(f"手机号码应为11位，实际为{len(digits)}位")
    raise InvalidCode("电话号码格式不正确：应为11位手机号码，或带区号的固定电话（如 0996-1234567）")
