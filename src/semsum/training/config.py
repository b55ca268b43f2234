"""The settings of a training run (`RunConfig`, `TrainConfig`), saved as its config.json; the trainer's docstring
(`semsum.training.trainer`) says what the selections do."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from semsum.errors import SemsumError

SELECTIONS = ("last", "val", "inner-cv", "test-best")
SELECTION_LABELS = {
    "last": "last epoch (leakage-free)",
    "val": "best validation tau on a split carved from the training folds (leakage-free)",
    "inner-cv": "epoch count chosen by cross-validation inside the training folds, then refitted on all of them "
    "(leakage-free)",
    "test-best": "best test-fold correlation per epoch (published CSTA protocol; leaks test information)",
}
#: Training losses between a video's predicted step scores and its target (`semsum.training.trainer.LOSS_FUNCTIONS`):
#: the paper's and the official codes' MSE, or 1 - Pearson's correlation (free of scale and offset, as the benchmarks'
#: rank correlations are), or a pairwise ranking loss (RankNet's, on standardised scores: the order alone, as Kendall's
#: tau reads it).
LOSSES = ("mse", "pearson", "rank")
#: How long a refit on all training videos trains (`semsum.training.refit`): the chosen passes or the chosen updates.
REFIT_BY = ("passes", "steps")


@dataclass
class RunConfig:
    """What every trainer's config holds: model, optimiser, seed, selection, device; saved as the run's config.json.

    `TrainConfig` (k-fold) and the streamed trainer's `StreamConfig` extend it with their own settings and defaults.
    """

    SELECTIONS: ClassVar[tuple[str, ...]] = SELECTIONS

    model: str = "csta"
    epochs: int = 100
    lr: float = 1e-3
    weight_decay: float = 1e-7
    batch_size: int = 1
    seed: int = 123456
    select: str = "last"
    normalize: bool = True
    deterministic: bool = True
    device: str = "auto"
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.select not in self.SELECTIONS:
            raise SemsumError(f"unknown selection {self.select!r} (choose from {', '.join(self.SELECTIONS)})")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class TrainConfig(RunConfig):
    """Everything that decides a k-fold run's result (the paper's CSTA defaults)."""

    feature_keys: tuple[str, ...] = ("features",)
    val_fraction: float = 0.2
    # input standardisation fitted on each fold's training videos, and the models' dropout (None: the model's own);
    # both travel in `model_kwargs`, so a saved run rebuilds the same model
    standardize: bool = False
    dropout: float | None = None
    # learning rates tried in every fold, the one with the best validation tau kept (needs select "val" or
    # "inner-cv")
    lr_grid: tuple[float, ...] = ()
    # with select "val": also check the validation videos every `val_every` training videos inside an epoch (0: at
    # epoch ends only), and `refit`: retrain on all the fold's training videos for as many passes as were chosen
    val_every: int = 0
    refit: bool = False
    # with select "inner-cv": the groups each fold's training videos are split into (`semsum.training.innercv`)
    inner_folds: int = 5
    # how long a refit trains (`refit`, `inner-cv`): as many passes over the data as chosen, or as many updates
    refit_by: str = "passes"
    # a learned projection of the input to `project` dimensions in front of the model, and dropout on its input
    project: int | None = None
    input_dropout: float = 0.0
    loss: str = "mse"

    def __post_init__(self) -> None:
        self.feature_keys, self.lr_grid = tuple(self.feature_keys), tuple(self.lr_grid)
        super().__post_init__()
        if self.epochs < 1 or self.batch_size < 1:
            raise SemsumError("epochs and batch size must be at least 1")
        if not 0 < self.val_fraction < 1:
            raise SemsumError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise SemsumError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.lr_grid and self.select not in ("val", "inner-cv"):
            raise SemsumError("lr_grid is chosen on validation videos: it needs select 'val' or 'inner-cv'")
        if (self.val_every or self.refit) and self.select != "val":
            raise SemsumError("val_every and refit act on one validation split: each needs select 'val'")
        if self.inner_folds < 2:
            raise SemsumError(f"inner_folds must be at least 2, got {self.inner_folds}")
        if self.refit_by not in REFIT_BY:
            raise SemsumError(f"unknown refit_by {self.refit_by!r} (choose from {', '.join(REFIT_BY)})")
        if self.loss not in LOSSES:
            raise SemsumError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        if self.val_every < 0 or (self.project is not None and self.project < 1) or not 0 <= self.input_dropout < 1:
            raise SemsumError("val_every must be >= 0, project >= 1 and input_dropout in [0, 1)")
        options = {"standardize": True} if self.standardize else {}
        options |= {} if self.dropout is None else {"dropout": self.dropout}
        options |= {} if self.project is None else {"project": self.project}
        options |= {"input_dropout": self.input_dropout} if self.input_dropout else {}
        self.model_kwargs = {**self.model_kwargs, **options}

    def learning_rates(self) -> tuple[float, ...]:
        """The learning rates each fold tries: the grid, or `lr` alone."""
        return self.lr_grid or (self.lr,)
