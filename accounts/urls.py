from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/choose/", views.choose_session_view, name="choose_session"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change_view, name="password"),
    path("elevate/", views.elevate_view, name="elevate"),
    path("elevate/drop/", views.drop_elevation_view, name="drop_elevation"),
    path("activity/", views.activity_view, name="activity"),
]
