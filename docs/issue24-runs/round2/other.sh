#!/bin/bash
# Issue 24: minilm-l6 (another tokenizer, 384 wide) distilled from mpnet-base as the pipeline's distill-other
# stage, but with the Dense 384 -> 768 started as the least-squares map (507e2c8) and a gentle learning rate.
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap26 OMP_NUM_THREADS=1
cd /work/runs/emb2
for lr in "$@"; do
  name=other-lr$lr
  [ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
    --batch-size 32 --lr $lr --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
    --alpha-cos 0.0 --out $name -o $name.json > $name.log 2>&1
  echo "$name distill rc=$?"
  [ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
    -o $name-retrieval.json > $name-retrieval.log 2>&1
  echo "$name retrieval rc=$?"
  [ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
  echo "$name sts rc=$?"
done
