from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.contrib.auth.models import User


def home(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world", "users": User.objects.count()})


urlpatterns = [path("", home), path("admin/", admin.site.urls)]
