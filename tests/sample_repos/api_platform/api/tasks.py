from celery import shared_task
from django.core.mail import send_mail


@shared_task(queue="emails")
def send_welcome_email(address: str) -> None:
    send_mail("Welcome", "Thanks for signing up.", None, [address])
