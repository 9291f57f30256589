"""A Django project whose CELERY_BEAT_SCHEDULE tests/ops/test_schedules.py exports.

Settings extend the Celery test project's (tests/celery_app: broker and queues from the
environment); SCHEDULE picks the beat schedule, so the refusals run the real command.
"""
