"""Actions on what the campaign page shows: the open tab and search carried into the action
forms, "these N search results" as the commands' --view/--ids/--where selection (re-decided
against CouchDB when the operation runs), the reset of one row of the error tables, the scrub
of the tokens locked longer than an age, the sortable operations list, and garbage refused."""

import html

import pytest
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import services, token_selections
from tokens_app.couch import get_gateway
from tokens_app.design import state_of
from tokens_app.models import Operation

pytestmark = pytest.mark.django_db


def fail(campaign, token_id, host, code):
    """A pilot failed the token: an exit code, or without one the status ``error``."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    failure = {"exit_code": code} if code is not None else {"status": "error"}
    gateway.put_doc(campaign.database, {**doc, "lock": 1_700_000_000, "done": 1_700_000_060, "hostname": host,
                                        **failure})


def url(name, campaign):
    return reverse(f"tokens:campaign-{name}", args=[campaign.pk])


def states(campaign, ids):
    """``{id: (hostname, exit code, state)}`` as CouchDB holds them."""
    docs = get_gateway().fetch_docs(campaign.database, ids)
    return {token_id: (docs[token_id].get("hostname"), docs[token_id].get("exit_code"), state_of(docs[token_id]))
            for token_id in ids}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def failed(campaign):
    """Errors: ids 0 and 1 on vm-pilot3 (exit codes 1 and 2), 2 on vm-pilot4 (1), 3 with no
    exit code on vm-pilot4; the rest todo."""
    ids = services.plan_of(campaign).token_ids
    fail(campaign, ids[0], "vm-pilot3", 1)
    fail(campaign, ids[1], "vm-pilot3", 2)
    fail(campaign, ids[2], "vm-pilot4", 1)
    fail(campaign, ids[3], "vm-pilot4", None)
    return campaign, ids


def reset(client, campaign, **chosen):
    """The confirmation's count, then the message of the confirmed reset."""
    confirm = client.post(url("reset", campaign), chosen)
    assert confirm.status_code == 200, confirm.context["form"].errors if confirm.context else confirm
    done = client.post(url("reset", campaign), {**chosen, "confirmed": "True"}, follow=True)
    return confirm.context["count"], messages_of(done)


def test_a_host_search_is_the_where_of_the_commands_and_an_id_search_the_ids_it_matches(operator_client, failed):
    campaign, ids = failed
    operator_client.get(campaign.get_absolute_url())  # the read model catches up
    assert token_selections.search_targets(campaign, "error", "host:vm-pilot3") == {
        "view": "error", "where": {"hostname": "vm-pilot3"}}
    assert token_selections.search_targets(campaign, "tokens", "SB005") == {"view": None, "ids": [ids[5]]}
    assert token_selections.search_targets(campaign, "error", "SB005") == {"view": "error", "ids": []}
    assert token_selections.search_targets(campaign, "tokens", "") == {"view": None}
    assert token_selections.search_targets(campaign, "error", "") == {"view": "error"}
    assert token_selections.count_targets(campaign, view="error", where={"hostname": "vm-pilot4"}) == 2
    assert token_selections.count_targets(campaign, view="error", where={"exit_code": 1}) == 2
    assert token_selections.count_targets(campaign, view="error", where={"exit_code": None}) == 1
    # Another tool's view or a field the read model does not keep: CouchDB is asked instead.
    assert token_selections.count_targets(campaign, view="mine") is None
    assert token_selections.count_targets(campaign, where={"priority": 1}) is None


def test_reset_of_a_search_result_changes_exactly_those_tokens(operator_client, failed):
    campaign, ids = failed
    count, message = reset(operator_client, campaign, view="error", q="host:vm-pilot3")
    # The walk of the error view passes over the other host's two (skipped), as --where does.
    assert count == 2 and message == ["Reset: 2 changed, 0 conflicted, 2 skipped."]
    after = states(campaign, ids[:4])
    assert after[ids[0]][2] == after[ids[1]][2] == "todo"
    assert after[ids[2]] == ("vm-pilot4", 1, "error") and after[ids[3]] == ("vm-pilot4", None, "error")
    operation = Operation.objects.get(action=Operation.Action.RESET)
    assert operation.selection == {"view": "error", "where": {"hostname": "vm-pilot3"}}


def test_an_id_search_in_a_tab_resets_its_matches_in_that_state_only(operator_client, failed):
    campaign, ids = failed
    # An id part: "_SB00" is in the first ten ids; in the error tab, the four in error.
    count, message = reset(operator_client, campaign, view="error", q="_SB00")
    assert count == 4 and message == ["Reset: 4 changed, 0 conflicted, 0 skipped."]
    count, message = reset(operator_client, campaign, view="tokens", q="SB011")
    assert count == 1 and "1 changed" in message[0]
    assert get_gateway().get_doc(campaign.database, ids[11])["scrub_count"] == 1
    assert get_gateway().get_doc(campaign.database, ids[10])["scrub_count"] == 0


def test_the_selection_is_decided_again_when_the_operation_runs(operator_client, failed):
    campaign, ids = failed
    confirm = operator_client.post(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3"})
    assert confirm.context["count"] == 2
    # A pilot ran one of them again before the operator confirmed: it is no longer in error.
    doc = get_gateway().get_doc(campaign.database, ids[1])
    get_gateway().put_doc(campaign.database, {**doc, "exit_code": 0, "output": 0, "done": 1_700_000_100})
    done = operator_client.post(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3", "confirmed": "True"},
                                follow=True)
    assert messages_of(done) == ["Reset: 1 changed, 0 conflicted, 2 skipped."]
    assert states(campaign, ids[1:2])[ids[1]][2] == "done"


def test_the_error_rows_reset_their_exit_code_or_host(operator_client, failed):
    campaign, ids = failed
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert page.count('data-testid="reset-exit-code"') == 3 and page.count('data-testid="reset-host"') == 2
    assert 'name="where" value="exit_code=null"' in page and 'name="q" value="host:vm-pilot4"' in page
    # The page script's refreshed errors keep the buttons, each form with its CSRF token.
    live = operator_client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()["html"]["errors"]
    assert live.count('data-testid="reset-exit-code"') == 3 and live.count("csrfmiddlewaretoken") == 5
    count, message = reset(operator_client, campaign, view="error", where="exit_code=1")
    assert count == 2 and message == ["Reset: 2 changed, 0 conflicted, 2 skipped."]
    assert [states(campaign, ids[:4])[token_id][2] for token_id in ids[:4]] == ["todo", "error", "todo", "error"]
    count, message = reset(operator_client, campaign, view="error", where="exit_code=null")
    assert count == 1 and "1 changed" in message[0]
    assert states(campaign, ids[3:4])[ids[3]][2] == "todo"
    count, message = reset(operator_client, campaign, view="error", q="host:vm-pilot3")
    assert count == 1 and "1 changed" in message[0]
    assert "No token is in error" in operator_client.get(campaign.get_absolute_url()).content.decode()


def test_the_page_starts_its_forms_and_links_from_the_open_tab_and_search(operator_client, failed):
    campaign, _ = failed
    response = operator_client.get(campaign.get_absolute_url(), {"view": "error", "q": "host:vm-pilot3"})
    forms = response.context["forms"]
    assert forms["reset"]["view"].value() == "error" and forms["reset"]["q"].value() == "host:vm-pilot3"
    assert forms["delete"]["q"].value() == "host:vm-pilot3"
    page = response.content.decode()
    assert "Act on these 2 search results" in page
    link = html.escape(f"{url('reset', campaign)}?view=error&q=host%3Avm-pilot3")
    assert link in page
    # The link opens the action's own page with the form filled in.
    form_page = operator_client.get(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3"})
    assert form_page.context["form"]["q"].value() == "host:vm-pilot3"
    assert form_page.context["form"]["view"].value() == "error"


def test_actions_on_a_search_check_the_permission_and_the_guard_first(client, victor, alice, failed):
    campaign, ids = failed
    client.force_login(victor)
    assert client.get(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3"}).status_code == 403
    assert client.post(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3"}).status_code == 403
    viewer_page = client.get(campaign.get_absolute_url(), {"view": "error"}).content.decode()
    assert "reset-exit-code" not in viewer_page and "Act on" not in viewer_page
    client.force_login(alice)
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    refused = client.post(url("reset", campaign), {"view": "error", "q": "host:vm-pilot3"}, follow=True)
    assert "locked by bob" in messages_of(refused)[0]
    assert states(campaign, ids[:1])[ids[0]][2] == "error"


@pytest.mark.parametrize("field, value, expected", [
    ("where", "exit_code", "is not FIELD=VALUE"),
    ("where", "=1", "is not FIELD=VALUE"),
    ("where", "_id=t1", "filter field name"),
    ("where", "x" * 1001 + "=1", "at most 1000 characters"),
    ("q", "x" * 201, "at most 200 characters"),
    ("q", "SB\0", "Null characters are not allowed"),
])
def test_garbage_in_the_new_fields_is_refused_on_the_form(operator_client, failed, field, value, expected):
    campaign, ids = failed
    for action in ("reset", "set-status", "delete"):
        response = operator_client.post(url(action, campaign), {"view": "error", "status": "x", field: value})
        assert response.status_code == 200
        assert expected in " ".join(response.context["form"].errors[field]), response.context["form"].errors
    assert states(campaign, ids[:1])[ids[0]][2] == "error"


def test_a_search_matching_more_than_an_operation_takes_is_refused(operator_client, failed, monkeypatch):
    campaign, _ = failed
    monkeypatch.setattr(token_selections, "MAX_SEARCH_IDS", 3)
    response = operator_client.post(url("reset", campaign), {"view": "tokens", "q": "_SB00"})
    assert "narrow it" in response.context["form"].errors["q"][0]
    # A search looks through a state or every token, as the page's does, not another view.
    refused = operator_client.post(url("reset", campaign), {"view": "mine", "q": "SB001"})
    assert "not the view 'mine'" in refused.context["form"].errors["q"][0]
    # A host search is a filter, not ids: no such limit.
    assert operator_client.post(url("reset", campaign), {"view": "error", "q": "host:vm-pilot4"}).context["count"] == 2


def test_a_state_may_narrow_ids_but_another_view_may_not(failed):
    campaign, ids = failed
    with pytest.raises(services.ServiceError, match="not both"):
        services.reset_tokens(campaign, user=campaign.created_by, view="mine", ids=[ids[0]])
    result = services.reset_tokens(campaign, user=campaign.created_by, view="error", ids=[ids[0], ids[5]])
    assert (result.changed, result.skipped) == (1, 1)


@pytest.mark.parametrize("garbage", ["-1", "0", "soon", "6", "1e400h", ""])
def test_scrub_ages_that_are_no_duration_are_refused(operator_client, campaign, garbage):
    response = operator_client.post(url("scrub", campaign), {"older_than": garbage})
    assert "older_than" in response.context["form"].errors


def test_operations_sort_by_a_column_on_the_server(operator_client, failed):
    campaign, _ = failed
    reset(operator_client, campaign, view="error", where="exit_code=2")
    services.set_status(campaign, "held", user=campaign.created_by, view="todo")
    Operation.objects.create(action=Operation.Action.SET_STATUS, campaign=campaign, username="zed",
                             target=str(campaign), state=Operation.State.DONE)
    listed = operator_client.get(reverse("tokens:operations"), {"sort": "username"})
    names = [operation.username for operation in listed.context["operations"]]
    assert names == sorted(names) and names[-1] == "zed"
    page = listed.content.decode()
    assert 'aria-sort="ascending"' in page and "sort=-username" in page
    backwards = operator_client.get(reverse("tokens:operations"), {"sort": "-username"})
    assert [operation.username for operation in backwards.context["operations"]][0] == "zed"
    refused = operator_client.get(reverse("tokens:operations"), {"sort": "password"})
    assert "Filters not understood (sort:" in refused.content.decode()
