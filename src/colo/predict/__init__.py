"""Usage prediction engine: decaying histograms, banks of them, and a peak estimator."""

from colo.predict.bank import HistogramBank
from colo.predict.decaying import DecayingHistogram
from colo.predict.histogram import Histogram
from colo.predict.options import HistogramOptions
from colo.predict.peak import PeakEstimatorBank

__all__ = [
    "DecayingHistogram",
    "Histogram",
    "HistogramBank",
    "HistogramOptions",
    "PeakEstimatorBank",
]
