from celery import shared_task
from django.core.mail import send_mail


@shared_task(queue="emails")
def send_welcome_email(address: str) -> None:
    send_mail("Welcome", "Thanks for signing up.", None, [address])


@shared_task
def heartbeat(note: str) -> str:
    """On the default queue; the monitoring's periodic task (a django-celery-beat entry)."""
    return f"alive: {note}"
