"""Django's admin and auth views, and the engine's pages: nothing of this project's own."""

from django.contrib import admin
from django.urls import include, path

from sessions_admin.urls import console_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("sessions_admin.urls")),
    path("console/sessions/", include(console_urlpatterns)),
]
