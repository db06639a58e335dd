"""The admin: token history with filters and the "end selected" action; read-only indexes."""

import datetime

import pytest
from django.urls import reverse

from locks_app import tokens
from locks_app.models import LockedObject, LockPrincipal, LockToken
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens_made():
    util = TokenUtility()
    util.register(tokens.ExclusiveLock("doc:active", "alice"))
    util.register(tokens.ExclusiveLock("doc:ended", "bob")).end()
    util.register(tokens.Freeze("doc:frozen"))
    expired = util.register(tokens.ExclusiveLock("doc:expired", "carol", datetime.timedelta(hours=1)))
    LockToken.objects.filter(pk=expired.row.pk).update(
        started=expired.started - datetime.timedelta(hours=2),
        expiration=expired.expiration - datetime.timedelta(hours=2),
    )


def changelist(client, **params):
    response = client.get(reverse("admin:locks_app_locktoken_changelist"), params)
    assert response.status_code == 200
    return {row.object_key for row in response.context["cl"].result_list}


def test_filters_and_search(admin_client, tokens_made):
    assert changelist(admin_client, state="active") == {"doc:active", "doc:frozen"}
    assert changelist(admin_client, state="expired") == {"doc:expired"}
    assert changelist(admin_client, state="ended") == {"doc:ended"}
    assert changelist(admin_client, kind="freeze") == {"doc:frozen"}
    assert changelist(admin_client, principal="alice") == {"doc:active"}
    assert changelist(admin_client, q="froz") == {"doc:frozen"}


def test_end_selected(admin_client, tokens_made):
    rows = LockToken.objects.filter(object_key__in=["doc:active", "doc:frozen", "doc:ended"])
    response = admin_client.post(
        reverse("admin:locks_app_locktoken_changelist"),
        {"action": "end_selected", "_selected_action": [row.pk for row in rows]},
        follow=True,
    )
    texts = [str(message) for message in response.context["messages"]]
    assert "Ended 1 token(s)." in texts and any("permanent freezes" in text for text in texts)
    assert TokenUtility().get("doc:active") is None
    assert LockToken.objects.get(object_key="doc:active").end_reason == "broken"


def test_index_tables_are_read_only(admin_client, tokens_made):
    for model in (LockedObject, LockPrincipal):
        name = model._meta.model_name
        assert admin_client.get(reverse(f"admin:locks_app_{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:locks_app_{name}_add")).status_code == 403
        row = model.objects.first()
        page = admin_client.get(reverse(f"admin:locks_app_{name}_change", args=[row.pk]))
        assert page.status_code == 200 and b'type="submit"' not in page.content.split(b"<form")[-1]
