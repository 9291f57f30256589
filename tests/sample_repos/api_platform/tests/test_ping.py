from django.test import Client


def test_ping_answers_ok(client: Client) -> None:
    response = client.get("/api/ping/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
