"""Migration 0002 moves each campaign's uploads into its inputs row, and back; 0005 renames the
SRM attachment's column keeping its values."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tokens_app", "0001_initial")]
AFTER = [("tokens_app", "0002_campaign_inputs")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_uploads_move_to_the_inputs_row_and_back():
    try:
        apps = migrate(BEFORE)
        campaign = apps.get_model("tokens_app", "Campaign").objects.create(
            token_type="moved", database="tokens", config_text="Job:\n  x: 1\n", srmlist_text="srm://a\n"
        )
        apps = migrate(AFTER)
        inputs = apps.get_model("tokens_app", "CampaignInputs").objects.get(campaign_id=campaign.pk)
        assert (inputs.config_text, inputs.srmlist_text) == ("Job:\n  x: 1\n", "srm://a\n")
        apps = migrate(BEFORE)
        back = apps.get_model("tokens_app", "Campaign").objects.get(pk=campaign.pk)
        assert (back.config_text, back.srmlist_text) == ("Job:\n  x: 1\n", "srm://a\n")
    finally:
        # Back to the newest migration, not to AFTER: the tests after this one need every table.
        latest = MigrationExecutor(connection).loader.graph.leaf_nodes("tokens_app")
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_srm_attachment_names_are_kept_through_the_rename_and_back():
    before, after = [("tokens_app", "0004_operation")], [("tokens_app", "0005_rename_file_upload_srm_attachment")]
    try:
        apps = migrate(before)
        campaign = apps.get_model("tokens_app", "Campaign").objects.create(
            token_type="renamed", database="tokens", file_upload="links.txt"
        )
        apps = migrate(after)
        assert apps.get_model("tokens_app", "Campaign").objects.get(pk=campaign.pk).srm_attachment == "links.txt"
        apps = migrate(before)
        assert apps.get_model("tokens_app", "Campaign").objects.get(pk=campaign.pk).file_upload == "links.txt"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("tokens_app"))
