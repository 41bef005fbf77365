"""JupyterLab as a learner uses it: a real server on a loopback port, its REST API and kernels,
and a real browser (Debian's headless Chromium driven by Selenium) rendering a course notebook.

The server serves a temporary copy of the course's ``notebooks/``, so nothing it writes
(checkpoints, kernel metadata) touches the repository.
The browser test is skipped where ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is missing,
except under CI (``CI=true``; ``ci/install_browser.sh`` installs them), where it must run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import websocket
from browser import headless_chromium, require_chromium

pytestmark = pytest.mark.slow  # a Jupyter server, kernels and a browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT = 90  # seconds for the server to answer
KERNEL_TIMEOUT = 180  # seconds for `import lstmkit` (TensorFlow) on a busy 2-core machine
RENDER_TIMEOUT = 120  # seconds for JupyterLab to load and render the notebook


@dataclass
class Server:
    """A running Jupyter server: where it listens, its token, and the notebooks it serves."""

    url: str
    token: str
    notebooks: list[Path]

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """Call the REST API with the token; ``path`` starts after ``/api/``."""
        return requests.request(method, f"{self.url}/api/{path}", timeout=30,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab on 127.0.0.1 with a token, serving a copy of the notebooks; shut down via
    the API at the end, which must stop the process cleanly."""
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "notebooks"
    root.mkdir()
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sources, "no course notebooks in notebooks/"
    notebooks = [Path(shutil.copy(p, root)) for p in sources]
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no "get notified about Jupyter news?" prompt over the page
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_PLATFORM_DIRS="1")
    log = (base / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.terminals_enabled=False",
         f"--LabApp.user_settings_dir={base / 'settings'}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(f"http://127.0.0.1:{port}", token, notebooks)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"jupyter exited:\n{(base / 'server.log').read_text()}"
            try:
                if srv.api("GET", "status").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"no answer from jupyter in {START_TIMEOUT} s"
            time.sleep(0.5)
        yield srv
        assert srv.api("POST", "shutdown").status_code == 200
        assert proc.wait(timeout=60) == 0, (base / "server.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


def test_server_refuses_requests_without_the_token(server: Server) -> None:
    assert requests.get(f"{server.url}/api/contents", timeout=30).status_code == 403


def test_rest_api_lists_the_notebooks(server: Server) -> None:
    import nbformat  # here, not at the top: the fast tier collects this module too

    listing = server.api("GET", "contents").json()
    names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
    assert names == [p.name for p in server.notebooks]
    first = server.notebooks[0]
    model = server.api("GET", f"contents/{first.name}").json()
    assert model["type"] == "notebook"
    assert len(model["content"]["cells"]) == len(nbformat.read(first, as_version=4).cells)


def _execute(server: Server, kernel_id: str, code: str) -> tuple[dict, str]:
    """Run ``code`` over the kernel's websocket; return the execute_reply content and stdout."""
    ws = websocket.create_connection(
        f"{server.url.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
        f"?token={server.token}", timeout=KERNEL_TIMEOUT)
    try:
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                       "username": "test", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        stdout, deadline = [], time.monotonic() + KERNEL_TIMEOUT
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                stdout.append(msg["content"]["text"])
            elif msg["msg_type"] == "execute_reply":
                return msg["content"], "".join(stdout)
        raise AssertionError(f"no execute_reply within {KERNEL_TIMEOUT} s")
    finally:
        ws.close()


def test_kernel_imports_lstmkit(server: Server) -> None:
    response = server.api("POST", "kernels", json={"name": "python3"})
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    try:
        reply, stdout = _execute(server, kernel_id,
                                 "import lstmkit\nprint(lstmkit.__file__)\nprint(lstmkit.LSTMCell)")
        assert reply["status"] == "ok", reply
        assert stdout.splitlines()[0] == str(ROOT / "lstmkit" / "__init__.py")
        assert "lstmkit" in stdout.splitlines()[1]
        reply, _ = _execute(server, kernel_id, "import no_such_module_xyz")
        assert reply["status"] == "error" and reply["ename"] == "ModuleNotFoundError"
    finally:
        assert server.api("DELETE", f"kernels/{kernel_id}").status_code == 204
    assert kernel_id not in [k["id"] for k in server.api("GET", "kernels").json()]


def _first_heading(notebook: Path) -> str:
    """The text of the first markdown heading, as JupyterLab renders it (markup removed)."""
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"#{1,6}\s+(.*)", line)
            if match:
                return re.sub(r"[*_`]|\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1)).strip()
    raise AssertionError(f"{notebook.name} has no markdown heading")


def test_browser_renders_a_notebook_in_jupyterlab(server: Server, tmp_path: Path) -> None:
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    notebook = server.notebooks[0]
    expected = _first_heading(notebook)
    with headless_chromium(tmp_path, window="1400,1000") as driver:
        driver.get(f"{server.url}/lab/tree/{notebook.name}?token={server.token}")
        selector = ".jp-NotebookPanel .jp-RenderedMarkdown :is(h1, h2, h3, h4, h5, h6)"

        def first_heading(d: webdriver.Chrome) -> str | None:
            found = d.find_elements(By.CSS_SELECTOR, selector)
            return found[0].text.replace("¶", "").strip() if found and found[0].text else None

        rendered = WebDriverWait(driver, RENDER_TIMEOUT).until(first_heading)
        assert driver.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel").is_displayed()
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"jupyterlab_{notebook.stem}.png"
        assert driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rendered == expected
