from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("targets/", views.target_list, name="targets"),
    path("inspectors/", views.inspector_list, name="inspectors"),
]
