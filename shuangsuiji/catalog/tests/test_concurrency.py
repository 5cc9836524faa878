"""Real races on PostgreSQL: two users publishing the same draft, or editing while it is published.

The services take the list row with ``select_for_update`` and re-check that it is a draft; these
tests start both writers at the same moment in two threads (two database connections). SQLite
serialises writers anyway (IMMEDIATE transactions), so the tests run on PostgreSQL only."""

import pytest
from django.db import connection

from shuangsuiji.catalog import services
from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core.models import AuditEntry
from shuangsuiji.core.tests.concurrency import race

from .helpers import draft_with_items, item_data

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)"
)


def test_two_simultaneous_publishes(org, transactional_db):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    results = race(
        lambda: services.publish_list(
            user=org.scjgj_admin, item_list=ItemList.objects.get(pk=draft.pk)
        ),
        lambda: services.publish_list(
            user=org.scjgj_head, item_list=ItemList.objects.get(pk=draft.pk)
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], services.CatalogError), results
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PUBLISH).count() == 1


def test_edit_racing_a_publish(org, transactional_db):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    item = draft.items.get()
    results = race(
        lambda: services.publish_list(user=org.scjgj_head, item_list=draft),
        lambda: services.update_item(
            user=org.scjgj_admin, item=item, data=item_data(name="同时修改")
        ),
    )
    draft.refresh_from_db()
    assert draft.status == ItemList.Status.PUBLISHED
    name = Item.objects.get(pk=item.pk).name
    if isinstance(results[1], Exception):
        # The publish won: the edit was refused and the published item is untouched.
        assert isinstance(results[1], services.CatalogError)
        assert name == "食品生产企业生产条件检查"
    else:
        # The edit won: it happened before the publish, which then published the edited item.
        assert name == "同时修改"


def test_two_simultaneous_new_versions(org, transactional_db):
    services.publish_list(
        user=org.gaj_admin, item_list=draft_with_items(org.gaj_admin, org.gaj, [item_data()])
    )
    results = race(
        lambda: services.new_version(user=org.gaj_admin, department=org.gaj),
        lambda: services.new_version(user=org.gaj_admin, department=org.gaj),
    )
    assert sum(isinstance(r, services.CatalogError) for r in results) == 1, results
    assert ItemList.objects.filter(department=org.gaj, status=ItemList.Status.DRAFT).count() == 1
