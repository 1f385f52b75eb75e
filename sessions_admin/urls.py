from django.urls import path

from . import console, views

app_name = "sessions_admin"

urlpatterns = [
    path("sessions/", views.your_sessions, name="list"),
    path("sessions/end-others/", views.end_others, name="end_others"),
    path("sessions/status/", views.status, name="status"),
    path("sessions/keepalive/", views.keepalive, name="keepalive"),
    path("sessions/<str:handle>/end/", views.end_session, name="end"),
    path("sessions/remembered/forget-all/", views.forget_all_devices, name="forget_all_devices"),
    path("sessions/remembered/<str:handle>/forget/", views.forget_device, name="forget_device"),
]

# Mounted by project/urls.py at console/sessions/ under the "console" namespace.
console_urlpatterns = (
    [
        path("", console.sessions, name="sessions"),
        path("<int:uid>/end/<str:handle>/", console.end_one, name="end"),
        path("<int:uid>/end-all/", console.end_all, name="end_all"),
        path("<int:uid>/disable/", console.disable, name="disable"),
        path("<int:uid>/enable/", console.enable, name="enable"),
    ],
    "console",
)
