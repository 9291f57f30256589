"""What a Django repository states about itself, read without importing or running it.

``repository_facts(root)`` reads the Procfile / heroku.yml / app.json / render.yaml
processes, the Django project and its settings modules, the Python version, the
dependency manager and requirements tree, packages that need system libraries, the test
runner, the environment variables the settings read at import and the files the template
would collide with. ``django-aws inspect`` prints them; the Copier template loads this
package by path for its defaults.

This subpackage imports only the standard library (tests/ops/repository/test_imports.py
checks it): Copier runs it from the template checkout, where Django and boto3 may be absent.
"""

from __future__ import annotations

from .errors import RepositoryError
from .facts import SCHEMA_VERSION, RepositoryFacts, repository_facts

__all__ = ["SCHEMA_VERSION", "RepositoryError", "RepositoryFacts", "repository_facts"]
