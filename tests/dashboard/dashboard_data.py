"""What the dashboard tests share: the example files they upload and their users (a module,
so that tests import it by name)."""

from django.conf import settings
from django.contrib.auth.models import Permission, User

EXAMPLES = settings.BASE_DIR / "examples"
CONFIG = (EXAMPLES / "pref_cal1.yaml").read_bytes()
SRMLIST = (EXAMPLES / "L229507.srmlist").read_bytes()
# Twelve subbands: enough for two pages of a small table, quick to push.
SMALL_SRMLIST = b"".join(SRMLIST.splitlines(keepends=True)[:12])


def make_user(username: str, *, may_change: bool) -> User:
    """A user whose password is ``pw-<username>``, with ``tokens_app.change_campaign`` or without."""
    user = User.objects.create_user(username, password="pw-" + username)
    if may_change:
        user.user_permissions.add(Permission.objects.get(codename="change_campaign"))
    return user
