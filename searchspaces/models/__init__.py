"""PyTorch builders of the benchmark networks (imported lazily by ``Space.to_model``)."""
