from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def list_index(request):  # scaffold: replaced by the catalog pages
    return render(request, "base.html")
