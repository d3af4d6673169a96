"""The web console of ``mbxai.serve`` in a real headless Chromium (Debian's ``chromium``,
driven by Playwright's Python package through ``executable_path``; no browser download):
a run started from the form, the dialog option answered in its password field, the final
structured response shown, and the password never on the page afterwards.

``MBXAI_CONSOLE_SCREENSHOT=path`` saves a screenshot of the finished run (the one in
docs/serve.md was made so).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mbxai.serve import create_app
from mbxai.testing import FakeModel
from tests._async.test_serve import (
    PASSWORD,
    TOKEN,
    OrderInfo,
    Shop,
    shop_agent,
    shop_script,
)
from tests.support.asgi_server import running

pytestmark = pytest.mark.timeout(120)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            yield page
        finally:
            browser.close()


def test_the_console_runs_the_seed_flow_end_to_end(browser_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    shop = Shop()
    fake = FakeModel(shop_script(), strict_script=True)
    from mbxai import AsyncFileSessionHandler

    store = AsyncFileSessionHandler(tmp_path / "sessions", fsync=False)
    app = create_app(shop_agent(fake, shop, store), [OrderInfo], token=TOKEN)
    with running(app) as url:
        page.goto(url + "/")
        # the API needs the token: the console asks for it
        page.wait_for_selector("#auth:not(.hidden)")
        page.fill("#token", TOKEN)
        page.click("#save-token")
        page.wait_for_selector("#model option[value=OrderInfo]", state="attached")

        page.fill("#prompt", "Give me my last order from this online shop")
        page.click("#start")
        form = page.wait_for_selector("form[data-type=dialog_option]")
        assert form is not None
        password = page.locator("form[data-type=dialog_option] input[name=password]")
        assert password.get_attribute("type") == "password"
        page.fill("form[data-type=dialog_option] input[name=username]", "demo")
        password.fill(PASSWORD)
        page.click("form[data-type=dialog_option] button[type=submit]")

        page.wait_for_selector("#state.completed")
        final = page.text_content("#final") or ""
        assert "ORD-2024-003" in final
        # the run's events streamed in as it went (Server-Sent Events read by the page)
        assert "[task_started] list the orders" in (page.text_content("#stream") or "")
        assert shop.logins == [("demo", PASSWORD)]
        assert PASSWORD not in page.content()
        assert page.locator("form[data-type=dialog_option]").count() == 0
        target = os.environ.get("MBXAI_CONSOLE_SCREENSHOT")
        page.screenshot(path=target or str(tmp_path / "console.png"), full_page=True)


def test_python_m_mbxai_serve_runs_an_agent_module() -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SERVE_TOKEN": TOKEN}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mbxai.serve",
            "tests.support.serve_target:agent",
            "--port",
            str(port),
            "--token-env",
            "SERVE_TOKEN",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 30
        while True:
            try:
                models = httpx.get(f"{url}/api/models", headers=headers)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        assert models.json()["models"] == ["Greeting"]  # found in the agent's module
        assert httpx.get(f"{url}/api/runs").status_code == 401
        run = httpx.post(
            f"{url}/api/runs",
            json={"prompt": "Say hello", "response_model": "Greeting"},
            headers=headers,
            timeout=30,
        ).json()
        assert run["final_response"] == {"text": "hello from the service"}
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    assert TOKEN not in output


def test_python_m_mbxai_serve_refuses_what_it_cannot_honour() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    for args, expected in (
        # an app's own settings stand: a token flag that would be ignored is an error
        (["tests.support.serve_target:app", "--token-env", "SERVE_TOKEN"], "app already built"),
        (["tests.support.serve_target:Greeting"], "model class"),
        (["tests.support.serve_target:nope"], "no attribute"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mbxai.serve", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "UNSET_VAR_FOR_TEST"},
        )
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
