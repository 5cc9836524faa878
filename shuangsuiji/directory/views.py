from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def target_list(request):  # scaffold: replaced by the directory pages
    return render(request, "base.html")


@login_required
def inspector_list(request):  # scaffold
    return render(request, "base.html")
