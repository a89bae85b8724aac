"""Training data for distillation: read a corpus, cut it into token chunks, mask and batch them.

``corpus``   documents from text files, folders, JSON lines, saved or hub datasets
``chunks``   the DistilBERT recipe's ``[CLS] ... [SEP]`` chunks, cached on disk
``masking``  dynamic MLM masking weighted by token frequency (``prepare_batch_mlm``)
``batching`` length-grouped batches and right-padding collation
``glue``     GLUE tasks and their readers, for fine-tuning and evaluation
"""
