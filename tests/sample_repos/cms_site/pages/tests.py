from django.test import SimpleTestCase


class HomePageTests(SimpleTestCase):
    def test_home_page_says_welcome(self) -> None:
        response = self.client.get("/")

        assert response.status_code == 200
        self.assertContains(response, "Welcome")
