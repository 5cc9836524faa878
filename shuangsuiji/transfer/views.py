from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def import_index(request):  # scaffold: replaced by the import pages
    return render(request, "base.html")
