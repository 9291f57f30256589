"""Code that runs inside the app's processes: per request, per worker, per health check.

Empty on purpose: ``python -m django_aws_settings.runtime.healthcheck`` runs every few
seconds in each web container and must not import Django or boto3 through here.
"""
