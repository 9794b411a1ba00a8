from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import settings

API = settings.API_V1_STR


def test_login_with_a_wrong_password_is_refused(client: TestClient) -> None:
    answer = client.post(
        f"{API}/login/access-token",
        data={"username": settings.FIRST_SUPERUSER, "password": "wrong"},
    )
    assert answer.status_code == 400
    assert answer.json() == {"detail": "Incorrect email or password"}


def test_items_need_a_token(client: TestClient) -> None:
    assert client.get(f"{API}/items/").status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert client.get(f"{API}/items/", headers=bad).status_code == 403


def test_me_is_the_seeded_superuser(client: TestClient, token_headers: dict[str, str]) -> None:
    me = client.get(f"{API}/users/me", headers=token_headers).json()
    assert me["email"] == settings.FIRST_SUPERUSER
    assert me["is_superuser"] is True


def test_create_read_list_and_delete_an_item(
    client: TestClient, token_headers: dict[str, str]
) -> None:
    created = client.post(
        f"{API}/items/", json={"title": "first", "description": "x"}, headers=token_headers
    )
    assert created.status_code == 200, created.text
    item_id = created.json()["id"]
    assert client.get(f"{API}/items/{item_id}", headers=token_headers).json()["title"] == "first"
    listed = client.get(f"{API}/items/", headers=token_headers).json()
    assert item_id in [item["id"] for item in listed["data"]]
    assert client.delete(f"{API}/items/{item_id}", headers=token_headers).status_code == 200
    assert client.get(f"{API}/items/{item_id}", headers=token_headers).status_code == 404


def test_the_list_is_paged(client: TestClient, token_headers: dict[str, str]) -> None:
    for title in ("page a", "page b", "page c"):
        answer = client.post(f"{API}/items/", json={"title": title}, headers=token_headers)
        assert answer.status_code == 200, answer.text
    page = client.get(f"{API}/items/?skip=1&limit=1", headers=token_headers).json()
    assert page["count"] >= 3
    assert len(page["data"]) == 1
