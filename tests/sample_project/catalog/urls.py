from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("products/new", views.new_product, name="new-product"),
    path("visit", views.visit, name="visit"),
    path("slow", views.slow, name="slow"),
]
