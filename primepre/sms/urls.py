from django.urls import path

from . import views

app_name = "sms"
urlpatterns = [
    path("", views.sms_page, name="overview"),
    path("send/", views.sms_send, name="send"),
    path("outbox/", views.sms_outbox, name="outbox"),
]
