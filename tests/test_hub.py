"""A real JupyterHub serves the course to four learners at once (benchmarks/hub.py starts it).

The hub (JupyterHub from PyPI, its proxy from npm, the dummy authenticator and the simple local-process
spawner) runs on 127.0.0.1 only. Four learners log in through its REST API at the same time, each pulls the
student edition into their own home with nbgitpuller from a git repository of the edition, and all four
run notebook 05 with small parameters at once, each in their own kernel behind the hub. Then: every run
completed, every check says "Not answered yet", the four copies are in four homes, and no learner reaches
another's server. The hub and its servers are stopped at the end, also when the test fails.
"""

import asyncio
import os
import subprocess
import sys

import pytest
from exercise_tables import names_of
from small_runs import OVERRIDES, check_small_run

from benchmarks.hub import (
    NO_PROXY,
    KernelMemory,
    Learner,
    class_run,
    edition_repository,
    find_proxy,
    hub_environment,
    request,
    running_hub,
)

pytestmark = pytest.mark.slow
NAMES = ["ada", "grace", "alan", "katherine"]


@pytest.fixture(scope="module")
def proxy():
    found = find_proxy()
    if found is None:
        if os.environ.get("MNIST_REQUIRE_HUB"):  # CI installs the proxy: missing, it is a failure
            pytest.fail(NO_PROXY + " (MNIST_REQUIRE_HUB is set)")
        pytest.skip(NO_PROXY)
    return found


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "mnist-student"
    subprocess.run([sys.executable, "-m", "mnist_helpers", "student", "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


def test_four_learners_at_once(proxy, edition, data_root, tmp_path):
    repo = edition_repository(edition, tmp_path)
    learners = [Learner(name) for name in NAMES]
    with running_hub(tmp_path / "hub", NAMES, hub_environment(data_root)) as hub:
        with KernelMemory(NAMES) as memory:
            asyncio.run(class_run(hub, learners, repo, "05_train.ipynb", OVERRIDES["05_train.ipynb"]))
        homes = {learner.name: hub.homes / learner.name / "mnist-course" for learner in learners}
        for learner in learners:
            assert not learner.errors, f"{learner.name}: {''.join(learner.errors)[-2000:]}"
            check_small_run("05_train.ipynb", learner.text, tmp_path)
            assert learner.text.count("Not answered yet") == len(names_of("nb05")), learner.text[-1500:]
            assert (homes[learner.name] / "05_train.ipynb").is_file() and memory.peaks[learner.name] > 100
        assert len({path.resolve() for path in homes.values()}) == len(NAMES)

        async def reach_others():
            seen = []
            for learner, other in zip(learners, learners[1:] + learners[:1], strict=True):
                for path in (f"/user/{other.name}/api/contents/mnist-course", f"/hub/api/users/{other.name}",
                             f"/user/{other.name}/api/kernels"):
                    status, _ = await request(hub, "GET", path, learner.token)
                    seen.append((learner.name, path, status))
                own, _ = await request(hub, "GET", f"/user/{learner.name}/api/contents/mnist-course", learner.token)
                assert own == 200, f"{learner.name} cannot read their own course ({own})"
            return seen

        for name, path, status in asyncio.run(reach_others()):
            assert status in (403, 404), f"{name} reached {path}: {status}"
    assert hub.process.poll() is not None


def test_the_hub_is_stopped_after_a_failure(proxy, data_root, tmp_path):
    with pytest.raises(RuntimeError, match="inside"):
        with running_hub(tmp_path / "hub", ["ada"], hub_environment(data_root)) as hub:
            raise RuntimeError("a failure inside the class")
    assert hub.process.poll() is not None
    import psutil

    left = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert not left, f"left running: {[p.info['cmdline'] for p in left]}"
