"""The one base of the errors a user can fix.

``kzner`` prints these as one line (``kzner: error: ...``) and exits 2: a bad
config key, a missing file, an unreadable input, a refused server. Anything
else is a bug in kzner or a library and keeps its traceback, so that it is
never mistaken for bad input.
"""

from __future__ import annotations


class KznerError(Exception):
    """Something in what the user gave kzner (config, data, model, input,
    server) that the message names and the user can change."""
