from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    image = models.FileField(upload_to="products/", blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class TaskRun(models.Model):
    """A row written by a Celery task, so a test can see that the task really ran."""

    kind = models.CharField(max_length=20)
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.kind} {self.created:%Y-%m-%d %H:%M:%S}"
