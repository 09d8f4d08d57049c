"""Write a scripted agent for tasks that carry their repo (``<task>/repo``, like the bundled ones):
JSONL of ``{"instance_id", "replies"}`` for ``python -m swe_harness.rollout model=scripted``.

Each agent explores (ls, grep, cat), rewrites the files the task's fix changes with shell
heredocs, runs the tests and submits. Usage: python scripts/scripted_replies.py tasks/ > FILE
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from swe_harness import patch as patchlib  # noqa: E402
from swe_harness.task import Task, load_tasks  # noqa: E402

SUBMIT = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def fixed_files(task: Task) -> dict[str, str | None]:
    """Path -> content after the task's fix (None: deleted), applied to a copy of its repo."""
    repo = Path(task.build_context or "") / "repo"
    if not repo.is_dir():
        raise ValueError(f"{task.instance_id}: no repo/ next to task.json")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(repo, work)
        subprocess.run(["git", "apply", "-"], cwd=work, input=patchlib.normalize(
            task.gold_candidate), text=True, check=True, capture_output=True)
        return {path: ((work / path).read_text() if (work / path).exists() else None)
                for path in sorted(patchlib.touched_paths(task.gold_candidate))}


def replies(task: Task) -> list[str]:
    files = fixed_files(task)
    first = next(iter(files))
    stem = Path(first).stem
    out = [
        "Let me see what the repository holds.\n\n```bash\nls -la && git log --oneline | head -5\n```",
        f"Where is `{stem}` used?\n\n```bash\ngrep -rn '{stem}' --include='*.py' . | head -20\n```",
        f"Reading the module.\n\n```bash\ncat {first}\n```",
    ]
    for path, content in files.items():
        if content is None:
            out.append(f"This file goes.\n\n```bash\nrm {path}\n```")
        else:
            body = content if content.endswith("\n") else content + "\n"
            out.append(f"Rewriting `{path}` with the fix.\n\n```bash\n"
                       f"mkdir -p \"$(dirname {path})\" && cat > {path} <<'SWE_AGENT_EOF'\n"
                       f"{body}SWE_AGENT_EOF\n```")
    out.append("Checking the change.\n\n```bash\ngit diff --stat && python -m pytest -q -x 2>&1 | tail -3\n```")
    out.append(f"Done.\n\n```bash\necho {SUBMIT}\n```")
    return out


def main(argv: list[str]) -> int:
    tasks, errors = load_tasks(argv or ["tasks"])
    for error in errors:
        print(error, file=sys.stderr)
    for task in tasks:
        print(json.dumps({"instance_id": task.instance_id, "replies": replies(task)}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
