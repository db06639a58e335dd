"""What several pages share: the change permission, table exports, the lock guard's refusal."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseBadRequest

from locks_app.guard import ChangeRefused, ensure_can_change

from .. import exports
from ..models import CHANGE_CAMPAIGN, Campaign

# The largest primary key (a BigAutoField, a signed 64-bit integer).
MAX_PRIMARY_KEY = 2**63 - 1


class ChangeCampaignRequired(PermissionRequiredMixin):
    """403 (not a login redirect) for a signed-in user without the permission."""

    permission_required = CHANGE_CAMPAIGN
    raise_exception = True


class ExportMixin:
    """``?format=csv|json`` answers the page's table as a download (:meth:`export`)."""

    def get(self, request, *args, **kwargs):
        export_format = request.GET.get("format")
        if export_format is None:
            return super().get(request, *args, **kwargs)
        if export_format not in exports.FORMATS:
            return HttpResponseBadRequest("format is csv or json")
        return self.export(request, export_format)


def change_refusal(user, campaign: Campaign) -> str | None:
    """Why ``user`` may not change ``campaign`` now (frozen, or locked by someone else), in the
    guard's own words; None when they may. The page disables its actions with this reason."""
    try:
        ensure_can_change(user, campaign)
    except ChangeRefused as exc:
        return str(exc)
    return None
