"""The lock panel and its actions, and the /locks/ list, through the test client."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from locks_app import tokens
from locks_app.models import LockToken
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def key(obj):
    return f"{obj._meta.label_lower}:{obj.pk}"


def post(client, name, **data):
    return client.post(reverse(f"locks:{name}"), data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_lock_share_extend_and_unlock_round_trip(client, alice, bob, group):
    client.force_login(alice)
    response = post(client, "lock", object=key(group), duration="1h", next="/locks/?x=1")
    assert response.redirect_chain[-1][0] == "/locks/?x=1"
    assert any(text.startswith("Locked reprocessing until") for text in messages_of(response))
    assert TokenUtility().get(group).principal_ids == {"alice"}
    post(client, "share", object=key(group), usernames="bob")
    assert TokenUtility().get(group).principal_ids == {"alice", "bob"}
    before = TokenUtility().get(group).expiration
    response = post(client, "extend", object=key(group), by="2h")
    assert TokenUtility().get(group).expiration == before + 2 * HOUR
    assert any("is now locked until" in text for text in messages_of(response))
    response = post(client, "end", object=key(group))
    assert TokenUtility().get(group) is None
    assert "Ended the shared lock on reprocessing." in messages_of(response)


def test_refusals_are_messages(client, make_user, alice, group):
    TokenUtility().register(tokens.ExclusiveLock(group, "bob", HOUR))
    client.force_login(alice)
    response = post(client, "lock", object=key(group), duration="8h")
    assert any("reprocessing is locked by bob until" in text for text in messages_of(response))
    response = post(client, "end", object=key(group))
    assert any("only a holder may end it" in text for text in messages_of(response))
    response = post(client, "extend", object=key(group), by="1h")
    assert any("only a holder may change it" in text for text in messages_of(response))
    response = post(client, "join", object=key(group))
    assert any("join_lock" in text for text in messages_of(response))
    response = post(client, "freeze", object=key(group), duration="until-ended")
    assert any("freeze_object" in text for text in messages_of(response))


def test_join_from_the_browser(client, make_user, alice, group):
    TokenUtility().register(tokens.SharedLock(group, ["bob"], HOUR))
    client.force_login(make_user("joiner", "change_group", "join_lock"))
    response = post(client, "join", object=key(group))
    assert "reprocessing is now locked by bob, joiner." in messages_of(response)


def test_garbage_is_refused_with_a_message(client, alice, group):
    client.force_login(alice)
    for data in ({"object": "no-key"}, {"object": "auth.group:999999"}, {"object": "nope.model:1"},
                 {"object": "x" * 300}):
        response = post(client, "lock", duration="1h", **data)
        assert messages_of(response) and not LockToken.objects.exists()
    response = post(client, "lock", object=key(group), duration="forever-ish")
    assert "Select a valid choice" in messages_of(response)[0]
    TokenUtility().register(tokens.ExclusiveLock(group, "alice", HOUR))
    response = post(client, "extend", object=key(group), by="99999999d")
    assert "Select a valid choice" in messages_of(response)[0]
    assert TokenUtility().get(group).duration == HOUR


def test_no_permission_no_lock(client, make_user, group):
    """#11 finding 5: a signed-in user with no permissions cannot lock anything."""
    client.force_login(make_user("nobody"))
    for duration in ("1h", "until-ended"):
        response = post(client, "lock", object=key(group), duration=duration)
        assert any("auth.change_group" in text for text in messages_of(response))
    assert not LockToken.objects.exists()


def test_until_ended_needs_its_permission(client, make_user, alice, group, other_group):
    """#11 finding 5: "until ended" is not for every operator."""
    client.force_login(alice)
    response = post(client, "lock", object=key(group), duration="until-ended")
    assert any("lock_until_ended" in text for text in messages_of(response))
    assert not LockToken.objects.exists()
    client.force_login(make_user("keeper", "change_group", "lock_until_ended"))
    post(client, "lock", object=key(other_group), duration="until-ended")
    assert TokenUtility().get(other_group).expiration is None


def test_other_models_cannot_be_locked_nor_listed(client, alice, groups_lockable):
    """#11 finding 5: ``auth.user:<pk>`` was accepted and printed, listing user names; now every
    key of a model outside LOCKABLE_MODELS gets the same answer, existing or not."""
    client.force_login(alice)
    answers = set()
    for pk in (alice.pk, 999999):
        response = post(client, "lock", object=f"auth.user:{pk}", duration="1h")
        answers.add(tuple(text.replace(str(pk), "PK") for text in messages_of(response)))
        assert "alice" not in " ".join(messages_of(response))
    assert len(answers) == 1 and not LockToken.objects.exists()
    assert "auth.user" not in client.get(reverse("locks:list")).content.decode()


def test_sharing_does_not_tell_which_names_exist(client, make_user, alice, group):
    """#11 finding 5: "Unknown user(s)" confirmed names; now a name nobody has and a user who may
    not share the lock get the same message."""
    make_user("outsider")
    client.force_login(alice)
    post(client, "lock", object=key(group), duration="1h")
    answers = set()
    for name in ("outsider", "no-such-user"):
        response = post(client, "share", object=key(group), usernames=name)
        answers.add(tuple(text.replace(name, "NAME") for text in messages_of(response)))
    assert len(answers) == 1, answers
    assert "Unknown" not in str(answers)
    assert TokenUtility().get(group).principal_ids == {"alice"}


def test_next_must_be_on_this_site(client, alice, group):
    client.force_login(alice)
    response = client.post(reverse("locks:lock"), {"object": key(group), "duration": "1h",
                                                   "next": "https://evil.example/"})
    assert response["Location"] == reverse("locks:list")


def test_actions_are_post_only(client, alice):
    client.force_login(alice)
    for name in ("lock", "extend", "join"):
        assert client.get(reverse(f"locks:{name}")).status_code == 405


def test_anonymous_users_are_sent_to_login(client, group):
    response = client.post(reverse("locks:lock"), {"object": key(group), "duration": "1h"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not LockToken.objects.exists()


def test_list_shows_my_locks_and_staff_filters(client, alice, bob):
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


def test_panel_shows_state_and_the_forms_this_user_may_post(make_user, alice, bob, group):
    html = render_panel(alice, group)
    assert "Not locked" in html and reverse("locks:lock") in html and reverse("locks:freeze") not in html
    assert 'value="until-ended"' not in html
    assert reverse("locks:lock") not in render_panel(make_user("nobody"), group)
    freezer = make_user("freezer", "change_group", "freeze_object", "lock_until_ended")
    html = render_panel(freezer, group)
    assert reverse("locks:freeze") in html and 'value="until-ended"' in html
    TokenUtility().register(tokens.ExclusiveLock(group, "alice", datetime.timedelta(hours=8)))
    html = render_panel(alice, group)
    assert "Locked by alice until" in html and "left." in html and "Unlock" in html
    assert reverse("locks:extend") in html and "About to expire" not in html
    assert 'name="next" value="/campaign/1/"' in html
    html = render_panel(bob, group)
    assert reverse("locks:end") not in html and reverse("locks:share") not in html
    assert reverse("locks:extend") not in html


def test_panel_warns_of_a_lock_about_to_expire(alice, bob, group):
    TokenUtility().register(tokens.ExclusiveLock(group, "alice", datetime.timedelta(minutes=10)))
    html = render_panel(alice, group)
    assert "About to expire" in html and "extend it below" in html
    assert "About to expire" in render_panel(bob, group)


def test_panel_offers_join_to_those_who_may(make_user, alice, group):
    TokenUtility().register(tokens.SharedLock(group, ["alice"], HOUR))
    assert reverse("locks:join") not in render_panel(alice, group)
    assert reverse("locks:join") not in render_panel(make_user("plain", "change_group"), group)
    assert reverse("locks:join") in render_panel(make_user("joiner", "change_group", "join_lock"), group)


def test_panel_of_a_permanent_freeze(make_user, alice, group):
    TokenUtility().register(tokens.Freeze(group))
    html = render_panel(make_user("freezer", "change_group", "freeze_object"), group)
    assert "Frozen since" in html and reverse("locks:end") not in html and "left." not in html
    assert isinstance(User.objects.get(username="alice"), User)
