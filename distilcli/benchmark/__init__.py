"""``distil benchmark``: size, latency, throughput and memory of models, measured side by side."""
