"""What every training run shares, below the recipes (distill, finetune) and the tasks.

``options`` (TrainOptions / TaskOptions: the optimizer, schedule and loop options, declared once),
``loop`` (the one optimizer-step loop), ``log_window`` (what a status line reports, and its resume),
``checkpoint`` (all of a run's state, GradScaler included),
``batches`` (per-process, length-grouped batches), ``runtime`` (rank and option checks),
``task_run`` (a run on a task: evaluation on dev, best model, early stopping) with its
``task_protocols``, ``task_record``, ``task_summary``, ``task_card`` and ``run_files``, ``inference`` (longest-first
batched inference) and ``saving`` (a trained model with its card, placed atomically).
"""
