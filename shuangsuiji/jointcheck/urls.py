from django.urls import path

from . import views

app_name = "jointcheck"
urlpatterns = [
    path("", views.task_list, name="list"),
    path("overdue/", views.overdue, name="overdue"),
    path("new/", views.task_create, name="create"),
    path("from-line/<int:pk>/", views.from_plan_line, name="from_plan_line"),
    path("from-entry/<int:pk>/", views.from_joint_entry, name="from_joint_entry"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/edit/", views.task_edit, name="edit"),
    path("<int:pk>/initiate/", views.task_initiate, name="initiate"),
    path("<int:pk>/coordinate/", views.task_coordinate, name="coordinate"),
    path("<int:pk>/release/", views.task_release, name="release"),
    path("<int:pk>/respond/", views.task_respond, name="respond"),
    path("<int:pk>/establish/", views.task_establish, name="establish"),
    path("<int:pk>/drop/", views.task_drop, name="drop"),
    path("<int:pk>/cancel/", views.task_cancel, name="cancel"),
]
