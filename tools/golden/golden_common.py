"""Small helpers shared by the golden-fixture scripts in this folder.

It needs only the standard library and numpy, which every golden venv has, so any script
here can import it. Run from the repository root as `python tools/golden/<script>.py`,
Python puts this folder first on sys.path, so a plain `from golden_common import ...` works.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np


def num(x):
    """A JSON number: a Python float (repr round-trips), or null for NaN / missing."""
    if x is None:
        return None
    x = float(x)
    return None if not math.isfinite(x) else x


def rel(a, b, scale=None):
    """|a - b| relative to |b|, or to scale when given (absolute when the scale is 0)."""
    s = abs(b) if scale is None else scale
    return abs(a - b) / s if s > 0 else abs(a - b)


def quiet(fn, *args, **kwargs):
    """Call fn with its printed tables and warnings swallowed; return (result, warnings)."""
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, sorted({str(w.message) for w in caught})


def to_py(obj):
    """Recursively convert numpy scalars/arrays into plain Python objects so that json
    writes them exactly (float repr round-trips). A non-finite float is an error."""
    if isinstance(obj, dict):
        return {str(k): to_py(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_py(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_py(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if not math.isfinite(x):
            raise ValueError(f"non-finite float in fixture: {x}")
        return x
    return obj
