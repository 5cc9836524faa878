"""The public endpoints: anonymous, exact bytes, RFC 9162 proofs, clear Chinese errors."""

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shuangsuiji.protocol import merkle
from shuangsuiji.protocol.tests.helpers import build_assign, build_draw, draw_vector
from shuangsuiji.publication import services

from .helpers import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client()  # anonymous throughout


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_head_empty_and_filled(client):
    assert get_json(client, "/public/log/head.json") == {"size": 0, "root": merkle.EMPTY_ROOT.hex()}
    docs = fill(5)
    root = merkle.root([merkle.leaf_hash(d) for d in docs])
    assert get_json(client, "/public/log/head.json") == {"size": 5, "root": root.hex()}


def test_entry_is_the_exact_bytes(client):
    odd = '{ "type" : "result", "text": "合格" }'.encode()
    services.append(odd)
    response = client.get("/public/log/entries/0")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == odd
    missing = get_json(client, "/public/log/entries/1", status=404)
    assert "条目 1 不存在" in missing["error"] and "共有 1 条" in missing["error"]


def test_proofs_verify_for_sizes_up_to_20(client):
    docs = fill(20)
    leaves = [merkle.leaf_hash(d) for d in docs]
    for size in range(1, 21):
        root = merkle.root(leaves, size)
        for index in range(size):
            p = get_json(client, f"/public/log/proof/inclusion?index={index}&size={size}")
            assert p["root"] == root.hex() and p["leaf_hash"] == leaves[index].hex()
            proof = [bytes.fromhex(h) for h in p["proof"]]
            assert all(h == h.lower() for h in p["proof"])
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for first in range(size + 1):
            p = get_json(client, f"/public/log/proof/consistency?first={first}&second={size}")
            proof = [bytes.fromhex(h) for h in p["proof"]]
            first_root = merkle.root(leaves, first)
            assert p["first_root"] == first_root.hex() and p["second_root"] == root.hex()
            assert merkle.verify_consistency(first, size, first_root, root, proof)
    # size / second default to the current head
    assert get_json(client, "/public/log/proof/inclusion?index=3")["size"] == 20
    assert get_json(client, "/public/log/proof/consistency?first=3")["second"] == 20


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/public/log/proof/inclusion", "缺少参数 index"),
        ("/public/log/proof/inclusion?index=", "缺少参数 index"),
        ("/public/log/proof/inclusion?index=abc", "参数 index 应为非负整数"),
        ("/public/log/proof/inclusion?index=-1", "参数 index 应为非负整数"),
        ("/public/log/proof/inclusion?index=1.5", "参数 index 应为非负整数"),
        ("/public/log/proof/inclusion?index=%201", "参数 index 应为非负整数"),
        ("/public/log/proof/inclusion?index=1&size=x", "参数 size 应为非负整数"),
        ("/public/log/proof/inclusion?index=99999999999999999999999", "参数 index 应为非负整数"),
        ("/public/log/proof/inclusion?index=3&size=3", "index 超出范围"),
        ("/public/log/proof/inclusion?index=0&size=0", "size 超出范围"),
        ("/public/log/proof/inclusion?index=0&size=6", "size 超出范围"),
        ("/public/log/proof/inclusion?index=5", "index 超出范围"),
        ("/public/log/proof/consistency", "缺少参数 first"),
        ("/public/log/proof/consistency?first=a&second=2", "参数 first 应为非负整数"),
        ("/public/log/proof/consistency?first=1&second=-2", "参数 second 应为非负整数"),
        ("/public/log/proof/consistency?first=3&second=2", "first 超出范围"),
        ("/public/log/proof/consistency?first=1&second=6", "second 超出范围"),
    ],
)
def test_bad_parameters(client, url, message):
    fill(5)
    body = get_json(client, url, status=400)
    assert message in body["error"], body


def test_empty_log_proofs(client):
    assert "size 超出范围" in get_json(client, "/public/log/proof/inclusion?index=0", 400)["error"]
    p = get_json(client, "/public/log/proof/consistency?first=0&second=0")
    assert p["proof"] == [] and p["first_root"] == merkle.EMPTY_ROOT.hex()


def test_json_endpoints_are_get_only(client):
    fill(1)
    for url in (
        "/public/log/head.json",
        "/public/log/entries/0",
        "/public/log/proof/inclusion?index=0",
    ):
        assert client.post(url).status_code == 405


def test_log_page_lists_and_pages(client):
    fill(53)
    page = client.get("/public/log/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "共 <strong>53</strong> 条" in html and "如何自行核对" in html
    assert "/public/log/entries/52" in html and '/public/log/entries/2"' not in html
    assert "第 1 / 2 页" in html
    second = client.get("/public/log/?page=2").content.decode()
    assert '/public/log/entries/0"' in second
    assert client.get("/public/log/?page=zz").status_code == 200  # falls back to page 1


def test_log_page_empty(client):
    assert "日志中还没有条目" in client.get("/public/log/").content.decode()


def test_logged_in_users_see_the_same(org):
    fill(2)
    anon = Client().get("/public/log/head.json").content
    assert org.client(org.inspector).get("/public/log/head.json").content == anon


# --- the verify page ----------------------------------------------------------------------------


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def draw_post(case, **overrides):
    data = {
        "check": "draw",
        "record": upload("release.json", case.release_bytes),
        "population": upload("population.tsv", case.population),
        "excluded": upload("excluded.tsv", case.excluded),
        "announcement": upload("announcement.json", case.announcement_bytes),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_verify_page_explains(client):
    html = client.get("/public/verify/").content.decode()
    assert (
        "shuangsuiji verify RECORD.json POPULATION.tsv EXCLUDED.tsv --announcement A.json" in html
    )
    assert "verify-assign" in html and "退出码" in html


def test_verify_upload_pass(client):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    response = client.post("/public/verify/", draw_post(case))
    html = response.content.decode()
    assert response.status_code == 200
    assert "通过 (PASS)：" in html and "结果：通过 (PASS)" in html


def test_verify_upload_pass_with_an_empty_excluded_file(client):
    vector = copy.deepcopy(draw_vector("ratio-five-strata"))
    vector["input"]["excluded"] = []
    case = build_draw(vector)
    assert case.excluded == b""
    html = client.post("/public/verify/", draw_post(case)).content.decode()
    assert "结果：通过 (PASS)" in html


def test_verify_upload_shows_what_differs(client):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    case.release["selected"][0]["score"] = "0" * 64
    html = client.post("/public/verify/", draw_post(case)).content.decode()
    assert "不符 (FAIL)" in html and "score 不符" in html


def test_verify_upload_unreadable(client):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    html = client.post(
        "/public/verify/", draw_post(case, record=upload("r.json", b"not json"))
    ).content.decode()
    assert "无法读取 (UNREADABLE)" in html


def test_verify_upload_missing_file(client):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    response = client.post("/public/verify/", draw_post(case, excluded=None))
    assert response.status_code == 400
    assert "这个字段是必填项" in response.content.decode()


def test_verify_assign_upload(client):
    case = build_assign()
    data = {
        "check": "assign",
        "record": upload("record.json", case.record_bytes),
        "teams": upload("teams.tsv", case.inputs.teams_bytes),
        "need": upload("need.tsv", case.inputs.need_bytes),
        "eligibility": upload("eligibility.tsv", case.inputs.eligibility_bytes),
        "announcement": upload("a.json", case.announcement_bytes),
    }
    html = client.post("/public/verify/", data).content.decode()
    assert "结果：通过 (PASS)" in html
    data["teams"] = upload("teams.tsv", case.inputs.teams_bytes + b"X\tY\n")
    data["record"] = upload("record.json", case.record_bytes)
    data["need"] = upload("need.tsv", case.inputs.need_bytes)
    data["eligibility"] = upload("eligibility.tsv", case.inputs.eligibility_bytes)
    data["announcement"] = upload("a.json", case.announcement_bytes)
    assert "不符 (FAIL)" in client.post("/public/verify/", data).content.decode()
