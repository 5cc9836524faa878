from django.urls import include, path

urlpatterns = [
    path("", include("shuangsuiji.core.urls")),
    path("catalog/", include("shuangsuiji.catalog.urls")),
    path("directory/", include("shuangsuiji.directory.urls")),
    path("transfer/", include("shuangsuiji.transfer.urls")),
    path("planning/", include("shuangsuiji.planning.urls")),
    path("tasks/", include("shuangsuiji.jointcheck.urls")),
    path("draws/", include("shuangsuiji.draws.urls")),
    path("staffing/", include("shuangsuiji.staffing.urls")),
    path("public/draws/", include("shuangsuiji.draws.public_urls")),
    path("public/", include("shuangsuiji.publication.urls")),
]
