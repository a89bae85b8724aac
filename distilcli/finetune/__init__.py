"""Fine-tuning on GLUE tasks: classifier loading, features, the training engine."""
