"""What the dashboard tests share: the example files they upload (a module, so that tests import
it by name)."""

from django.conf import settings

EXAMPLES = settings.BASE_DIR / "examples"
CONFIG = (EXAMPLES / "pref_cal1.yaml").read_bytes()
SRMLIST = (EXAMPLES / "L229507.srmlist").read_bytes()
# Twelve subbands: enough for two pages of a small table, quick to push.
SMALL_SRMLIST = b"".join(SRMLIST.splitlines(keepends=True)[:12])
