def test_create_get_list(api):
    response = api.post(
        "/contacts",
        {
            "email": "Ann@Example.COM",
            "first_name": "Ann",
            "phone": "020 7946 0018",
            "tags": ["vip"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["phone"] == "+442079460018"
    assert body["tags"] == ["vip"]
    assert body["company"]["domain"] == "example.com"
    again = api.post("/contacts", {"email": "ann@example.com", "last_name": "Lee"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    listing = api.get("/contacts?q=ann")
    assert [item["id"] for item in listing.json()["items"]] == [body["id"]]
