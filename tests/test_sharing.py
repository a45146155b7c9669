"""The core-sharing benchmark measures what it says: the wait policy reaches the child's OpenMP."""
import subprocess
import sys

from shared import sharing


def test_the_policy_reaches_the_child_after_the_pin():
    code = "import shared, os; print(os.environ['OMP_WAIT_POLICY'], os.environ.get('GOMP_SPINCOUNT'))"
    for policy, env in sharing.POLICIES.items():
        out = subprocess.run([sys.executable, "-c", code], env=sharing._env(policy), capture_output=True, text=True,
                             check=True, timeout=60).stdout.split()
        assert out == [env["OMP_WAIT_POLICY"], env.get("GOMP_SPINCOUNT", "None")]


def test_a_step_is_timed_in_a_fresh_process():
    seconds = sharing.time_step("torch", "passive")
    assert 0 < seconds < 60
