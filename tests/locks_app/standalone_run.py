"""Run by ``test_lock_standalone.py`` in a process of its own, under ``standalone_settings``:
import every module of locks_app, migrate, and use the commands and the panel on groups.
Prints one JSON object with what it saw."""

import importlib
import json
import pkgutil
import sys
from io import StringIO

import django

django.setup()

from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.template import Context, Template  # noqa: E402
from django.test import RequestFactory  # noqa: E402

import locks_app  # noqa: E402


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


modules = [info.name for info in pkgutil.walk_packages(locks_app.__path__, "locks_app.")]
for name in modules:
    importlib.import_module(name)
call_command("migrate", verbosity=0)
group = Group.objects.create(name="reprocessing")
operator = User.objects.create_user("operator")
operator.user_permissions.add(Permission.objects.get(codename="change_group"))
key = f"auth.group:{group.pk}"
seen = {"modules": len(modules)}
seen["lock"] = run("lock", key, "--user", "operator", "--duration", "2h")
seen["list"] = run("list_locks")
seen["extend"] = run("extend_lock", key, "--user", "operator", "--by=1h")
try:
    run("extend_lock", key, "--user", "operator", "--by=2d")
except CommandError as exc:
    seen["capped"] = str(exc)
request = RequestFactory().get("/")
request.user = User.objects.get(pk=operator.pk)
seen["panel"] = Template("{% load locks %}{% lock_panel obj %}").render(Context({"request": request, "obj": group}))
seen["unlock"] = run("unlock", key, "--user", "operator")
seen["cleanup"] = run("cleanup_locks")
seen["tokens_app_imported"] = any(name.split(".")[0] == "tokens_app" for name in sys.modules)
print(json.dumps(seen))
