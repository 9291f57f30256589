from django.test import SimpleTestCase

from .tasks import add


class StatusTests(SimpleTestCase):
    async def test_status_is_ok(self) -> None:
        response = await self.async_client.get("/status/")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_add_task_adds(self) -> None:
        assert add(2, 3) == 5
