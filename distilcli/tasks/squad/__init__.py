"""SQuAD v1.1 / v2.0: the official JSON (data), windowed features, the QA head, post-processing,
the official metrics and scoring."""
