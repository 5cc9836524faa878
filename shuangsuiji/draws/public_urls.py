from django.urls import path, register_converter

from . import public_views as views


class TaskCode:
    """A protocol task code as the platform makes them (ASCII, URL-safe)."""

    regex = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TaskCode, "taskcode")

app_name = "public_draws"
urlpatterns = [
    path("", views.index, name="index"),
    path("<taskcode:code>/<int:number>/", views.page, name="page"),
    path("<taskcode:code>/<int:number>.json", views.release, name="release"),
    path("<taskcode:code>/<int:number>/announcement.json", views.announcement, name="announcement"),
    path("<taskcode:code>/<int:number>/abandoned.json", views.abandoned, name="abandoned"),
    path("<taskcode:code>/<int:number>/population.tsv", views.population, name="population"),
    path("<taskcode:code>/<int:number>/excluded.tsv", views.excluded, name="excluded"),
]
