"""The one exception type the command line turns into a one-line message.

Library code raises `PostureWatchError` with a message a user can act on; only `cli.main` decides to exit.
"""


class PostureWatchError(Exception):
    """A problem the user can fix (bad file, no camera, ...). `str(err)` is the whole message."""
