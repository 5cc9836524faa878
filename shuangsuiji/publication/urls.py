from django.urls import path

from . import views

app_name = "publication"
urlpatterns = [
    path("log/", views.log_index, name="log"),
    path("log/head.json", views.log_head, name="head"),
    path("log/entries/<int:index>", views.log_entry, name="entry"),
    path("log/proof/inclusion", views.proof_inclusion, name="inclusion"),
    path("log/proof/consistency", views.proof_consistency, name="consistency"),
    path("verify/", views.verify_page, name="verify"),
]
