"""``make lab``: JupyterLab serves the notebooks and runs them on this environment's kernel. The test
starts the server headless on a free loopback port, opens a notebook through its REST API, and runs
its cells one by one on the server's kernel (at ``tiny``), as a learner pressing Shift-Enter would."""

import json
import os
import posixpath
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml

from shared.course.lesson import readme_link
from shared.runtime.paths import NOTEBOOKS_DIR, OUTPUT_ENV, REPO_ROOT

NOTEBOOK = "notebooks/kraft_kuairec/01_data.ipynb"  # make lab serves the repository, opened at notebooks/


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port, token = free_port(), uuid.uuid4().hex
    env = {
        **os.environ,
        OUTPUT_ENV: str(tmp_path / "out"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={REPO_ROOT}",
            "--ServerApp.port_retries=0",
            "--allow-root",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def api(path: str, data: dict | None = None, method: str | None = None):
        req = urllib.request.Request(
            f"{base}/api/{path}",
            method=method or ("POST" if data is not None else "GET"),
            data=None if data is None else json.dumps(data).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            return json.loads(body) if body else None

    try:
        for _ in range(120):
            try:
                api("status")
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        yield api, f"ws://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def execute(ws, session: str, code: str) -> tuple[str, list[dict]]:
    """Run ``code`` on the kernel; its reply status and the outputs it sent."""
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "learner",
                    "session": session,
                    "msg_type": "execute_request",
                    "version": "5.3",
                    "date": "",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "buffers": [],
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
    )
    outputs, status, idle = [], None, False
    while status is None or not idle:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "execute_reply":
            status = msg["content"]["status"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
        elif kind in ("stream", "error", "display_data", "execute_result"):
            outputs.append({"type": kind, **msg["content"]})
    return status, outputs


def test_make_lab_serves_a_notebook_that_runs_on_its_kernel(server):
    import websocket

    api, ws_base, token = server
    nb = api(f"contents/{NOTEBOOK}?content=1")["content"]
    assert nb["cells"][0]["source"].startswith("# ")
    session = api("sessions", {"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": "python3"}})
    ws = websocket.create_connection(
        f"{ws_base}/api/kernels/{session['kernel']['id']}/channels?token={token}", timeout=300
    )
    try:
        status, out = execute(ws, session["id"], "import sys; print(sys.executable)")
        assert status == "ok" and out[0]["text"].strip() == sys.executable  # this venv's kernel
        tiny = yaml.safe_load((NOTEBOOKS_DIR / "kraft_kuairec" / "tiny.yaml").read_text())
        ran = 0
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = cell["source"]
            if "parameters" in cell["metadata"].get("tags", []):  # as papermill injects them
                code += "\n" + "\n".join(f"{k} = {v!r}" for k, v in tiny.items())
            status, out = execute(ws, session["id"], code)
            error = next((f"{o['ename']}: {o['evalue']}" for o in out if o["type"] == "error"), "")
            assert status == "ok", f"code cell {ran + 1}: {error}"
            ran += 1
        assert ran > 3
        readme = posixpath.normpath(posixpath.join(posixpath.dirname(NOTEBOOK), readme_link("kraft_kuairec")))
        assert api(f"contents/{readme}?content=0")["name"] == "README.md"  # the closings' README link opens
    finally:
        ws.close()
        api(f"sessions/{session['id']}", method="DELETE")


def _run_until_error(nb):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    return next(o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error")


def test_our_errors_show_in_a_notebook_as_one_line(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import shared\nfrom shared.runtime.errors import DataError\n"
            "raise DataError('preds.parquet: not found; run notebook 02 first')"
        ),
        nbformat.v4.new_code_cell("1 / 0"),
    ]
    error = _run_until_error(nb)
    assert (error.ename, error.evalue) == ("DataError", "preds.parquet: not found; run notebook 02 first")
    assert len(error.traceback) == 1 and "run notebook 02 first" in error.traceback[0]  # no stack
    assert nb.cells[1].get("outputs", []) == []  # the cell failed: Run All stops there


@pytest.mark.notebook
def test_a_notebook_opened_out_of_order_names_the_one_to_run_first(tmp_path, monkeypatch):
    """vk_clips' ranker notebook before the models it stacks: one line naming the notebooks to run."""
    import nbformat

    monkeypatch.setenv(OUTPUT_ENV, str(tmp_path))
    nb = nbformat.read(NOTEBOOKS_DIR / "vk_clips" / "05_ranker.ipynb", 4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source += "\nSCALE = 'tiny'"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    error = _run_until_error(nb)
    assert error.ename == "DataError" and len(error.traceback) == 1
    assert "notebook" in error.evalue, error.evalue
