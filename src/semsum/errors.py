"""The one exception type users see: a one-line message naming the file and the problem."""


class SemsumError(Exception):
    """Bad input or a missing resource. The CLI prints the message on one line and exits non-zero."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same cleanup (saving work) runs for both."""
