"""nasperf: predict the performance of neural architectures before training them.

The toolkit's packages live under this one namespace:

- :mod:`nasperf.searchspaces` -- spaces, architectures, ``ArchGraph``, benchmark tables
- :mod:`nasperf.encoders`, :mod:`nasperf.graphfeatures` -- architecture encodings, GRAF
- :mod:`nasperf.zerocost` -- zero-cost proxies for any ``torch.nn.Module``
- :mod:`nasperf.predictors` -- scikit-learn regressors from features to performance
- :mod:`nasperf.eval` -- metrics, the benchmark runner and the ``nasperf`` command line

Importing ``nasperf`` imports none of them (and no torch).
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
