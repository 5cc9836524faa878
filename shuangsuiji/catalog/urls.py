from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.list_index, name="lists"),
    path("public/", views.public_index, name="public"),
    path("public/<int:pk>/", views.public_detail, name="public_detail"),
    path("compare/", views.list_compare, name="compare"),
    path("joint/build/", views.joint_build, name="joint_build"),
    path("joint/new-version/", views.joint_new_version, name="joint_new_version"),
    path(
        "department/<int:department_id>/new-version/",
        views.department_new_version,
        name="new_version",
    ),
    path("<int:pk>/", views.list_detail, name="detail"),
    path("<int:pk>/versions/", views.list_versions, name="versions"),
    path("<int:pk>/publish/", views.list_publish, name="publish"),
    path("<int:pk>/discard/", views.list_discard, name="discard"),
    path("<int:list_pk>/items/new/", views.item_create, name="item_create"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.item_delete, name="item_delete"),
]
