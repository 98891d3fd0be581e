"""Helpers for tests of the web app: sign in, read CSRF tokens, submit forms like a browser."""
from __future__ import annotations

import re
from html import unescape

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/tasks/([0-9a-f-]{36})"')


def csrf_token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def error_messages(html: str) -> dict[str, list[str]]:
    """Field id -> the error messages shown beside it."""
    found: dict[str, list[str]] = {}
    for field_id, text in re.findall(r'<p class="error-message" id="([^"]+?)-error\d*">(.*?)</p>', html, re.S):
        found.setdefault(field_id, []).append(unescape(re.sub(r"<[^>]+>", "", text)).replace("Fejl:", "")
                                              .replace("Error:", "").strip())
    return found


def input_value(html: str, name: str) -> str | None:
    match = re.search(r'<input[^>]*name="' + re.escape(name) + r'"[^>]*value="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


class Browser:
    """One signed-in user on the test client (the AuthActions of Flask's tutorial)."""

    def __init__(self, client):
        self.client = client

    def login(self, username: str = "anna", password: str = "demo"):
        page = self.client.get("/login").get_data(as_text=True)
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": csrf_token(page)})

    def logout(self):
        page = self.client.get("/").get_data(as_text=True)
        return self.client.post("/logout", data={"csrf_token": csrf_token(page)})

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def submit(self, url: str, data: dict | None = None, page_url: str | None = None, **kwargs):
        """POST `data` with the CSRF token of the page at `page_url` (default: `url`)."""
        page = self.client.get(page_url or url).get_data(as_text=True)
        return self.client.post(url, data={**(data or {}), "csrf_token": csrf_token(page)}, **kwargs)

    def set_language(self, language: str):
        return self.submit("/language", {"lang": language}, page_url="/login")
