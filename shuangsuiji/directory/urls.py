from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("targets/", views.target_list, name="targets"),
    path("targets/add/", views.target_add, name="target_add"),
    path("targets/<int:pk>/", views.target_detail, name="target_detail"),
    path("targets/<int:pk>/edit/", views.target_edit, name="target_edit"),
    path("targets/<int:pk>/tags/", views.target_tags, name="target_tags"),
    path("targets/<int:pk>/remove/", views.target_remove, name="target_remove"),
    path("targets/<int:pk>/readd/", views.target_readd, name="target_readd"),
    path("inspectors/", views.inspector_list, name="inspectors"),
    path("inspectors/add/", views.inspector_add, name="inspector_add"),
    path("inspectors/<int:pk>/", views.inspector_detail, name="inspector_detail"),
    path("inspectors/<int:pk>/edit/", views.inspector_edit, name="inspector_edit"),
    path(
        "inspectors/<int:pk>/deactivate/", views.inspector_deactivate, name="inspector_deactivate"
    ),
    path("inspectors/<int:pk>/activate/", views.inspector_activate, name="inspector_activate"),
]
