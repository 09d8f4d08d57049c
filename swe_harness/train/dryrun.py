"""``train.dry_run=true``: everything a real run checks first, without a GPU or NeMo-RL.

Config (converted and checked), data (the parquet files and their tasks), tokenizer (chat
template, glue, prompt lengths), images; then ``SweEnv.step`` driven with scripted replies on a
few tasks, turn by turn the way NeMo-RL's ``run_multi_turn_rollout`` drives it (only ``role`` and
``content`` reach the env, metadata is carried for continuing samples, rewards are summed over
turns); then what a real run would launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import ENV_NAME, check, describe_launch


@dataclass
class Rollout:
    """One sample driven through the env: what NeMo-RL would hold at the end."""

    instance_id: str
    messages: list[dict]
    total_reward: float = 0.0
    turns: int = 0
    terminated: bool = False
    metadata: dict = field(default_factory=dict)


def drive(env, prompts: list[tuple[str, list[dict], dict]], models: list, max_turns: int
          ) -> list[Rollout]:
    """Run ``models[i]`` (``query(messages) -> Reply``) against ``env`` on ``prompts[i]``
    (instance id, chat-templated prompt messages, initial ``extra_env_info``) for at most
    ``max_turns`` turns, one batched ``env.step`` per turn."""
    rollouts = [Rollout(iid, [dict(m) for m in messages], metadata=dict(meta))
                for iid, messages, meta in prompts]
    for _ in range(max_turns):
        active = [i for i, r in enumerate(rollouts) if not r.terminated]
        if not active:
            break
        for i in active:
            reply = models[i].query(rollouts[i].messages).text
            rollouts[i].messages.append({"role": "assistant", "content": reply})
        out = env.step([[{"role": m["role"], "content": m["content"]}
                         for m in rollouts[i].messages] for i in active],
                       [rollouts[i].metadata for i in active])
        for j, i in enumerate(active):
            r = rollouts[i]
            r.messages.append(out.observations[j])
            r.total_reward += out.rewards[j]
            r.turns += 1
            r.terminated = bool(out.terminateds[j])
            if out.metadata[j] is not None:
                r.metadata = out.metadata[j]
    return rollouts


def scripted_replies(task, kind: str, submit_marker: str) -> list[str]:
    """``gold``: apply the gold fix with a shell command, then submit; ``empty``: submit at once."""
    submit = f"Submitting.\n\n```bash\necho {submit_marker}\n```"
    if kind == "empty":
        return [submit]
    fix = task.gold_candidate
    marker = "SWE_HARNESS_PATCH_EOF"
    apply = (f"Applying the fix.\n\n```bash\ncd {task.workdir} && git apply <<'{marker}'\n"
             f"{fix.rstrip(chr(10))}\n{marker}\n```")
    return [apply, submit]


def templated_prompt(tokenizer, messages: list[dict]) -> list[dict]:
    """The prompt as ``swe_data_processor`` leaves it: one message, chat-templated text."""
    return [{"role": "user", "content": tokenizer.render(messages, add_generation_prompt=True)}]


def dry_run(cfg) -> int:
    from ..prepare import read_rows, schema
    from .config import to_nemo_rl
    from .env import SweEnv
    from .glue import derive_glue, load_chat_tokenizer

    failures = 0

    def report(ok: bool, what: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {what}", flush=True)

    nrl = to_nemo_rl(cfg)
    env_cfg = nrl["env"][ENV_NAME]
    problems = check(nrl)
    report(not problems, "config: " + ("; ".join(problems) or "consistent"))

    rows = []
    for path in env_cfg["tasks"]:
        try:
            part = read_rows(path)
        except Exception as exc:
            report(False, f"data: {path}: {exc}")
            continue
        missing = set(schema().names) - (set(part[0]) if part else set(schema().names))
        report(bool(part) and not missing, f"data: {path}: {len(part)} rows"
               + (f", missing columns {sorted(missing)}" if missing else ""))
        rows += part
    env = None
    try:
        tokenizer = load_chat_tokenizer(env_cfg["tokenizer"])
        glue = derive_glue(tokenizer, env_cfg.get("observation_role", "user"))
        lengths = [tokenizer.count(tokenizer.render(r["prompt"], add_generation_prompt=True))
                   for r in rows]
        longest = max(lengths, default=0)
        report(longest < env_cfg["max_seq_len"],
               f"tokenizer: {env_cfg['tokenizer']['name']}: glue before={glue.before!r} "
               f"after={glue.after!r}; longest prompt {longest} tokens of "
               f"{env_cfg['max_seq_len']}")
        env = SweEnv(env_cfg, tokenizer=tokenizer)
    except Exception as exc:
        report(False, f"tokenizer: {env_cfg['tokenizer']['name']}: {exc}")
    if env is not None:
        try:
            _drive_env(env, cfg, rows, report)
        finally:
            env.shutdown()
    print("\nA real run would launch:")
    for line in describe_launch(nrl):
        print("  " + line)
    print(f"\ndry run: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


def _drive_env(env, cfg, rows, report) -> None:
    from .. import sandbox

    tasks = env.tasks()
    report(len(tasks) == len({r["instance_id"] for r in rows}),
           f"tasks: {len(tasks)} loadable from the data files")
    picked = [tasks[r["instance_id"]] for r in rows if r["instance_id"] in tasks]
    picked = list({t.instance_id: t for t in picked}.values())[:int(cfg.train.dry_run_tasks)]
    build = env.eval_options.build
    for task in picked:
        try:
            sandbox.ensure_image(task, build)
            report(True, f"image: {task.instance_id}: {task.image_name}")
        except Exception as exc:
            report(False, f"image: {task.instance_id}: {exc}")
    from ..agent.models import ScriptedModel

    kinds = ["gold", "empty"]
    samples = max(1, int(cfg.train.dry_run_samples))
    prompts, models, expected = [], [], []
    row_of = {r["instance_id"]: r for r in rows}
    for task in picked:
        prompt = templated_prompt(env.tokenizer, row_of[task.instance_id]["prompt"])
        meta = {"instance_id": task.instance_id, "turn": 0,
                "prompt_tokens": env.tokenizer.count(prompt[0]["content"])}
        for s in range(samples):
            kind = kinds[s % len(kinds)]
            prompts.append((task.instance_id, prompt, meta))
            models.append(ScriptedModel(scripted_replies(task, kind,
                                                          env.agent_config.submit_marker)))
            expected.append(1.0 if kind == "gold" else 0.0)
    rollouts = drive(env, prompts, models, env.max_turns)
    bad = 0
    for r, want in zip(rollouts, expected):
        ok = r.terminated and r.total_reward == want
        bad += not ok
        print(f"  {r.instance_id}: turns={r.turns} reward={r.total_reward} "
              f"ending={r.metadata.get('ending')} status={r.metadata.get('status')}"
              + ("" if ok else f"  (expected reward {want})"))
    metrics = env.metrics.snapshot()
    print("  metrics: " + "  ".join(f"{k}={v:.3g}" for k, v in sorted(metrics.items())))
    report(not bad and env.live_episodes() == 0,
           f"env: {len(rollouts)} scripted episodes through SweEnv.step (gold fix -> 1.0, "
           "empty submit -> 0.0)")
