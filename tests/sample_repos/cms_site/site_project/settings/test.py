import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
