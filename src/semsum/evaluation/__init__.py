"""Evaluation: rank correlations (Otani et al.) and F-score, two protocols, human and random baselines."""
