from django.urls import include, path

urlpatterns = [
    path("", include("shuangsuiji.core.urls")),
    path("catalog/", include("shuangsuiji.catalog.urls")),
    path("directory/", include("shuangsuiji.directory.urls")),
    path("transfer/", include("shuangsuiji.transfer.urls")),
    path("planning/", include("shuangsuiji.planning.urls")),
    path("public/", include("shuangsuiji.publication.urls")),
]
