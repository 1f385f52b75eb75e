from django.urls import include, path

from sessions_admin.urls import console_urlpatterns

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz/", views.healthz, name="healthz"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("second_factor.urls")),
    path("", include("sessions_admin.urls")),
    path("console/sessions/", include(console_urlpatterns)),
    path("demo/", include("demo.urls")),
    path("lab/", include("lab.urls")),
]

handler400 = "project.views.bad_request"
handler403 = "project.views.forbidden"
handler404 = "project.views.not_found"
handler500 = "project.views.server_error"
