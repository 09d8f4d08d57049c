"""The run report page, rendered by headless Chromium (Debian's ``chromium``)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from swe_harness.report_page import ReportError, read_lines, render

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true and no chromium (scripts/setup.sh installs Debian's chromium)",
                        pytrace=False)
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return found


def browse(chromium, tmp_path, page, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    run = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
                          page.as_uri()], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def line(iid, repo, status, reward, eval_s, **extra):
    return {"instance_id": iid, "repo": repo, "patch": "model", "status": status,
            "reward": reward, "evidence": "pytest", "harness_version": "0.1.0",
            "duration_s": {"eval": eval_s, "total": eval_s + 0.4}, **extra}


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "logs" / "acme__calc-1").mkdir(parents=True)
    (run / "logs" / "acme__calc-1" / "eval.log").write_text("1 passed\n")
    lines = [line("acme__calc-1", "acme/calc", "passed", 1.0, 1.5,
                  test_counts={"passed": 3, "fail_to_pass_total": 1, "fail_to_pass_passed": 1}),
             line("acme__calc-2", "acme/calc", "failed", 0.0, 2.5,
                  detail="the eval script failed"),
             line("zeta__web-7", "zeta/web", "error", None, 0.1, error="Docker engine gone"),
             line("zeta__web-8", "zeta/web", "timeout", 0.0, 99.0),
             # flaky: three attempts that disagree
             line("zeta__web-9", "zeta/web", "passed", 1.0, 3.0),
             line("zeta__web-9", "zeta/web", "failed", 0.0, 3.1),
             line("zeta__web-9", "zeta/web", "passed", 1.0, 2.9)]
    (run / "report.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    (run / "summary.json").write_text(json.dumps({
        "total_instances": 6, "resolved_instances": 2, "missing_prediction_instances": 1}))
    return run


def test_the_page_shows_the_run(chromium, run_dir, tmp_path):
    made = subprocess.run([sys.executable, "-m", "swe_harness", "report", str(run_dir)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    page = run_dir / "report.html"
    dom = browse(chromium, tmp_path, page, "--dump-dom")
    assert '<div class="big" id="resolve-rate">33.3%</div>' in dom  # 2 of 6, missing included
    assert "2 of 6 instances" in dom
    repos = dom.split('class="repos"')[1].split("</table>")[0]
    assert "<td>acme/calc</td><td>2</td><td>1</td><td>0</td><td>50.0%</td>" in repos
    assert "<td>zeta/web</td><td>3</td><td>1</td><td>1</td><td>33.3%</td>" in repos
    statuses = dom.split('class="statuses"')[1].split("</table>")[0]
    assert "missing prediction</td><td>1</td>" in statuses
    flakiest = dom.split('class="flakiest"')[1].split("</table>")[0]
    assert "zeta__web-9" in flakiest and "1.0 0.0 1.0" in flakiest
    slowest = dom.split('class="slowest"')[1].split("</table>")[0]
    assert slowest.index("zeta__web-8") < slowest.index("acme__calc-2")  # 99 s first
    assert 'href="logs/acme__calc-1/eval.log"' in dom and "pytest · 3 passed F2P 1/1" in dom
    assert dom.count("<svg") == 2  # the plots are inline; nothing is fetched
    assert not any(tag in dom for tag in ("<script", "<link", "<img", 'src="', "@import"))

    shot = tmp_path / "page.png"
    browse(chromium, tmp_path, page, f"--screenshot={shot}", "--window-size=1280,1600")
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    # the status bars are drawn: pixels of the "passed" green (#2e7d32) and "failed" red
    green = ((abs(pixels[..., 0] - 0x2e / 255) < 0.02) & (abs(pixels[..., 1] - 0x7d / 255) < 0.02)
             & (abs(pixels[..., 2] - 0x32 / 255) < 0.02))
    red = ((abs(pixels[..., 0] - 0xc6 / 255) < 0.02) & (abs(pixels[..., 1] - 0x28 / 255) < 0.02)
           & (abs(pixels[..., 2] - 0x28 / 255) < 0.02))
    assert green.sum() > 2000 and red.sum() > 2000


def test_bad_reports_are_named(tmp_path):
    with pytest.raises(ReportError, match="no such file"):
        read_lines(tmp_path)
    (tmp_path / "report.jsonl").write_text('{"instance_id": "a", "status": "passed"}\n{oops\n')
    with pytest.raises(ReportError, match=r"report.jsonl:2: invalid JSON"):
        read_lines(tmp_path)


def test_an_empty_run_renders():
    page = render([])
    assert "n/a" in page and "No instance changed its reward" in page
