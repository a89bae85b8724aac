"""Fine-tuning on a GLUE task or SQuAD: the options and a thin recipe over the task registry and training/."""
