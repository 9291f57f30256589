from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django.urls import path


def home(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world", "users": User.objects.count()})


urlpatterns = [path("", home), path("admin/", admin.site.urls)]
