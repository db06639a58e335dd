"""Issue 16, item 13: the preview lists the key field once, and the form's help is plain text."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dashboard_data import CONFIG, SMALL_SRMLIST
from django import forms
from django.core.management import get_commands, load_command_class

import locks_app.forms
import tokens_app.forms

pytestmark = pytest.mark.django_db


def test_the_preview_lists_the_key_field_once(operator_client, couch_db):
    assert b"STARTSB:" in CONFIG  # the example config has its own placeholder for the key field
    operator_client.post(reverse("tokens:campaign-new"), {
        "config": SimpleUploadedFile("pref_cal1.yaml", CONFIG), "srmlist_file": SimpleUploadedFile("l.srmlist", SMALL_SRMLIST),
        "slice_size": 1, "id_prefix": "SB", "key_name": "STARTSB", "database": couch_db,
    })
    page = operator_client.get(reverse("tokens:campaign-preview")).content.decode()
    fields = page[page.index('id="fields-title"'):page.index("</table>", page.index('id="fields-title"'))]
    assert re.findall(r'<th scope="row">(STARTSB)</th>', fields) == ["STARTSB"]
    assert "the first subband number of the token's slice" in fields
    assert "RESULTS_DIR" in fields  # the config's other fields are all still there


def every_form():
    for module in (tokens_app.forms, locks_app.forms):
        for form in vars(module).values():
            if isinstance(form, type) and issubclass(form, forms.BaseForm) and form.__module__ == module.__name__:
                yield form


def test_no_help_text_shows_markup_characters(operator_client):
    """Backticks are Markdown; a form's help and a command's --help are read as plain text."""
    forms_seen = list(every_form())
    assert len(forms_seen) > 10
    for form in forms_seen:
        for name, field in form.base_fields.items():
            assert "`" not in f"{field.help_text} {field.label}", f"{form.__name__}.{name}"
    assert "`" not in operator_client.get(reverse("tokens:campaign-new")).content.decode()
    ours = [name for name, app in get_commands().items() if app in ("tokens_app", "locks_app", "devtools")]
    assert len(ours) > 15
    for name in ours:
        usage = load_command_class(get_commands()[name], name).create_parser("manage.py", name).format_help()
        assert "`" not in usage, name
