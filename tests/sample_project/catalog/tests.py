import tempfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings

from .models import Product, TaskRun
from .tasks import record_visit


class HomeTests(TestCase):
    def test_shows_product_count(self):
        Product.objects.create(name="Mug", price="9.50")
        response = self.client.get("/")
        self.assertContains(response, "Products: 1")


@override_settings(MEDIA_ROOT=tempfile.mkdtemp())
class NewProductTests(TestCase):
    def test_upload_creates_product(self):
        image = SimpleUploadedFile("mug.png", b"\x89PNG fake", content_type="image/png")
        response = self.client.post(
            "/products/new", {"name": "Mug", "price": "9.50", "image": image}
        )
        self.assertEqual(response.status_code, 201)
        product = Product.objects.get(pk=response.json()["id"])
        self.assertEqual(response.json()["image_url"], product.image.url)
        self.assertTrue(product.image.name.startswith("products/mug"))


class TaskTests(TestCase):
    def test_record_visit_writes_a_row(self):
        record_visit.apply(args=["hello"])  # runs in this process; no broker needed
        self.assertTrue(TaskRun.objects.filter(kind="visit", note="hello").exists())
