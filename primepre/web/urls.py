from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from primepre.accounts.views import account_page

from . import views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The shell's own page of the signed-in user (the view is the accounts app's: what a user may change about
    # themselves).
    path("account/", account_page, name="account"),
    # Browsers ask for /favicon.ico on their own (a PDF or JSON tab, a bookmark) whatever the page links: the icon,
    # not a logged 404. A temporary redirect: the static file's hashed name changes with each deploy.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("web/favicon.ico")), name="favicon"),
]
