"""Small builders for the catalog tests."""

from shuangsuiji.catalog import services
from shuangsuiji.catalog.models import ItemList


def item_data(**overrides) -> dict:
    data = {
        "category": "食品安全",
        "name": "食品生产企业生产条件检查",
        "target_type": "食品生产企业",
        "item_type": "一般检查事项",
        "methods": "实地核查、书面检查",
        "subject": "州市场监督管理局",
        "frequency": "每年一次",
        "content": "生产场所、设备设施、人员管理",
        "basis": "《中华人民共和国食品安全法》第一百一十条",
        "item_class": "A",
    }
    data.update(overrides)
    return data


def draft_with_items(user, department, items: list[dict]) -> ItemList:
    draft = services.draft_for_import(user=user, department=department)
    for data in items:
        services.create_item(user=user, item_list=draft, data=data)
    return draft


def published_list(user, department, items: list[dict], note: str = "") -> ItemList:
    draft = draft_with_items(user, department, items)
    return services.publish_list(user=user, item_list=draft, note=note or "调整")
