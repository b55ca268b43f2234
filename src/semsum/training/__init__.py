"""K-fold training of the registered summarizers, and loading trained runs back for prediction.

from semsum.training import TrainConfig, train, load_run
results = train("data.h5", "splits.txt", "runs/csta", TrainConfig(model="csta", epochs=10))
run = load_run("runs/csta")          # all folds; run.predict(features) = mean over fold models
scores = run.predict(features)       # features [n_steps, run.in_dim] -> [n_steps]
"""

from semsum.training.config import SELECTIONS, TrainConfig
from semsum.training.run import TrainedRun, load_run, train

__all__ = ["SELECTIONS", "TrainConfig", "TrainedRun", "load_run", "train"]
