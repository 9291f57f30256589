import time

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .forms import ProductForm
from .models import Product
from .tasks import record_visit

MAX_SLOW_SECONDS = 60


@require_GET
def home(request):
    return render(request, "catalog/home.html", {"product_count": Product.objects.count()})


# Test fixture: an upload endpoint scripts can call without a CSRF token.
@csrf_exempt
@require_POST
def new_product(request):
    form = ProductForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    product = form.save()
    image_url = product.image.url if product.image else None
    return JsonResponse({"id": product.pk, "image_url": image_url}, status=201)


@require_GET
def visit(request):
    result = record_visit.delay(request.GET.get("note", "visit"))
    return JsonResponse({"task_id": result.id}, status=202)


@require_GET
def slow(request):
    try:
        seconds = float(request.GET.get("seconds", "1"))
    except ValueError:
        return HttpResponse("seconds must be a number", status=400)
    time.sleep(min(max(seconds, 0), MAX_SLOW_SECONDS))
    return HttpResponse("done", content_type="text/plain")
