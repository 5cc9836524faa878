"""Working days (工作日) from the platform's own holiday table.

Rules (DOMAIN.md "Working days"): weekends and public holidays are off, adjusted weekend working
days (调休) are on. A period of N working days does not count its start day; a deadline that
falls on a day off moves to the next working day. A year without an official schedule in the table
is an error, never a silent Monday–Friday guess.
"""

import datetime

from django.db import transaction

from .models import CalendarDay, CalendarYear


class NoScheduleError(LookupError):
    """Raised for a date in a year whose holiday schedule is not in the table."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"尚未录入{year}年的节假日安排（国务院办公厅通知），无法计算工作日。"
            f"请管理员在“工作日历”中录入{year}年的放假和调休安排后再试。"
        )


class _Calendar:
    """The table for the years asked about, loaded once per call of the public functions."""

    def __init__(self):
        self.years: set[int] = set()
        self.days: dict[datetime.date, str] = {}

    def load(self, year: int) -> None:
        if year in self.years:
            return
        if not CalendarYear.objects.filter(year=year).exists():
            raise NoScheduleError(year)
        self.years.add(year)
        for day in CalendarDay.objects.filter(date__year=year):
            self.days[day.date] = day.kind

    def is_workday(self, day: datetime.date) -> bool:
        self.load(day.year)
        kind = self.days.get(day)
        if kind == CalendarDay.Kind.HOLIDAY:
            return False
        if kind == CalendarDay.Kind.WORKDAY:
            return True
        return day.weekday() < 5


def is_workday(day: datetime.date) -> bool:
    return _Calendar().is_workday(day)


def add_workdays(start: datetime.date, n: int) -> datetime.date:
    """The day on which a period of ``n`` working days that starts on ``start`` ends.

    The start day is not counted (期间开始的当日不计算在内): 2 working days from a Friday end on
    the Tuesday. ``n`` = 0 gives the first working day from ``start`` on."""
    if n < 0:
        raise ValueError("工作日天数不能为负数")
    cal = _Calendar()
    day = start
    if n == 0:
        while not cal.is_workday(day):
            day += datetime.timedelta(days=1)
        return day
    while n:
        day += datetime.timedelta(days=1)
        if cal.is_workday(day):
            n -= 1
    return day


def deadline_after_days(start: datetime.date, days: int) -> datetime.date:
    """A deadline of ``days`` calendar days (start day not counted), moved to the next working day
    when it falls on a weekend or holiday (期间届满的最后一日是节假日的，以节假日后的第一日为期间届满的日期)."""
    return add_workdays(start + datetime.timedelta(days=days), 0)


def workdays_between(start: datetime.date, end: datetime.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    cal = _Calendar()
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        count += cal.is_workday(day)
    return count


@transaction.atomic
def seed_from_chinese_calendar(years: range | None = None) -> list[int]:
    """Copy the schedules the ``chinese_calendar`` package knows into the table (idempotent).

    Years already in the table are left alone: an administrator's edits win over the package."""
    import chinese_calendar

    known = sorted(
        {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    )
    years = [y for y in (years or known) if y in known]
    added = []
    for year in years:
        if CalendarYear.objects.filter(year=year).exists():
            continue
        CalendarYear.objects.create(
            year=year, source=f"chinesecalendar {chinese_calendar.__version__}"
        )
        rows = []
        for day, name in chinese_calendar.holidays.items():
            if day.year == year and day.weekday() < 5:
                rows.append(
                    CalendarDay(date=day, kind=CalendarDay.Kind.HOLIDAY, name=_holiday_name(name))
                )
        for day, name in chinese_calendar.workdays.items():
            if day.year == year and day.weekday() >= 5:
                rows.append(
                    CalendarDay(date=day, kind=CalendarDay.Kind.WORKDAY, name=_holiday_name(name))
                )
        CalendarDay.objects.bulk_create(rows)
        added.append(year)
    return added


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争胜利70周年纪念日",
}


def _holiday_name(name) -> str:
    if name is None:
        return ""
    return _HOLIDAY_NAMES.get(str(name), str(name))
