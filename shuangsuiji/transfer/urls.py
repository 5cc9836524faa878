from django.urls import path

from . import views

app_name = "transfer"
urlpatterns = [
    path("", views.import_index, name="imports"),
    path("import/<str:kind>/", views.import_upload, name="upload"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/apply/", views.batch_apply, name="apply"),
    path("batches/<int:pk>/errors.xlsx", views.batch_errors, name="errors"),
    path("template/<str:kind>/", views.template_download, name="template"),
    path("export/<str:kind>/", views.export_download, name="export"),
    path("exports/<int:pk>/", views.export_file, name="export_file"),
]
