from django.test import SimpleTestCase

from .tasks import add


class StatusTests(SimpleTestCase):
    async def test_status_is_ok(self) -> None:
        response = await self.async_client.get("/status/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok"})

    def test_add_task_adds(self) -> None:
        self.assertEqual(add(2, 3), 5)
