"""From importance scores to a summary: KTS shots, 0/1 knapsack, keyshot selection."""
