"""Settings of a project with locks_app and Django alone (no tokens_app): see
``test_lock_standalone.py``. The database file comes from the environment."""

import os

SECRET_KEY = "standalone-locks-app-test"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "locks_app",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["STANDALONE_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [os.environ["TEMPLATE_DIR"]],
              "APP_DIRS": True, "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
ROOT_URLCONF = "standalone_urls"
LOCKABLE_MODELS = ["auth.group"]
LOCK_MAX_DURATION = "1d"
