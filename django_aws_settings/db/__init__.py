"""Django database backends shipped with django-aws-settings."""
