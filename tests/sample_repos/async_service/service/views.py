import asyncio

from django.http import HttpRequest, JsonResponse


async def status(request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0)
    return JsonResponse({"status": "ok"})
