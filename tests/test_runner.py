import re
import sys

import nbformat
import pytest

from shared.runtime.paths import NOTEBOOKS_DIR
from shared.tools import runner


def make_notebook(path, params_src, body):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(params_src)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def test_plan_parameters_types_and_unknown(tmp_path):
    a = make_notebook(tmp_path / "01_a.ipynb", 'NAME: str = "x"  # a string\nN: int = 1  # an int', "")
    b = make_notebook(tmp_path / "02_b.ipynb", "N: int = 1  # an int\nRATE: float = 0.5  # a float", "")
    plans = runner.plan_parameters([a, b], {"NAME": "001", "N": "3", "RATE": "1e-3"})
    assert plans == [{"NAME": "001", "N": 3}, {"N": 3, "RATE": 0.001}]  # "001" stays a string
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['NOPE'\]"):
        runner.plan_parameters([a, b], {"NOPE": 1})
    with pytest.raises(ValueError, match="is not a int"):
        runner.plan_parameters([a], {"N": "many"})


def test_run_notebooks_uses_this_python_and_repo_cwd(tmp_path):
    nb = make_notebook(
        tmp_path / "01_x.ipynb",
        "N: int = 1  # an int",
        "import os, sys\nprint(sys.executable)\nprint(os.getcwd())\nprint(N * 2)",
    )
    (out,) = runner.run_notebooks([nb], tmp_path / "out", {"N": "21"}, progress=False)
    text = "".join(o.get("text", "") for o in nbformat.read(out, 4).cells[-1].outputs)
    exe, cwd, value = text.split()
    assert exe == sys.executable and cwd == str(runner.REPO_ROOT) and value == "42"


def test_track_notebooks_are_numbered_and_their_parameters_parse():
    """papermill silently skips a parameter line it cannot parse (an '=' in the comment, say);
    the runner would then refuse that parameter. Every assignment line must be understood."""
    for track_dir in sorted(p for p in NOTEBOOKS_DIR.iterdir() if p.is_dir()):
        notebooks = runner.track_notebooks(track_dir.name)
        assert [nb.name[:2] for nb in notebooks] == [f"{i:02d}" for i in range(1, len(notebooks) + 1)]
        for nb in notebooks:
            cell = next(c for c in nbformat.read(nb, 4).cells if "parameters" in c.metadata.get("tags", []))
            assigned = [ln for ln in cell.source.splitlines() if re.match(r"^\w+\s*(:[^=]+)?=", ln)]
            assert len(runner.declared_parameters(nb)) == len(assigned) > 0, nb.name


def test_cli_runs_a_track_with_string_parameters(tmp_path, monkeypatch):
    track = tmp_path / "notebooks" / "demo"
    track.mkdir(parents=True)
    make_notebook(track / "01_a.ipynb", 'N: int = 1  # an int\nNAME: str = "x"  # a string', "print(N + 1, NAME)")
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    assert runner.main(["demo", "--out", str(tmp_path / "out"), "-p", "N", "41", "-p", "NAME", "007"]) == 0
    out = nbformat.read(tmp_path / "out" / "demo" / "01_a.ipynb", 4)
    assert out.cells[-1].outputs[0]["text"] == "42 007\n"
    assert runner.main(["demo", "--out", str(tmp_path / "out"), "-p", "SCALE", "tiny"]) == 2  # one line, tested
    assert runner.main(["demo", "other", "--out", str(tmp_path / "out")]) == 2  # in test_command_mistakes.py


def saved_outputs(tmp_path, body):
    """The last cell's outputs of a one-notebook run (``body`` as that cell), as the runner saves it."""
    nb = make_notebook(tmp_path / "01_x.ipynb", "N: int = 1  # an int", body)
    (out,) = runner.run_notebooks([nb], tmp_path / "out", progress=False)
    return nbformat.read(out, 4).cells[-1].outputs


def test_progress_bars_are_saved_as_their_final_line(tmp_path):
    outputs = saved_outputs(
        tmp_path,
        "import sys, time\n"
        "for i in range(1, 6):\n"
        "    sys.stderr.write(f'\\rwork: {i}/5'); sys.stderr.flush(); time.sleep(0.05)\n"
        "sys.stderr.write('\\n')\nprint('done')",
    )
    text = {name: "".join(o["text"] for o in outputs if o["name"] == name) for name in ("stderr", "stdout")}
    assert text == {"stderr": "work: 5/5\n", "stdout": "done\n"}  # not five lines of progress


def test_saved_notebooks_hold_no_progress_bar(tmp_path):
    """Our bars and a library's plain tqdm bar draw nothing in a notebook the runner saves."""
    outputs = saved_outputs(
        tmp_path,
        "from shared.runtime import progress\nfrom tqdm.auto import tqdm\n"
        "for _ in tqdm(range(3)): pass\n"
        "bar = progress.line(4, 'ours'); bar.update(4); progress.stop(bar, 4, 'done')\n"
        "print('ran')",
    )
    assert [(o["name"], o["text"]) for o in outputs] == [("stdout", "ran\n")]


def run_failing_demo(tmp_path, monkeypatch, body):
    """A one-notebook track `demo` whose second cell is ``body``, run by the CLI: it must fail."""
    track = tmp_path / "notebooks" / "demo"
    track.mkdir(parents=True)
    make_notebook(track / "01_a.ipynb", "N: int = 1  # an int", body)
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    monkeypatch.chdir(tmp_path)
    assert runner.main(["demo", "--out", "out"]) == 1


def test_a_failing_notebook_is_one_line(tmp_path, monkeypatch, capsys):
    run_failing_demo(tmp_path, monkeypatch, "raise ValueError(f'no such folder: {N}')")
    err = capsys.readouterr().err
    bar, error, rest = err.split("\n")  # the runner's progress line (updated by \r), then one line
    assert bar.startswith("\rnotebooks:") and rest == "" and "Traceback" not in err
    assert (
        error
        == "error: demo/01_a.ipynb, cell 2: ValueError: no such folder: 1 (executed notebook: out/demo/01_a.ipynb)"
    )


def test_a_killed_kernel_is_one_line_naming_the_cell(tmp_path, monkeypatch, capsys):
    """A real SIGKILL of the kernel process (what the OOM killer does), not a mock."""
    run_failing_demo(tmp_path, monkeypatch, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.endswith("\n") and "DeadKernelError" not in err
    assert err.splitlines()[-1] == (
        "error: demo/01_a.ipynb, code cell 2: the kernel died (killed, or out of memory) "
        "(executed notebook: out/demo/01_a.ipynb)"
    )
