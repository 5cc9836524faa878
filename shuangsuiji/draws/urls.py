from django.urls import path

from . import views

app_name = "draws"
urlpatterns = [
    path("settings/caps/", views.caps, name="caps"),
    path("task/<int:task_id>/", views.task_page, name="task"),
    path("task/<int:task_id>/prepare/", views.prepare, name="prepare"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/strata.tsv", views.strata_file, name="strata"),
    path("<int:pk>/population.tsv", views.private_file, {"name": "population"}, name="population"),
    path("<int:pk>/excluded.tsv", views.private_file, {"name": "excluded"}, name="excluded"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/entropy/", views.entropy, name="entropy"),
    path("<int:pk>/freeze/", views.freeze, name="freeze"),
    path("<int:pk>/commit/", views.commit, name="commit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/beacon/", views.beacon, name="beacon"),
    path("<int:pk>/announce/", views.announce, name="announce"),
    path("<int:pk>/perform/", views.perform, name="perform"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/abandon/", views.abandon, name="abandon"),
]
