from django.contrib import admin

from .models import Product, TaskRun


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "created"]


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = ["kind", "note", "created"]
    list_filter = ["kind"]
