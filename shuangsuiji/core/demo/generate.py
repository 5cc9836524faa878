"""Seeded generators of demo targets and inspectors: plain dicts, no database.

Each generator walks one ``random.Random`` seeded with a fixed string, one record after the
other, so the first *n* records are the same whatever the total: a demo loaded with
``--targets 2000`` is the beginning of the one loaded with 100,000, and a rerun adds only what is
missing. Every code is checksum-valid (:mod:`shuangsuiji.directory.identifiers`).
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from shuangsuiji.directory.identifiers import (
    USCC_ALPHABET,
    make_id_number,
    make_uscc,
    regno_check_digit,
)

from . import data

# Dates in the demo are relative to this fixed day, so that two runs give the same data.
AS_OF = datetime.date(2026, 10, 31)
TARGET_SEED = "shuangsuiji-demo-targets-652800"
INSPECTOR_SEED = "shuangsuiji-demo-inspectors-652800"

_COUNTY_NAME = dict(data.COUNTIES)
_COUNTY_CODES = [c for c, _ in data.COUNTIES]
_COUNTY_W = [data.COUNTY_WEIGHTS[c] for c in _COUNTY_CODES]
_KINDS = list(data.KIND_WEIGHTS)
_KIND_W = list(data.KIND_WEIGHTS.values())
_PREFECTURE_FULL = f"{data.PROVINCE[1][:2]}{data.PREFECTURE[1]}"  # 新疆巴音郭楞蒙古自治州


@dataclass
class TargetRecord:
    code: str
    code_kind: str
    object_kind: str
    name: str
    region: str  # county code
    fields: dict
    entries: dict[str, list[str]] = field(default_factory=dict)  # department code → tags


_CUMULATIVE: dict[int, tuple[object, list, list]] = {}


def _weighted(rng: random.Random, pairs):
    """A value drawn from a long-lived table of ``(value, weight)`` pairs. The cumulative weights
    are cached by the table's identity; the cache keeps the table alive so its id is not reused."""
    cached = _CUMULATIVE.get(id(pairs))
    if cached is None or cached[0] is not pairs:
        values, weights = zip(*pairs, strict=True)
        cached = _CUMULATIVE[id(pairs)] = (pairs, list(values), list(itertools.accumulate(weights)))
    return rng.choices(cached[1], cum_weights=cached[2])[0]


_OLD_COMPANY_STATUS = [("revoked", 45), ("deregistered", 20), ("active", 35)]
_OLD_INDIVIDUAL_STATUS = [("revoked", 40), ("deregistered", 30), ("active", 30)]
_NONPROFIT_RISK = data.RISK[:3]


def _date_between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _established(rng: random.Random, first_year: int, last_year: int = AS_OF.year) -> datetime.date:
    # Most entities are young: registrations grew fast after the 2014 reform.
    year = round(rng.triangular(first_year, last_year, last_year - 2))
    day = _date_between(rng, datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    return min(day, AS_OF)


# --- people --------------------------------------------------------------------------------------


def person_name(rng: random.Random, male: bool | None = None) -> tuple[str, bool]:
    """A name as found in Bayingolin (Han, Uyghur, Mongol, Hui), and whether it is a man's."""
    if male is None:
        male = rng.random() < 0.55
    group = rng.random()
    if group < 0.55:
        given = rng.choice(data.HAN_MALE if male else data.HAN_FEMALE)
        return rng.choice(data.HAN_SURNAMES) + given, male
    if group < 0.62:  # Hui: Han-style names, 马 and 杨 very common
        given = rng.choice(data.HAN_MALE if male else data.HAN_FEMALE)
        return rng.choice("马马马杨李丁") + given, male
    if group < 0.92:
        given = rng.choice(data.UYGHUR_MALE if male else data.UYGHUR_FEMALE)
        father = rng.choice(data.UYGHUR_MALE)
        return f"{given}·{father}", male
    return rng.choice(data.MONGOL_MALE if male else data.MONGOL_FEMALE), male


def mobile(rng: random.Random) -> str:
    return "1" + rng.choice("35789") + "".join(rng.choices("0123456789", k=9))


# --- codes ---------------------------------------------------------------------------------------


class _Codes:
    """Unique, checksum-valid codes."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            code = make()
            if code not in self.used:
                self.used.add(code)
                return code

    def org_body(self, established: datetime.date, new_prefix: str = "MA") -> str:
        rng = self.rng
        if established.year >= 2016:
            # Codes issued since the 2015 reform carry a 主体标识码 beginning "MA" (市场监管) or "MJ" (民政).
            return new_prefix + "".join(rng.choices(USCC_ALPHABET, k=6))
        return rng.choice("5678") + "".join(rng.choices("0123456789", k=7))

    def uscc(self, authority: str, kind: str, region: str, established: datetime.date, prefix="MA"):
        return self._unique(
            lambda: make_uscc(authority, kind, region, self.org_body(established, prefix))
        )

    def regno(self, region: str) -> str:
        def make():
            first14 = region + "".join(self.rng.choices("0123456789", k=8))
            return first14 + regno_check_digit(first14)

        return self._unique(make)

    def gtin(self) -> str:
        # EAN-13 with a Chinese (69x) prefix and its mod-10 check digit.
        def make():
            body = "69" + "".join(self.rng.choices("0123456789", k=10))
            total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
            return body + str((10 - total % 10) % 10)

        return self._unique(make)

    def project(self, year: int, region: str, division: str) -> str:
        # 投资项目统一代码: year-region-industry-type-sequence (全国投资项目在线审批监管平台).
        return self._unique(
            lambda: (
                f"{year}-{region}-{division}-{self.rng.choice(['01', '02', '03', '03'])}-"
                f"{self.rng.randrange(1, 999999):06d}"
            )
        )

    def ship(self, year: int) -> str:
        return self._unique(lambda: f"CN{year}{self.rng.randrange(10**7):07d}")


# --- targets -------------------------------------------------------------------------------------


class _TargetGen:
    def __init__(self):
        self.rng = random.Random(TARGET_SEED)
        self.codes = _Codes(self.rng)
        self.profiles = {
            kind: [(p, p.weights[kind]) for p in data.PROFILES if p.weights.get(kind)]
            for kind in ("company", "individual", "cooperative")
        }

    # shared pieces

    def county(self) -> str:
        return self.rng.choices(_COUNTY_CODES, _COUNTY_W)[0]

    def code_region(self, county: str) -> str:
        # An entity that moved keeps the code issued elsewhere (never rejected for its region).
        r = self.rng.random()
        if r < 0.03:
            return self.rng.choice(_COUNTY_CODES)
        if r < 0.05:
            return self.rng.choice(["650102", "650104", "652901", "652301"])
        return county

    def address(self, county: str) -> str:
        rng = self.rng
        town = rng.choice(data.TOWNS[county])
        road = rng.choice(data.ROADS.get(county, data.DEFAULT_ROADS))
        tail = rng.choice(["", "", f"{rng.randint(1, 30)}栋", f"{rng.randint(1, 12)}号商铺"])
        return f"{_PREFECTURE_FULL}{_COUNTY_NAME[county]}{town}{road}{rng.randint(1, 399)}号{tail}"

    def trade_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            return rng.choice(data.TRADE_NAMES_FIXED)
        return "".join(rng.sample(data.TRADE_NAME_CHARS, 2))

    def status(self) -> str:
        return _weighted(self.rng, data.REG_STATUS)

    def risk(self) -> tuple[str, bool, bool, int]:
        rng = self.rng
        risk = _weighted(rng, data.RISK)
        abnormal = rng.random() < {"A": 0.002, "B": 0.02, "C": 0.12, "D": 0.35, "U": 0.03}[risk]
        serious = rng.random() < {"A": 0.0, "B": 0.001, "C": 0.01, "D": 0.08, "U": 0.0}[risk]
        complaints = 0
        if rng.random() < {"A": 0.03, "B": 0.07, "C": 0.2, "D": 0.45, "U": 0.05}[risk]:
            complaints = min(int(rng.expovariate(0.5)) + 1, 30)
        return risk, abnormal, serious, complaints

    def profile_tags(self, profile, extras, limit_other=2) -> dict[str, list[str]]:
        entries: dict[str, list[str]] = {}
        for dept, tag, p in (*profile.tags, *extras):
            others = sum(1 for d in entries if d != "SCJGJ")
            # At most three departments per entity: SCJGJ plus two others.
            if self.rng.random() < p and (
                dept in entries or dept == "SCJGJ" or others < limit_other
            ):
                entries.setdefault(dept, [])
                if tag not in entries[dept]:
                    entries[dept].append(tag)
        return entries

    def market_fields(
        self, county, entity_type, legal_rep, established, scope, industry, status=None
    ):
        risk, abnormal, serious, complaints = self.risk()
        return {
            "entity_type": entity_type,
            "registration_authority": f"{_COUNTY_NAME[county]}市场监督管理局",
            "legal_rep": legal_rep,
            "address": self.address(county),
            "reg_status": status or self.status(),
            "established": established,
            "business_scope": scope,
            "industry": industry,
            "risk_class": risk,
            "abnormal": abnormal,
            "serious_illegal": serious,
            "complaints": complaints,
        }

    @staticmethod
    def with_scjgj(entries: dict[str, list[str]], base: list[str]) -> dict[str, list[str]]:
        """SCJGJ's directory holds every market entity; its tags come first."""
        scjgj = base + [t for t in entries.get("SCJGJ", []) if t not in base]
        others = {d: t for d, t in entries.items() if d != "SCJGJ"}
        return {"SCJGJ": scjgj, **others}

    # kinds

    def company(self, regno=False) -> TargetRecord:
        rng = self.rng
        county = self.county()
        profile = _weighted(rng, self.profiles["company"])
        established = _established(rng, 1995, 2014 if regno else AS_OF.year)
        etype = _weighted(rng, data.COMPANY_TYPES)
        word = rng.choice(profile.company_words)
        place = rng.choices([data.COUNTY_SHORT[county], "巴州", "新疆"], [85, 10, 5])[0]
        if etype == "个人独资企业":
            name = f"{place}{self.trade_name()}{word}商行"
        elif etype == "普通合伙企业":
            name = f"{place}{self.trade_name()}{word}中心（普通合伙）"
        elif etype.startswith("股份"):
            name = f"{place}{self.trade_name()}{word}股份有限公司"
        else:
            name = f"{place}{self.trade_name()}{word}{rng.choice(['有限公司', '有限公司', '有限责任公司'])}"
        legal_rep, _ = person_name(rng)
        status = _weighted(rng, _OLD_COMPANY_STATUS) if regno else None
        fields = self.market_fields(
            county, etype, legal_rep, established, profile.scope,
            rng.choice(profile.industries), status,
        )  # fmt: skip
        if "国有" in etype:
            fields["registration_authority"] = "巴音郭楞蒙古自治州市场监督管理局"
        if regno:
            code, kind = self.codes.regno(self.code_region(county)), "regno"
        else:
            code = self.codes.uscc("9", "1", self.code_region(county), established)
            kind = "uscc"
        base = ["企业年报"] + (["登记事项"] if rng.random() < 0.3 else [])
        entries = self.with_scjgj(self.profile_tags(profile, data.COMPANY_EXTRAS), base)
        return TargetRecord(code, kind, "company", name, county, fields, entries)

    def individual(self, regno=False) -> TargetRecord:
        rng = self.rng
        county = self.county()
        profile = _weighted(rng, self.profiles["individual"])
        established = _established(rng, 1998, 2014 if regno else AS_OF.year)
        legal_rep, _ = person_name(rng)
        owner = legal_rep.split("·")[0]
        shop = rng.choice(profile.shop_words)
        if rng.random() < 0.25 and len(owner) <= 4:
            name = f"{data.COUNTY_SHORT[county]}{owner}{shop}"
        else:
            name = f"{data.COUNTY_SHORT[county]}{self.trade_name()}{shop}"
        status = _weighted(rng, _OLD_INDIVIDUAL_STATUS) if regno else None
        fields = self.market_fields(
            county, "个体工商户", legal_rep, established, profile.scope,
            rng.choice(profile.industries), status,
        )  # fmt: skip
        if regno:
            code, kind = self.codes.regno(county), "regno"
        else:
            code, kind = self.codes.uscc("9", "2", self.code_region(county), established), "uscc"
        base = ["个体年报"] + (["登记事项"] if rng.random() < 0.15 else [])
        entries = self.with_scjgj(self.profile_tags(profile, data.INDIVIDUAL_EXTRAS), base)
        return TargetRecord(code, kind, "individual", name, county, fields, entries)

    def cooperative(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        profile = _weighted(rng, self.profiles["cooperative"])
        established = _established(rng, 2008)
        what = {
            "livestock": ["牛羊养殖", "肉羊养殖", "畜牧养殖", "家禽养殖"],
            "farming": ["棉花种植", "香梨种植", "红枣种植", "辣椒种植", "番茄种植", "葡萄种植"],
        }[profile.key]
        town = rng.choice(data.TOWNS[county]).removesuffix("街道")
        name = (
            f"{data.COUNTY_SHORT[county]}{town}{self.trade_name()}{rng.choice(what)}农民专业合作社"
        )
        legal_rep, _ = person_name(rng)
        fields = self.market_fields(
            county, "农民专业合作社", legal_rep, established, profile.scope,
            rng.choice(profile.industries),
        )  # fmt: skip
        code = self.codes.uscc("9", "3", self.code_region(county), established)
        entries = self.with_scjgj(self.profile_tags(profile, ()), ["合作社年报"])
        return TargetRecord(code, "uscc", "cooperative", name, county, fields, entries)

    def nonprofit_fields(
        self, county, entity_type, authority, legal_rep, established, scope, industry
    ):
        rng = self.rng
        return {
            "entity_type": entity_type,
            "registration_authority": authority,
            "legal_rep": legal_rep,
            "address": self.address(county),
            "reg_status": "active" if rng.random() < 0.97 else "deregistered",
            "established": established,
            "business_scope": scope,
            "industry": industry,
            "risk_class": "U" if rng.random() < 0.7 else _weighted(rng, _NONPROFIT_RISK),
            "abnormal": False,
            "serious_illegal": False,
            "complaints": 1 if rng.random() < 0.03 else 0,
        }

    def social(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        established = _established(rng, 1990)
        legal_rep, _ = person_name(rng)
        sub = rng.choices(["1", "2", "3"], [45, 50, 5])[0]
        prefecture_level = rng.random() < 0.3
        region = data.PREFECTURE[0] if prefecture_level else county
        authority = (
            "巴音郭楞蒙古自治州民政局" if prefecture_level else f"{_COUNTY_NAME[county]}民政局"
        )
        place = "巴音郭楞蒙古自治州" if prefecture_level else data.COUNTY_SHORT[county]
        entries: dict[str, list[str]]
        if sub == "1":
            trade = rng.choice(["餐饮", "个体劳动者", "商贸", "物流", "旅游", "建筑业", "香梨", "棉花",
                                "民营企业", "汽车维修", "美容美发", "书法家", "摄影家"])  # fmt: skip
            name = f"{place}{trade}{rng.choice(['协会', '协会', '商会', '行业协会'])}"
            etype, scope, industry = (
                "社会团体",
                "行业自律、业务培训、信息交流、维护会员合法权益",
                "S95",
            )
            entries = {"SCJGJ": ["行业协会商会"]}
        elif sub == "2":
            what = rng.choices(["幼儿园", "职业技能培训学校", "医院", "养老院"], [45, 30, 15, 10])[
                0
            ]
            name = f"{place}{self.trade_name()}{what}"
            etype = "民办非企业单位"
            if what == "幼儿园":
                scope, industry = "学前教育", "P8310"
                entries = {
                    "JYJ": ["民办学校", "学校食堂"],
                    "WJW": ["学校食堂"],
                    "SCJGJ": ["学校食堂"],
                }
            elif what == "医院":
                scope, industry = "内科、外科、妇产科、中医科诊疗服务", "Q8415"
                entries = {"WJW": ["医疗机构"], "SCJGJ": ["特种设备使用单位"]}
            elif what == "养老院":
                scope, industry = "老年人生活照料、康复护理", "Q8514"
                entries = {"WJW": ["医疗机构"], "SCJGJ": ["餐饮服务"]}
            else:
                scope, industry = "职业技能培训", "P8391"
                entries = {"JYJ": ["民办学校"]}
        else:
            name = f"{place}{self.trade_name()}慈善基金会"
            etype, scope, industry = "基金会", "助学、扶贫济困、救灾", "S95"
            entries = {"ZSWJ": ["纳税人"]}
        fields = self.nonprofit_fields(
            county, etype, authority, legal_rep, established, scope, industry
        )
        code = self.codes.uscc("5", sub, region, established, "MJ")
        return TargetRecord(code, "uscc", "social", name, county, fields, entries)

    def institution(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        established = _established(rng, 1955, 2020)
        legal_rep, _ = person_name(rng)
        short = data.COUNTY_SHORT[county]
        town = rng.choice(data.TOWNS[county]).removesuffix("街道")
        what = rng.choices(["school", "kindergarten", "hospital", "clinic"], [45, 20, 10, 25])[0]
        if what == "school":
            name = rng.choice([f"{short}第{rng.randint(1, 12)}中学", f"{short}{town}中心小学",
                               f"{short}第{rng.randint(1, 20)}小学", f"{short}职业技术学校"])  # fmt: skip
            scope, industry = "义务教育、高中教育", rng.choice(["P8321", "P8331", "P8334"])
            entries = {"JYJ": ["学校食堂"], "WJW": ["学校食堂"], "SCJGJ": ["学校食堂"]}
        elif what == "kindergarten":
            name = f"{short}第{rng.randint(1, 15)}幼儿园"
            scope, industry = "学前教育", "P8310"
            entries = {"JYJ": ["学校食堂"], "WJW": ["学校食堂"], "SCJGJ": ["学校食堂"]}
        elif what == "hospital":
            name = rng.choice([f"{short}人民医院", f"{short}中医医院", f"{short}妇幼保健院",
                               "巴音郭楞蒙古自治州人民医院", "巴音郭楞蒙古自治州蒙医医院"])  # fmt: skip
            scope, industry = "医疗、预防、保健服务", rng.choice(["Q8411", "Q8412", "Q8414"])
            entries = {"WJW": ["医疗机构"], "SCJGJ": ["特种设备使用单位", "餐饮服务"]}
        else:
            name = f"{short}{town}卫生院"
            scope, industry = "基本医疗和公共卫生服务", "Q8423"
            entries = {"WJW": ["医疗机构"]}
        fields = self.nonprofit_fields(
            county, "事业单位", f"{_COUNTY_NAME[county]}事业单位登记管理局", legal_rep, established,
            scope, industry,
        )  # fmt: skip
        code = self.codes.uscc("1", "2", county, established, "MB")
        return TargetRecord(code, "uscc", "institution", name, county, fields, entries)

    def law_firm(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        established = _established(rng, 1995)
        legal_rep, _ = person_name(rng)
        if rng.random() < 0.75:
            name = f"新疆{self.trade_name()}律师事务所"
            etype, sub, scope, tag = "普通合伙律师事务所", "1", "法律服务", "律师事务所"
        else:
            name = f"巴州{self.trade_name()}司法鉴定所"
            etype, sub, scope, tag = "司法鉴定机构", "4", "法医临床鉴定、文书鉴定", "司法鉴定"
        fields = self.nonprofit_fields(
            county, etype, "巴音郭楞蒙古自治州司法局", legal_rep, established, scope,
            "L7231" if sub == "1" else "L7239",
        )  # fmt: skip
        code = self.codes.uscc("3", sub, county, established, "MD")
        return TargetRecord(code, "uscc", "other_org", name, county, fields, {"SFJ": [tag]})

    def rural_collective(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        established = _established(rng, 2018, 2022)
        legal_rep, _ = person_name(rng)
        town = rng.choice(data.TOWNS[county]).removesuffix("街道")
        name = f"{data.COUNTY_SHORT[county]}{town}{self.trade_name()}村股份经济合作社"
        fields = self.nonprofit_fields(
            county, "农村集体经济组织", f"{_COUNTY_NAME[county]}农业农村局", legal_rep, established,
            "集体资产经营管理、集体资源发包、农业生产服务", "L7215",
        )  # fmt: skip
        code = self.codes.uscc("N", "2", county, established, "N2")
        return TargetRecord(code, "uscc", "other_org", name, county, fields,
                            {"NYNCJ": ["农村集体经济组织"]})  # fmt: skip

    def non_market_fields(self, county, entity_type, authority, established, scope, industry):
        return {
            "entity_type": entity_type,
            "registration_authority": authority,
            "legal_rep": "",
            "address": self.address(county),
            "reg_status": "active",
            "established": established,
            "business_scope": scope,
            "industry": industry,
            "risk_class": "U",
            "abnormal": False,
            "serious_illegal": False,
            "complaints": 1 if self.rng.random() < 0.05 else 0,
        }

    def product(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        product, industry = rng.choice(data.PRODUCTS)
        name = f"{self.trade_name()}牌{product}"
        fields = self.non_market_fields(
            county, "产品", "", _established(rng, 2018), f"商品条码 {product}", industry
        )
        return TargetRecord(self.codes.gtin(), "other", "non_market", name, county, fields,
                            {"SCJGJ": ["产品质量"]})  # fmt: skip

    def project(self) -> TargetRecord:
        rng = self.rng
        county = self.county()
        what, division, dept = rng.choice(data.PROJECTS)
        started = _established(rng, 2019)
        code = self.codes.project(started.year, county, division)
        name = f"{data.COUNTY_SHORT[county]}{self.trade_name()}{what}"
        entries: dict[str, list[str]] = {"FGW": ["投资项目"]}
        if rng.random() < 0.3:
            entries["FGW"].append("招标项目")
        second = rng.random()
        if dept == "JTYSJ":
            entries["JTYSJ"] = ["公路工程"]
        elif second < 0.5:
            entries["STHJJ"] = ["建设项目"]
        elif second < 0.8:
            entries["ZWFWZX"] = ["公共资源交易"]
        fields = self.non_market_fields(
            county, "投资项目", f"{_COUNTY_NAME[county]}发展和改革委员会", started,
            f"建设内容：{what}", f"E{division}" if division in ("47", "48") else "",
        )  # fmt: skip
        return TargetRecord(code, "other", "non_market", name, county, fields, entries)

    def ship(self) -> TargetRecord:
        rng = self.rng
        county = "652829" if rng.random() < 0.8 else "652828"
        built = _established(rng, 2008)
        name = f"{data.COUNTY_SHORT[county]}{self.trade_name()}{rng.randint(1, 30)}号游船"
        fields = self.non_market_fields(
            county, "船舶", "巴音郭楞路政管理局和地方海事局", built, "博斯腾湖水上旅游客运", "G5512"
        )
        return TargetRecord(self.codes.ship(built.year), "other", "non_market", name, county,
                            fields, {"LZHSJ": ["水上旅游客运"]})  # fmt: skip

    def make(self, kind: str) -> TargetRecord:
        if kind == "regno_company":
            return self.company(regno=True)
        if kind == "regno_individual":
            return self.individual(regno=True)
        return getattr(self, kind)()


def targets(n: int) -> Iterator[TargetRecord]:
    """The first ``n`` demo targets: one of each kind first, then kinds by their weights."""
    gen = _TargetGen()
    for i in range(n):
        kind = _KINDS[i] if i < len(_KINDS) else gen.rng.choices(_KINDS, _KIND_W)[0]
        yield gen.make(kind)


# --- inspectors ---------------------------------------------------------------------------------


def inspectors() -> Iterator[dict]:
    """Inspectors of every department and the market regulator's experts, as Inspector fields
    plus ``department`` (code)."""
    rng = random.Random(INSPECTOR_SEED)
    used_ids: set[str] = set()
    serial = 0

    def id_number(area: str, male: bool, born_from: int = 1965, born_to: int = 1999) -> str:
        while True:
            birth = _date_between(
                rng, datetime.date(born_from, 1, 1), datetime.date(born_to, 12, 31)
            )
            gender_digit = rng.choice("13579" if male else "02468")
            number = make_id_number(area, birth, f"{rng.randrange(100):02d}{gender_digit}")
            if number not in used_ids:
                used_ids.add(number)
                return number

    all_counties = _COUNTY_CODES
    for d_index, dept in enumerate(data.DEPARTMENTS, 1):
        county_share = 0.8 if dept.code == "SCJGJ" else (0.4 if dept.county_unit else 0.0)
        for _ in range(dept.inspectors):
            serial += 1
            name, male = person_name(rng)
            if rng.random() < county_share:
                county = rng.choices(all_counties, _COUNTY_W)[0]
                unit = f"{_COUNTY_NAME[county]}{dept.county_unit}"
                if dept.code == "SCJGJ":
                    town = rng.choice(data.TOWNS[county]).removesuffix("街道")
                    division = f"{town}市场监督管理所"
                else:
                    division = rng.choice(dept.divisions)
                regions = [county]
                level = "县级"
                area = county
            else:
                unit, division, level = dept.name, rng.choice(dept.divisions), "州级"
                regions = all_counties
                area = rng.choices(all_counties, _COUNTY_W)[0]
            r = rng.random()
            if r < 0.04:  # day-to-day supervisors without an enforcement certificate
                cert_no, valid_from, valid_to = "", None, None
            else:
                if r < 0.14:  # expired
                    valid_from = _date_between(
                        rng, datetime.date(2016, 1, 1), datetime.date(2021, 6, 30)
                    )
                else:
                    valid_from = _date_between(
                        rng, datetime.date(2021, 11, 1), datetime.date(2026, 6, 30)
                    )
                valid_to = valid_from.replace(year=valid_from.year + 5) - datetime.timedelta(days=1)
                cert_no = f"6528{d_index:02d}{valid_from:%y}{serial:05d}"
            available = rng.random() > 0.07
            yield {
                "department": dept.code,
                "kind": "inspector",
                "id_number": id_number(area, male),
                "name": name,
                "gender": "M" if male else "F",
                "phone": mobile(rng),
                "unit": unit,
                "division": division,
                "level": level,
                "certificate_no": cert_no,
                "certificate_authority": "新疆维吾尔自治区人民政府" if cert_no else "",
                "certificate_valid_from": valid_from,
                "certificate_valid_to": valid_to,
                "regions": regions,
                "specialities": rng.sample(
                    dept.specialities, min(len(dept.specialities), rng.randint(1, 3))
                ),
                "tags": rng.sample(data.INSPECTION_METHODS, rng.randint(1, 3)),
                "available": available,
                "availability_note": "" if available else rng.choice(data.UNAVAILABLE_REASONS),
            }
    for _ in range(20):
        name, male = person_name(rng)
        unit, specialities = rng.choice(data.EXPERT_UNITS)
        yield {
            "department": "SCJGJ",
            "kind": "expert",
            "id_number": id_number(rng.choice(all_counties), male, 1962, 1992),
            "name": name,
            "gender": "M" if male else "F",
            "phone": mobile(rng),
            "unit": unit,
            "division": "",
            "level": rng.choice(["高级工程师", "工程师", "副教授", "主任医师", "副主任医师"]),
            "certificate_no": "",
            "certificate_authority": "",
            "certificate_valid_from": None,
            "certificate_valid_to": None,
            "regions": all_counties,
            "specialities": list(specialities),
            "tags": ["专家咨询"],
            "available": True,
            "availability_note": "",
        }
