"""Implementations with a defect planted in a narrow region, for the worst-case search's tests.

``log_sigmoid_drift`` is correctly rounded except on the band 20 <= x <= 59.3717, where an error grows smoothly
(as a polynomial approximation drifting out of its fitted range would) and crosses the verdict's allowance
(8 + 2*kappa ULPs, kappa ~ x there) only in the last ~0.02 before the band ends at an unremarkable number.  Default
fuzzing rarely draws there (the families' ranges stop at |x| = 20 and 50, the thresholds sit at 37 and 88); a
search that follows the error upwards gets there.
"""

import numpy as np

END = 59.3717


def log_sigmoid_drift(x):
    x = np.asarray(x)
    x64 = x.astype(np.float64)
    y = -np.logaddexp(0.0, -x64)  # float64 is far more accurate than float32: this rounds correctly there
    y = y.astype(x.dtype)
    band = (x64 >= 20.0) & (x64 <= END)
    with np.errstate(all="ignore"):
        t = (x64 - 20.0) / (END - 20.0)
        allowance = 8.0 + 2.0 * x64  # kappa of log_sigmoid at large x is x itself
        drift = np.where(band, allowance * (0.9 * t**2 + 0.15 * np.exp(-(END - x64) / 0.05)), 0.0)  # ULPs
        out = np.where(band, y.astype(np.float64) + drift * np.spacing(y).astype(np.float64), y)
    return out.astype(x.dtype)
