from django.urls import path

from . import views

app_name = "sessions_admin"

urlpatterns = [
    path("sessions/", views.your_sessions, name="list"),
    path("sessions/<str:handle>/end/", views.end_session, name="end"),
    path("sessions/end-others/", views.end_others, name="end_others"),
    path("sessions/status/", views.status, name="status"),
    path("sessions/keepalive/", views.keepalive, name="keepalive"),
]
