"""Access: who may see and change what, tried on every route and every command that acts.

Routes come from walking the resolver (hardening_urls), so a page added later is covered by
these tests without editing them.
"""

import datetime

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from hardening_support import PASSWORD, documents, run_command, srm_list, yaml_config
from hardening_urls import accepts_post, routes
from locks_app.broker import TokenBroker
from tokens_app.models import Operation

pytestmark = pytest.mark.django_db

# Pages that must answer without a login: health for monitoring, and the sign-in pages.
ANONYMOUS_OK = {"/healthz", "/accounts/login/", "/admin/login/"}
# Endpoints for machines: a request without a sign-in or a token is refused (401), not redirected.
TOKEN_ONLY = {"/metrics"}


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


# -- anonymous users ---------------------------------------------------------------------------

@pytest.mark.parametrize("route", [r for r in routes() if r.path not in ANONYMOUS_OK | TOKEN_ONLY], ids=str)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_route_sends_an_anonymous_user_to_login(client, route, method):
    response = getattr(client, method)(route.path)
    if response.status_code == 302 and response["Location"].startswith("/admin/login/"):
        # The admin's own login URL forwards to the portal's sign-in page.
        response = client.get(response["Location"])
    assert is_login_redirect(response), (route, response.status_code)


@pytest.mark.parametrize("path", sorted(TOKEN_ONLY))
def test_a_machine_endpoint_refuses_an_anonymous_request(client, path):
    response = client.get(path)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert client.post(path).status_code in (401, 405)


def test_healthz_answers_without_login(client, couch_server):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True


def test_the_admin_signs_in_through_the_rate_limited_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"


# -- CSRF --------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", routes(), ids=str)
def test_every_post_needs_a_csrf_token(route, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    # The check comes before any view runs, so no campaign is needed behind the path.
    response = client.post(route.path, {"confirmed": "on", "view": "todo", "status": "x"})
    assert response.status_code == 403, route
    assert b"CSRF" in response.content


def test_sign_in_needs_a_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


# -- the change permission: views --------------------------------------------------------------

# Pages where a user changes only their own settings (notification subscriptions), not a campaign:
# a user who may change no campaign may still be told about one (tests/tokens_app/test_notification_pages.py).
OWN_SETTINGS_ROUTES = {"tokens:notifications", "tokens:subscription-delete"}
MUTATING_ROUTES = [r for r in routes() if r.name.startswith("tokens:") and accepts_post(r) and r.name not in OWN_SETTINGS_ROUTES]


def test_the_dashboard_has_mutating_views_to_check():
    names = {route.name for route in MUTATING_ROUTES}
    assert {"tokens:campaign-new", "tokens:campaign-reset", "tokens:campaign-purge"} <= names


@pytest.mark.parametrize("route", MUTATING_ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_user_without_change_permission_gets_403_from_every_mutating_view(
    client, viewer, campaign, gateway, route, method
):
    client.force_login(viewer)
    before = documents(gateway, campaign.database)
    path = route.path.replace("/campaigns/1/", f"/campaigns/{campaign.pk}/")
    data = {"confirmed": "on", "view": "todo", "status": "x", "field": "f", "value": "1",
            "database": campaign.database, "token_type": campaign.token_type}
    response = getattr(client, method)(path, data)
    assert response.status_code in (403, 405), (route, response.status_code)
    if method == "post":
        assert response.status_code == 403
    assert documents(gateway, campaign.database) == before


# -- the change permission and lock holders: commands --------------------------------------------

def command_arguments(campaign, tmp_path) -> dict[str, list[str]]:
    """Arguments that make each acting command do something real on ``campaign``."""
    (tmp_path / "extra.txt").write_text("extra")
    (tmp_path / "config.yaml").write_bytes(yaml_config(campaign.token_type))
    (tmp_path / "list.txt").write_bytes(srm_list(3, start=100))
    target = ["--type", campaign.token_type, "--database", campaign.database]
    return {
        "add_token_view": [*target, "mine", 'doc.status == "todo"'],
        "archive_tokens": [*target, "--delete", "--yes", "--output", str(tmp_path / "a.tar.gz")],
        "attach_to_tokens": [*target, str(tmp_path / "extra.txt")],
        "create_tokenset": [*target, "--config", str(tmp_path / "config.yaml"),
                            "--srmlist", str(tmp_path / "list.txt"), "--overwrite"],
        "delete_tokens": [*target, "--yes"],
        "purge_tokens": [*target, "--yes"],
        "reset_tokens": [*target, "--yes"],
        "resume_operation": [str(interrupted_reset(campaign).pk)],
        "scrub_tokens": [*target, "--older-than", "1s"],
        "seed_demo": ["--database", campaign.database],
        "set_token_field": [*target, "field", "1"],
        "set_token_status": [*target, "running", "--yes"],
    }


def interrupted_reset(campaign) -> Operation:
    """A reset of every token whose worker died half-way (resuming it would reset them)."""
    return Operation.objects.create(action="reset", campaign=campaign, target=str(campaign), source="browser",
                                    state="interrupted", user=campaign.created_by)


def acting_commands() -> list[str]:
    """The token commands that take ``--user``: the ones that change something."""
    names = []
    for name, app in sorted(get_commands().items()):
        if app not in ("tokens_app", "devtools"):
            continue
        parser = load_command_class(app, name).create_parser("manage.py", name)
        if any("--user" in action.option_strings for action in parser._actions):
            names.append(name)
    return names


def test_every_acting_command_is_tried(campaign, tmp_path):
    assert set(acting_commands()) == set(command_arguments(campaign, tmp_path))


@pytest.mark.parametrize("name", acting_commands())
def test_a_user_without_change_permission_is_refused_by_every_acting_command(
    name, viewer, campaign, gateway, tmp_path
):
    before = documents(gateway, campaign.database)
    with pytest.raises(CommandError, match="permission"):
        run_command(name, *command_arguments(campaign, tmp_path)[name], "--user", viewer.username)
    assert documents(gateway, campaign.database) == before


@pytest.mark.parametrize("name", [n for n in acting_commands() if n != "seed_demo"])
def test_every_acting_command_refuses_while_someone_else_holds_the_lock(
    name, operator, django_user_model, campaign, gateway, tmp_path
):
    colleague = django_user_model.objects.create_superuser("colleague", password=PASSWORD)
    TokenBroker(operator).lock(campaign, datetime.timedelta(hours=1))
    before = documents(gateway, campaign.database)
    with pytest.raises(CommandError, match="locked by operator"):
        run_command(name, *command_arguments(campaign, tmp_path)[name], "--user", colleague.username)
    assert documents(gateway, campaign.database) == before



# -- the live campaign page's own reads, with their parameters -----------------------------------

@pytest.mark.parametrize("name, params", [
    ("tokens:campaign-status", {"map": "now", "known": "x", "view": "error", "q": "host:wn1", "page": "2"}),
    ("tokens:campaign-status", {"map": "1"}),
    ("tokens:campaign-srmlist", {}),
    ("tokens:campaign-detail", {"view": "tokens", "q": "SB001"}),
])
def test_the_live_reads_of_a_real_campaign_send_an_anonymous_user_to_login(client, campaign, name, params):
    response = client.get(reverse(name, args=[campaign.pk]), params)
    assert is_login_redirect(response), (name, response.status_code)
    assert campaign.token_type.encode() not in response.content


@pytest.mark.parametrize("name", ["tokens:campaign-status", "tokens:campaign-srmlist", "tokens:campaign-detail"])
def test_the_live_reads_of_a_campaign_that_does_not_exist_are_404(client, viewer, campaign, name):
    client.force_login(viewer)
    assert client.get(reverse(name, args=[campaign.pk + 1000]), {"map": "now"}).status_code == 404
