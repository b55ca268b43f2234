"""Video files in and out: probing and sampled decoding (PyAV), and the summary-video writer."""
