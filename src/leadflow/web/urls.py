from django.urls import path

from leadflow.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
