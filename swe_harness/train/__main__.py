"""``python -m swe_harness.train [hydra overrides]``: GRPO training on SWE tasks with NeMo-RL.

``--cfg job`` prints the composed config; ``train.dry_run=true`` checks everything without a GPU
or NeMo-RL; otherwise NeMo-RL must be importable (install instructions are printed if not).
"""

from __future__ import annotations

import hydra

from .config import configs_dir, register_resolvers, to_nemo_rl

register_resolvers()


@hydra.main(config_path=str(configs_dir()), config_name="train", version_base="1.3")
def main(cfg) -> int:
    if cfg.train.dry_run:
        from .dryrun import dry_run

        code = dry_run(cfg)
        if code:
            raise SystemExit(code)
        return code
    from .launch import launch, require_nemo_rl

    require_nemo_rl()  # before anything slow: fail at once with the install instructions
    launch(to_nemo_rl(cfg))
    return 0


if __name__ == "__main__":
    main()
