from shuangsuiji.core.models import AuditEntry, Department, User


def test_office_adds_and_edits_a_department(org):
    office = org.client(org.office)
    response = office.post(
        "/departments/new/",
        {"code": "wjw", "name": "州卫生健康委员会", "sort_order": "3", "active": "on"},
    )
    assert response.status_code == 302
    dept = Department.objects.get(code="WJW")
    assert dept.jurisdiction == org.prefecture
    office.post(
        f"/departments/{dept.pk}/edit/",
        {"code": "WJW", "name": "州卫健委", "sort_order": "3", "active": "on"},
    )
    dept.refresh_from_db()
    assert dept.name == "州卫健委"
    entry = AuditEntry.objects.filter(object_type="core.department", object_id=str(dept.pk)).first()
    assert entry.before["name"] == "州卫生健康委员会" and entry.after["name"] == "州卫健委"


def test_department_bad_input(org):
    office = org.client(org.office)
    page = office.post(
        "/departments/new/", {"code": "市场", "name": "", "sort_order": "-1"}
    ).content.decode()
    assert "部门代码须为" in page and "请填写部门名称" in page and "排序须为非负整数" in page
    page = office.post("/departments/new/", {"code": "GAJ", "name": "重复"}).content.decode()
    assert "部门代码 GAJ 已被使用" in page
    assert Department.objects.count() == 2


def test_only_the_office_edits_the_roster(org):
    for user in [org.scjgj_admin, org.gaj_admin, org.auditor, org.inspector]:
        response = org.client(user).post("/departments/new/", {"code": "XX", "name": "x"})
        assert response.status_code == 403
    assert not Department.objects.filter(code="XX").exists()


def test_department_admin_manages_own_department_accounts(org):
    admin = org.client(org.gaj_admin)
    response = admin.post(
        "/users/new/",
        {
            "username": "gaj_inspector",
            "full_name": "王警官",
            "role": "inspector",
            "department": org.gaj.pk,
            "password": "a-long-pass-1",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="gaj_inspector")
    assert created.department == org.gaj and created.check_password("a-long-pass-1")
    entry = AuditEntry.objects.get(object_type="core.user", object_id=str(created.pk))
    assert "password" not in entry.after


def test_department_admin_is_refused_other_departments_and_office_roles(org):
    admin = org.client(org.gaj_admin)
    response = admin.post(
        "/users/new/",
        {
            "username": "spy",
            "role": "dept_admin",
            "department": org.scjgj.pk,
            "password": "a-long-pass-1",
            "is_active": "on",
        },
    )
    assert "所选部门不存在" in response.content.decode()  # another department is not offered
    page = admin.post(
        "/users/new/",
        {
            "username": "boss",
            "role": "office",
            "department": org.gaj.pk,
            "password": "a-long-pass-1",
        },
    ).content.decode()
    assert "部门管理员只能设置本部门" in page
    assert admin.get(f"/users/{org.scjgj_admin.pk}/edit/").status_code == 404
    assert not User.objects.filter(username__in=["spy", "boss"]).exists()
    for user in [org.inspector, org.scjgj_head, org.auditor]:
        assert org.client(user).get("/users/").status_code == 403


def test_user_form_bad_input(org):
    office = org.client(org.office)
    page = office.post(
        "/users/new/", {"username": "x", "role": "inspector", "password": ""}
    ).content.decode()
    assert "用户名须为" in page and "必须属于一个部门" in page and "请为新账号设置初始密码" in page
    page = office.post(
        "/users/new/", {"username": "gaj_admin", "role": "auditor", "password": "short"}
    ).content.decode()
    assert "已被使用" in page
    page = office.post(
        f"/users/{org.office.pk}/edit/",
        {"username": "office", "role": "office", "department": org.scjgj.pk},
    ).content.decode()
    assert "不能停用自己的账号" in page
    assert User.objects.get(pk=org.office.pk).is_active


def _other_prefecture(org):
    from shuangsuiji.core.models import Jurisdiction

    aksu = Jurisdiction.objects.create(code="652900", name="阿克苏地区", level="prefecture")
    dept = Department.objects.create(jurisdiction=aksu, code="SCJGJ", name="地区市场监督管理局")
    office = User.objects.create_user(
        username="aksu_office",
        password="x-long-pass-1",
        role=User.Role.OFFICE,
        jurisdiction=aksu,
        department=dept,
    )
    return aksu, dept, office


def test_an_office_never_reaches_another_jurisdiction(org):
    from shuangsuiji.core import audit, jobs

    _, aksu_dept, aksu_office = _other_prefecture(org)
    other = org.client(aksu_office)
    assert other.get(f"/departments/{org.gaj.pk}/edit/").status_code == 404
    response = other.post(f"/departments/{org.gaj.pk}/edit/", {"code": "GAJ", "name": "改名"})
    assert response.status_code == 404
    page = other.post(
        "/users/new/",
        {
            "username": "mole",
            "role": "dept_admin",
            "department": org.gaj.pk,
            "password": "a-long-pass-1",
            "is_active": "on",
        },
    ).content.decode()
    assert "所选部门不存在" in page and not User.objects.filter(username="mole").exists()
    assert other.get(f"/users/{org.gaj_admin.pk}/edit/").status_code == 404
    audit.record(
        org.gaj_admin,
        "update",
        org.gaj,
        before={"name": "旧"},
        note="bayingol secret",
        department=org.gaj,
    )
    audit.record(org.office, "update", org.office, before={}, note="bayingol account")
    assert "bayingol account" not in other.get("/audit/").content.decode()
    assert "bayingol secret" not in other.get("/audit/").content.decode()
    job = jobs.enqueue("test.none", {}, user=org.gaj_admin, department=org.gaj)
    assert other.get(f"/jobs/{job.pk}/").status_code == 403
    assert "州公安局" not in other.get("/departments/").content.decode()


def test_inspectors_cannot_follow_their_departments_import_jobs(org):
    from shuangsuiji.core import jobs

    job = jobs.enqueue("test.none", {}, user=org.scjgj_admin, department=org.scjgj)
    assert org.client(org.inspector).get(f"/jobs/{job.pk}/").status_code == 403
    assert org.client(org.scjgj_head).get(f"/jobs/{job.pk}/").status_code == 200
    assert org.client(org.auditor).get(f"/jobs/{job.pk}/").status_code == 200


def test_new_account_takes_its_departments_jurisdiction_and_bad_ids_are_errors(org):
    page = (
        org.client(org.office)
        .post(
            "/users/new/",
            {
                "username": "abc",
                "role": "inspector",
                "department": "abc",
                "password": "a-long-pass-1",
            },
        )
        .content.decode()
    )
    assert "所选部门不存在" in page
    org.client(org.office).post(
        "/users/new/",
        {
            "username": "korla_insp",
            "role": "inspector",
            "department": org.gaj.pk,
            "password": "a-long-pass-1",
            "is_active": "on",
        },
    )
    assert User.objects.get(username="korla_insp").jurisdiction == org.gaj.jurisdiction


def test_calendar_year_out_of_range_is_not_found(org):
    assert org.client(org.office).get("/calendar/10000/").status_code == 404
