"""Issue #11, finding 2: the exploit of the issue, a view condition reaching from JavaScript into
Node, is refused by the add-view form in Chromium and by ``add_token_view`` with the place of the
offence, and nothing of it reaches CouchDB. On the previous main both saved it, and querying the
view ran ``touch`` on the CouchDB host (pouchdb-server runs map functions in Node's ``vm``)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from test_e2e_browser import browser, problems, sign_in  # noqa: F401 (browser and problems are fixtures)

from tokens_app.couch import get_gateway
from tokens_app.design import design_id

EXPLOIT = (
    'doc.lock == 0 && globalThis.constructor.constructor("return process")()'
    '.mainModule.require("child_process").execSync("touch {marker}")'
)
# Where 'globalThis' starts: the first thing outside the language.
EXPLOIT_COLUMN = 18
REASON = f"at column {EXPLOIT_COLUMN}: 'globalThis' is not allowed"


def assert_nothing_reached_couchdb(campaign, design_before: dict, marker) -> None:
    """The design document is as it was, and querying each of its views ran no command."""
    gateway = get_gateway()
    design = gateway.get_doc(campaign.database, design_id(campaign.token_type))
    assert design == design_before
    for name in design["views"]:
        gateway.view(campaign.database, campaign.token_type, name, limit=1)
    assert not marker.exists()


def caret_points_at_globalthis(excerpt: str) -> bool:
    shown, caret = excerpt.splitlines()
    return shown[caret.index("^"):].startswith("globalThis")


@pytest.mark.django_db
def test_the_command_refuses_the_exploit_with_its_place(campaign, alice, tmp_path):
    marker = tmp_path / "pwned"
    before = get_gateway().get_doc(campaign.database, design_id(campaign.token_type))
    with pytest.raises(CommandError) as caught:
        call_command(
            "add_token_view", "--type", campaign.token_type, "--database", campaign.database,
            "--user", alice.username, "pwned", EXPLOIT.format(marker=marker),
        )
    message = str(caught.value)
    assert REASON in message.splitlines()[0]
    assert caret_points_at_globalthis("\n".join(message.splitlines()[1:]))
    assert_nothing_reached_couchdb(campaign, before, marker)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_add_view_form_refuses_the_exploit_and_keeps_the_text(
    campaign, alice, live_server, browser, problems, tmp_path, monkeypatch  # noqa: F811
):
    # The campaign is made before Playwright starts its event loop in this thread; the ORM calls
    # after it (signing in) are plain ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    marker = tmp_path / "pwned"
    exploit = EXPLOIT.format(marker=marker)
    before = get_gateway().get_doc(campaign.database, design_id(campaign.token_type))
    page = sign_in(browser, live_server, alice.username, problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    page.fill("#view-name", "pwned")
    page.fill("#view-condition", exploit)
    page.click("button:has-text('Add view')")
    excerpt = page.locator("[data-testid=error-excerpt]")
    excerpt.wait_for()
    assert REASON in page.locator("#action-condition_error").inner_text()
    assert caret_points_at_globalthis(excerpt.inner_text())
    assert page.input_value("#action-condition") == exploit
    assert problems == []
    assert_nothing_reached_couchdb(campaign, before, marker)
