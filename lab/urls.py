from django.urls import path

from . import views

app_name = "lab"

urlpatterns = [
    path("", views.lab_page, name="page"),
    path("controls/", views.controls_page, name="controls"),
    path("state/", views.state_view, name="state"),
    path("reset/", views.reset, name="reset"),
    path("switch/", views.switch, name="switch"),
    path("csrf-attack.html", views.csrf_attack, name="csrf_attack"),
    path("beacon/", views.beacon, name="beacon"),
]
