"""The lock panel and its actions, and the /locks/ list, through the test client."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from locks_app import tokens
from locks_app.models import LockToken
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="pw")


@pytest.fixture
def bob():
    return User.objects.create_user("bob", password="pw")


@pytest.fixture
def target(bob):
    """Any model instance will do as the locked object: bob's user record."""
    return bob


def key(obj):
    return f"auth.user:{obj.pk}"


def post(client, name, **data):
    return client.post(reverse(f"locks:{name}"), data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_lock_share_and_unlock_round_trip(client, alice, bob, target):
    client.force_login(alice)
    response = post(client, "lock", object=key(target), duration="1h", next="/locks/?x=1")
    assert response.redirect_chain[-1][0] == "/locks/?x=1"
    assert any(text.startswith("Locked bob until") for text in messages_of(response))
    assert TokenUtility().get(target).principal_ids == {"alice"}
    post(client, "share", object=key(target), usernames="bob")
    assert TokenUtility().get(target).principal_ids == {"alice", "bob"}
    response = post(client, "end", object=key(target))
    assert TokenUtility().get(target) is None
    assert "Ended the shared lock on bob." in messages_of(response)


def test_refusals_are_messages(client, alice, bob, target):
    TokenUtility().register(tokens.ExclusiveLock(target, "bob"))
    client.force_login(alice)
    response = post(client, "lock", object=key(target), duration="8h")
    assert "bob is locked by bob until ended." in messages_of(response)
    response = post(client, "end", object=key(target))
    assert any("only a holder may end it" in text for text in messages_of(response))
    response = post(client, "freeze", object=key(target), duration="until-ended")
    assert any("freeze_object" in text for text in messages_of(response))


def test_garbage_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    for data in ({"object": "no-key"}, {"object": "auth.user:999999"}, {"object": "nope.model:1"}):
        response = post(client, "lock", duration="1h", **data)
        assert messages_of(response) and not LockToken.objects.exists()
    response = post(client, "lock", object=f"auth.user:{alice.pk}", duration="forever-ish")
    assert "Select a valid choice" in messages_of(response)[0]


def test_next_must_be_on_this_site(client, alice, target):
    client.force_login(alice)
    response = client.post(reverse("locks:lock"), {"object": key(target), "duration": "1h",
                                                   "next": "https://evil.example/"})
    assert response["Location"] == reverse("locks:list")


def test_actions_are_post_only(client, alice):
    client.force_login(alice)
    assert client.get(reverse("locks:lock")).status_code == 405


def test_anonymous_users_are_sent_to_login(client, target):
    response = client.post(reverse("locks:lock"), {"object": key(target), "duration": "1h"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not LockToken.objects.exists()


def test_list_shows_my_locks_and_staff_filters(client, alice, bob, target):
    TokenUtility().register(tokens.ExclusiveLock("doc:mine", "alice"))
    TokenUtility().register(tokens.ExclusiveLock("doc:theirs", "bob"))
    client.force_login(alice)
    page = client.get(reverse("locks:list")).content.decode()
    assert "doc:mine" in page and "doc:theirs" not in page
    alice.is_staff = True
    alice.save()
    page = client.get(reverse("locks:list"), {"principal": "bob"}).content.decode()
    assert "doc:theirs" in page
    page = client.get(reverse("locks:list"), {"object": "theirs", "kind": "freeze"}).content.decode()
    assert "No active locks match." in page


def render_panel(user, obj):
    request = RequestFactory().get("/campaign/1/")
    request.user = user
    return Template("{% load locks %}{% lock_panel obj %}").render(
        Context({"request": request, "obj": obj, "csrf_token": "t"})
    )


def test_panel_shows_state_and_the_forms_this_user_may_post(alice, bob, target):
    html = render_panel(alice, target)
    assert "Not locked" in html and reverse("locks:lock") in html and reverse("locks:freeze") not in html
    alice.user_permissions.add(Permission.objects.get(codename="freeze_object"))
    alice = User.objects.get(pk=alice.pk)
    assert reverse("locks:freeze") in render_panel(alice, target)
    TokenUtility().register(tokens.ExclusiveLock(target, "alice", datetime.timedelta(hours=8)))
    html = render_panel(alice, target)
    assert "Locked by alice until" in html and "left." in html and "Unlock" in html
    assert 'name="next" value="/campaign/1/"' in html
    html = render_panel(bob, target)
    assert reverse("locks:end") not in html and reverse("locks:share") not in html
