from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("", views.plan_index, name="index"),
    path("public/", views.public_index, name="public"),
    path("public/<int:pk>/", views.public_detail, name="public_detail"),
    path("public/<int:pk>/export/", views.public_export, name="public_export"),
    path("settings/", views.plan_settings, name="settings"),
    path("merge/", views.merge, name="merge"),
    path("merge/confirm/", views.merge_confirm, name="merge_confirm"),
    path("merge/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
    path("publish/", views.publish, name="publish"),
    path("new/", views.plan_create, name="create"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/export/", views.plan_export, name="export"),
    path("<int:pk>/submit/", views.plan_submit, name="submit"),
    path("<int:pk>/return/", views.plan_return, name="return"),
    path("<int:pk>/accept/", views.plan_accept, name="accept"),
    path("<int:pk>/lines/new/", views.line_create, name="line_create"),
    path("lines/<int:pk>/edit/", views.line_edit, name="line_edit"),
    path("lines/<int:pk>/delete/", views.line_delete, name="line_delete"),
]
