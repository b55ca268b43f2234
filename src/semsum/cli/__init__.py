"""The `semsum` command line: declarations over the package's API, one module per concern.

Every command turns a SemsumError into one line on stderr and exit status 1 (`semsum.cli.base`). The options of
the stages and of the library's settings are generated from their declarations (`semsum.cli.declared`).
"""

from semsum.cli import align, data, extract, share, training, video
from semsum.cli.base import app

__all__ = ["align", "app", "data", "extract", "share", "training", "video"]
