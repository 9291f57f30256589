"""PostgreSQL backend that survives a Secrets Manager password rotation.

Use it through ``ENGINE = "django_aws_settings.db.postgresql"``; ``databases()`` selects it
when the credentials came from Secrets Manager.
"""
