"""The options of the commands that run stages over videos (`summarize`, `app`, `dataset build`, `extract mllm`):
which implementation of each stage, their own options (generated from their declarations), the sampling and the
executor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from semsum.cli.declared import Declaration, values
from semsum.registry import ENCODERS, SCORERS, SHOT_DETECTORS, implementations, option

if TYPE_CHECKING:
    from semsum.pipeline.executors import Executor
    from semsum.pipeline.stages import StageConfig

Encoder = Annotated[
    str,
    typer.Option(
        "--encoder",
        help="Frame encoder by name: googlenet (pool5), videollava (Video-LLaVA windows, --mllm-model), "
        "fx (F(x) of GoogLeNet, --mapper), or a plugin's.",
    ),
]
Shots = Annotated[
    str | None,
    typer.Option(
        "--shots",
        help="Shot detector by name: auto (summarize's default: transnetv2 on a GPU or up to 2,000 frames, else kts), "
        "kts (dataset build's default), transnetv2, or a plugin's.",
    ),
]
ScorerName = Annotated[
    str | None,
    typer.Option(
        "--scorer",
        help="Scorer by name: coverage (default; training-free), zero-shot (Video-LLaVA; training-free), "
        "run (the default with --run), or a plugin's.",
    ),
]
SAMPLING = Declaration.of(
    "semsum.pipeline.sampling:SamplingConfig",
    skip=("reference_only",),  # the job decides (summarize: where shots come from the features), no flag
    help={
        "stride": "Sample every STRIDE-th frame (default: 15, the benchmarks'; summarize: finer for short videos).",
        "fps": "Sample at this rate (timestamps) instead of --stride.",
        "batch_size": "Frames per decoded and encoded batch.",
    },
    defaults={"stride": None},  # automatic: the job chooses
    renamed={"--step": "stride"},
)
# Every option of every registered encoder, shot detector and scorer; `summarize` and `app` take them all.
SCORING_STAGES = Declaration.registered(
    lambda: implementations(ENCODERS, SHOT_DETECTORS, SCORERS), renamed={"--features": "run_input"}
)
# Dataset files run no scorer.
FEATURE_STAGES = Declaration.registered(lambda: implementations(ENCODERS, SHOT_DETECTORS))


def stage_config(
    ctx: typer.Context, stages: Declaration, encoder: str, shots: str | None, device: str, scorer: str | None = None
) -> StageConfig:
    """The stages chosen on the command line, with the options given for them (by `stages`) and the sampling.

    With `stages` naming scorers, the scorer is `scorer`, else `run` when --run is given, else `coverage`."""
    from semsum.pipeline.sampling import SamplingConfig
    from semsum.pipeline.stages import StageConfig

    given = values(ctx, stages)
    if stages is SCORING_STAGES:
        scorer = scorer or ("run" if "run" in given else "coverage")
    return StageConfig(encoder, shots, scorer, SamplingConfig(**values(ctx, SAMPLING)), device, given)


@dataclass(frozen=True)
class ExecutorChoice:
    """Where a job's videos are processed."""

    executor: str = option("local", "Where the videos are processed: local (this process) or ray (docs/scale.md).")


EXECUTOR = Declaration.of("semsum.cli.stages:ExecutorChoice")
_RAY_FLAGS = {"address": "--ray-address"}
# The Ray executor's settings, their defaults its own; only with --executor ray.
RAY = Declaration.of(
    "semsum.pipeline.executors:RayExecutor",
    only=("address", "actors", "gpus_per_actor", "cpus_per_actor"),
    help={
        "address": "Ray cluster to run on (default: $RAY_ADDRESS, else a local instance for the run). --executor ray.",
        "actors": "Ray actors, each holding one copy of the model.",
        "gpus_per_actor": "GPUs each Ray actor reserves (0: CPU).",
        "cpus_per_actor": "CPUs each Ray actor reserves (decoding).",
    },
    flags=_RAY_FLAGS,
    given_only=True,
)


def executor(ctx: typer.Context) -> Executor:
    """The executor named by --executor, with the Ray options given (one given without Ray is an error)."""
    from semsum.errors import SemsumError
    from semsum.pipeline.executors import LocalExecutor, RayExecutor

    name, ray = values(ctx, EXECUTOR)["executor"], values(ctx, RAY)
    if name == "ray":
        return RayExecutor(**ray)
    if ray:
        first = next(iter(ray))
        flag = _RAY_FLAGS.get(first, "--" + first.replace("_", "-"))
        raise SemsumError(f"{flag} is an option of --executor ray, not of --executor {name}")
    if name == "local":
        return LocalExecutor()
    raise SemsumError(f"--executor {name!r}: expected local or ray")
