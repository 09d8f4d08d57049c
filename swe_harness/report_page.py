"""The run report page: ``python -m swe_harness report DIR`` -> ``DIR/report.html``.

One self-contained HTML file (no script, no external file; plots are inline SVG drawn with
matplotlib): resolve rate overall and per repo, status breakdown, a histogram of eval
durations, the slowest and the flakiest instances, and a table of every instance with its
status, reward, evidence and links to its log folder (``logs/<instance_id>/``).

Reads ``report.jsonl`` (every attempt; the last line of an instance is its result) and, when
present, ``summary.json`` (missing predictions, empty patches, unknown ids).
"""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

STATUS_COLORS = {"passed": "#2e7d32", "failed": "#c62828", "patch_failed": "#ef6c00",
                 "rejected": "#6a1b9a", "timeout": "#f9a825", "error": "#455a64"}
TOP = 10


class ReportError(Exception):
    """A run dir without a report to read."""


def read_lines(run_dir: Path) -> list[dict]:
    path = run_dir / "report.jsonl" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise ReportError(f"{path}: no such file (made by `eval ... --run-dir DIR`)")
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReportError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        if not isinstance(line, dict) or "instance_id" not in line or "status" not in line:
            raise ReportError(f"{path}:{number}: not a report line (instance_id, status)")
        lines.append(line)
    return lines


def repo_of(line: dict) -> str:
    """The line's repo; for older lines without one, guessed from a SWE-bench id."""
    if line.get("repo"):
        return line["repo"]
    match = re.match(r"^(.+?)__(.+)-\d+$", line["instance_id"])
    return f"{match.group(1)}/{match.group(2)}" if match else "(unknown)"


def _duration(line: dict) -> float | None:
    durations = line.get("duration_s") or {}
    return durations.get("eval", durations.get("total"))


def _evidence(line: dict) -> str:
    """``pytest · 3 passed 1 failed``: how we know, and the per-test counts when known."""
    counts = line.get("test_counts") or {}
    parts = [f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped", "xfail")
             if counts.get(k)]
    for short, name in (("F2P", "fail_to_pass"), ("P2P", "pass_to_pass")):
        if counts.get(f"{name}_total"):
            parts.append(f"{short} {counts.get(f'{name}_passed', 0)}/{counts[f'{name}_total']}")
    return f"{line.get('evidence', '')}" + (f" · {' '.join(parts)}" if parts else "")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and doctype


def _plots(final: list[dict]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10})
    plots = {}
    statuses = Counter(line["status"] for line in final)
    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    names = sorted(statuses, key=lambda s: -statuses[s])
    ax.barh(names, [statuses[n] for n in names],
            color=[STATUS_COLORS.get(n, "#1565c0") for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("instances")
    ax.set_title("status breakdown")
    plots["statuses"] = _svg(fig)
    durations = [d for d in map(_duration, final) if d is not None]
    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    ax.hist(durations or [0], bins=min(30, max(5, len(durations) // 3)), color="#1565c0")
    ax.set_xlabel("eval seconds")
    ax.set_ylabel("instances")
    ax.set_title("eval durations")
    plots["durations"] = _svg(fig)
    return plots


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _badge(status: str) -> str:
    status = html.escape(status)
    return f'<span class="st st-{status}">{status}</span>'


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def _link(iid: str, name: str, label: str) -> str:
    href = html.escape(f"logs/{iid}/{name}", quote=True)
    return f'<a href="{href}">{html.escape(label)}</a>'


def render(lines: list[dict], summary: dict | None = None, title: str = "swe_harness run") -> str:
    """The page, as a string (pure but for matplotlib)."""
    attempts: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        attempts[line["instance_id"]].append(line)
    final = [runs[-1] for _, runs in sorted(attempts.items())]
    resolved = sum(1 for line in final if line.get("reward") == 1.0)
    scored = sum(1 for line in final if line.get("reward") is not None)
    total = summary.get("total_instances", len(final)) if summary else len(final)
    if summary:
        resolved = summary.get("resolved_instances", resolved)

    by_repo: dict[str, list[dict]] = defaultdict(list)
    for line in final:
        by_repo[repo_of(line)].append(line)
    repo_rows = []
    for repo, group in sorted(by_repo.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ok = sum(1 for line in group if line.get("reward") == 1.0)
        errors = sum(1 for line in group if line["status"] == "error")
        repo_rows.append([html.escape(repo), str(len(group)), str(ok), str(errors),
                          _pct(ok, len(group))])

    statuses = Counter(line["status"] for line in final)
    status_rows = [[_badge(s), str(n),
                    _pct(n, len(final))] for s, n in statuses.most_common()]
    if summary:
        for key, label in (("missing_prediction_instances", "missing prediction"),
                           ("empty_patch_instances", "empty patch"),
                           ("unknown_prediction_instances", "unknown prediction id")):
            if summary.get(key):
                status_rows.append([html.escape(label), str(summary[key]), "not evaluated"])

    slow = sorted((line for line in final if _duration(line) is not None),
                  key=lambda line: -_duration(line))[:TOP]
    slow_rows = [[_link(l["instance_id"], "eval.log", l["instance_id"]),
                  f"{_duration(l):.2f}", f"{l.get('duration_s', {}).get('total', 0):.2f}",
                  _badge(l["status"])] for l in slow]

    flaky = []
    for iid, runs in attempts.items():
        rewards = [r.get("reward") for r in runs if r.get("reward") is not None]
        outcomes = Counter(rewards)
        if len(outcomes) > 1:
            flaky.append((min(outcomes.values()) / len(rewards), iid, runs))
    flaky.sort(key=lambda item: (-item[0], item[1]))
    flaky_rows = [[_link(iid, "eval.log", iid), str(len(runs)),
                   html.escape(" ".join(str(r.get("reward")) for r in runs)), f"{share:.2f}"]
                  for share, iid, runs in flaky[:TOP]]

    instance_rows = []
    for line in final:
        iid = line["instance_id"]
        why = line.get("error") or line.get("detail") or ""
        instance_rows.append([
            html.escape(iid), html.escape(repo_of(line)),
            _badge(line["status"]), html.escape(str(line.get("reward"))),
            html.escape(_evidence(line)), str(len(attempts[iid])),
            "" if _duration(line) is None else f"{_duration(line):.2f}",
            " ".join((_link(iid, "eval.log", "log"), _link(iid, "patch.diff", "patch"),
                      _link(iid, "report.json", "report"))),
            html.escape(why.splitlines()[0][:160] if why else ""),
        ])

    plots = _plots(final)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = sorted({str(l.get("harness_version")) for l in final if l.get("harness_version")})
    kinds = sorted({str(l.get("patch")) for l in final})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212121; max-width: 1200px; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #616161; margin-top: 4px; }}
.cards {{ display: flex; gap: 16px; flex-wrap: wrap; margin: 16px 0; }}
.card {{ border: 1px solid #e0e0e0; border-radius: 8px; padding: 12px 18px; min-width: 150px; }}
.card .big {{ font-size: 28px; font-weight: 600; }}
.plots {{ display: flex; gap: 16px; flex-wrap: wrap; }} .plots svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin: 8px 0 20px; }}
th, td {{ border-bottom: 1px solid #eee; padding: 4px 10px; text-align: left; vertical-align: top; }}
th {{ background: #fafafa; }}
.st {{ padding: 1px 6px; border-radius: 4px; color: #fff; background: #1565c0; }}
{''.join(f".st-{s} {{ background: {c}; }}" for s, c in STATUS_COLORS.items())}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="sub">patch: {html.escape(", ".join(kinds))} · harness {html.escape(", ".join(versions) or "?")} · generated {generated}</p>
<div class="cards">
<div class="card"><div>resolve rate</div><div class="big" id="resolve-rate">{_pct(resolved, total)}</div><div>{resolved} of {total} instances</div></div>
<div class="card"><div>scored</div><div class="big">{scored}</div><div>errors are not scored</div></div>
<div class="card"><div>evaluations</div><div class="big">{len(lines)}</div><div>attempts, retries included</div></div>
</div>
<h2>Resolve rate per repo</h2>
{_table(["repo", "instances", "resolved", "errors", "resolve rate"], repo_rows, "repos")}
<h2>Status breakdown</h2>
{_table(["status", "instances", "share"], status_rows, "statuses")}
<div class="plots">{plots["statuses"]}{plots["durations"]}</div>
<h2>Slowest instances</h2>
{_table(["instance", "eval s", "total s", "status"], slow_rows, "slowest")}
<h2>Flakiest instances</h2>
{_table(["instance", "attempts", "rewards", "minority share"], flaky_rows, "flakiest") if flaky_rows else "<p>No instance changed its reward between attempts.</p>"}
<h2>Instances</h2>
{_table(["instance", "repo", "status", "reward", "evidence", "attempts", "eval s", "logs", "why"], instance_rows, "instances")}
</body></html>
"""


def write(run_dir: str | Path) -> Path:
    """Render ``run_dir``'s report into ``run_dir/report.html``; returns its path."""
    run_dir = Path(run_dir)
    lines = read_lines(run_dir)
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    out = folder / "report.html"
    out.write_text(render(lines, summary, title=f"swe_harness run: {folder.name}"),
                   encoding="utf-8")
    return out
