"""Drafts of new campaigns: the checked uploads waiting, in the database, for their confirmation.

The new-campaign form plans the set and saves its inputs as a draft; the preview plans again
from the draft and the confirmation starts the campaign from it. The session holds only the
draft's id. A draft is its owner's alone and lives ``DRAFT_LIFETIME``: expired drafts are
deleted whenever a new one is saved.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tokens_app.models import CampaignDraft, CampaignDraftFile

from .creation_plan import TokenSetPlan, plan_tokenset

DRAFT_LIFETIME = timedelta(hours=24)


def save_draft(*, user, arguments: dict) -> CampaignDraft:
    """Save the arguments of ``plan_tokenset`` (as the form checked them) as a draft of ``user``."""
    discard_expired_drafts()
    options = {
        name: value for name, value in arguments.items() if name not in ("config_data", "srmlist_data", "attachments")
    }
    with transaction.atomic():
        draft = CampaignDraft.objects.create(
            owner=user, config_text=arguments["config_data"], srmlist_text=arguments["srmlist_data"], options=options
        )
        CampaignDraftFile.objects.bulk_create(
            CampaignDraftFile(draft=draft, name=name, data=data) for name, data in arguments["attachments"].items()
        )
    return draft


def live_draft(pk) -> CampaignDraft | None:
    """The draft ``pk`` unless it has expired or does not exist (anyone's: the caller checks
    the owner)."""
    return CampaignDraft.objects.filter(pk=pk, created_at__gte=timezone.now() - DRAFT_LIFETIME).first()


def plan_of_draft(draft: CampaignDraft) -> TokenSetPlan:
    """Plan again from the draft: the preview and the confirmation see the same set."""
    return plan_tokenset(
        config_data=draft.config_text,
        srmlist_data=draft.srmlist_text,
        attachments={file.name: bytes(file.data) for file in draft.files.all()},
        **draft.options,
    )


def discard_draft(draft: CampaignDraft) -> None:
    """Delete a draft once its campaign is started."""
    draft.delete()


def discard_expired_drafts() -> int:
    """Delete every draft older than ``DRAFT_LIFETIME``; answer how many."""
    _, deleted = CampaignDraft.objects.filter(created_at__lt=timezone.now() - DRAFT_LIFETIME).delete()
    return deleted.get(CampaignDraft._meta.label, 0)


def keep_uploads(*, user, previous: CampaignDraft | None, config: tuple[str, str] | None,
                 srmlist: tuple[str, str] | None) -> CampaignDraft | None:
    """Keep the files of a refused new-campaign form, ``(name, text)`` each, so that the operator
    corrects the options without choosing them again. A file not given again stays kept from
    ``previous``; answers the draft that keeps them (None when nothing is kept)."""
    kept = dict((previous.options.get("kept") or {}) if previous else {})
    texts = {"config": previous.config_text if previous else "", "srmlist": previous.srmlist_text if previous else ""}
    for what, upload in (("config", config), ("srmlist", srmlist)):
        if upload is not None:
            kept[what], texts[what] = upload
    if previous is not None:
        previous.delete()
    if not kept:
        return None
    discard_expired_drafts()
    return CampaignDraft.objects.create(
        owner=user, config_text=texts["config"], srmlist_text=texts["srmlist"], options={"kept": kept}
    )


def kept_uploads(draft: CampaignDraft | None) -> dict[str, tuple[str, str]]:
    """``{"config": (name, text), "srmlist": (name, text)}``: the files ``keep_uploads`` kept."""
    if draft is None:
        return {}
    names = draft.options.get("kept") or {}
    texts = {"config": draft.config_text, "srmlist": draft.srmlist_text}
    return {what: (name, texts[what]) for what, name in names.items() if what in texts}
