"""Two tasks on the same directory in one year: the first task's draw counts towards the annual
cap when the second is drawn (excluded as ``annual-limit``, shown in the public excluded file, and
the second draw still verifies), and another department's task on the same targets is offered the
merge ("进一次门、查多项事")."""

from __future__ import annotations

import datetime

from django.test import Client

from shuangsuiji.draws import services as draws
from shuangsuiji.draws.models import Exclusion
from shuangsuiji.jointcheck import services as tasks
from shuangsuiji.protocol import verify as V
from shuangsuiji.staffing import services as staffing

from .helpers import PERIOD, YEAR, Flow


def body(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def test_the_annual_cap_and_the_merge_suggestion_across_tasks(org):
    flow = Flow(org, inspectors_per_dept=6)
    draws.set_annual_cap(user=org.office, item_class="C", max_per_year=1)
    first = flow.established()
    first_draw = flow.drawn(first)
    flow.staffed(first)
    staffing.dispatch(user=org.scjgj_admin, task=first)
    picked = set(first_draw.selections.values_list("target_id", flat=True))
    assert len(picked) == 4

    # SCJGJ's second task on the same scope: the four are excluded before the freeze.
    second = flow.established(task_name="第二项联合检查")
    assert draws.annual_cap(second) == 1
    second_draw = flow.drawn(second)
    auto = dict(Exclusion.objects.filter(draw=second_draw).values_list("target_id", "reason"))
    assert auto == dict.fromkeys(picked, "annual-limit")
    assert second_draw.population_size == len(flow.targets) - 4
    assert not picked & set(second_draw.selections.values_list("target_id", flat=True))
    base = f"/public/draws/{second.code}/{second_draw.number}"
    public = Client()
    files = [body(public.get(u)) for u in (f"{base}.json", f"{base}/population.tsv")]
    excluded = body(public.get(f"{base}/excluded.tsv"))
    codes = set(first_draw.selections.values_list("target__code", flat=True))
    assert {line.split(b"\t")[0].decode() for line in excluded.splitlines()} == codes
    assert all(line.endswith(b"\tannual-limit") for line in excluded.splitlines())
    report = V.verify(*files, excluded, bytes(second_draw.announcement))
    assert report.exit_code == 0, report.problems

    # A GAJ-led task on the same targets: the merge is suggested for every target drawn so far
    # by the other department's pending tasks.
    gaj_task = tasks.create_task(
        user=org.gaj_admin,
        data={
            "name": "旅馆业专项检查",
            "year": YEAR,
            "scope": {"region": "652801"},
            "items": [flow.gaj_items[0].pk],
            "strata_by": "risk",
            "allocation_mode": "ratio",
            "ratios": {"A": 2000, "B": 2000, "C": 2000, "D": 2000},
            "period_start": PERIOD[0],
            "period_end": PERIOD[1],
            "draw_date": datetime.date(YEAR, 11, 30),
            "departments": [],
        },
    )
    suggested = draws.suggestions(gaj_task)
    drawn_so_far = picked | set(second_draw.selections.values_list("target_id", flat=True))
    merged = {pk for pk, reasons in suggested.items() if "merged" in reasons}
    assert merged == drawn_so_far
    assert all(first.code in suggested[pk]["merged"] for pk in picked)
