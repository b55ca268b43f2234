"""Networks and training machinery shared by several stages (GoogLeNet, the epoch loop)."""
