from django.urls import path

from . import views

app_name = "staffing"
RUN = "<str:code>/runs/<int:draw>/<int:number>/"
urlpatterns = [
    path("mine/", views.mine, name="mine"),
    path("conflicts/", views.conflicts, name="conflicts"),
    path("conflicts/new/", views.conflict_create, name="conflict_create"),
    path("conflicts/<int:pk>/withdraw/", views.conflict_withdraw, name="conflict_withdraw"),
    path("replacements/<int:pk>/approve/", views.approve, name="approve"),
    path("replacements/<int:pk>/refuse/", views.refuse, name="refuse"),
    path("<str:code>/", views.task_page, name="task"),
    path("<str:code>/new/", views.run_create, name="create"),
    path("<str:code>/dispatch/", views.dispatch, name="dispatch"),
    path(RUN, views.run_page, name="run"),
    path(RUN + "commit/", views.commit, name="commit"),
    path(RUN + "reveal/", views.reveal, name="reveal"),
    path(RUN + "beacon/", views.beacon, name="beacon"),
    path(RUN + "perform/", views.perform, name="perform"),
    path(RUN + "replace/", views.replace, name="replace"),
    path(RUN + "left-out/", views.left_out, name="left_out"),
    path(RUN + "files/<str:name>", views.download, name="download"),
]
