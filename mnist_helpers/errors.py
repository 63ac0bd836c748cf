"""The base of the package's own errors: each says what was wrong and how to fix it, in one line."""


class MnistHelpersError(Exception):
    """A refusal or failure with a message for the user; the command line prints it as one ``error:`` line
    and exits with ``exit_status`` (2: the input was refused before anything ran; 1: the work failed)."""

    exit_status = 1


class Interrupted(MnistHelpersError):
    """Ctrl-C during the work: the message says what was kept."""

    exit_status = 130
