from django.contrib.auth import views as auth_views
from django.urls import path

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
]
