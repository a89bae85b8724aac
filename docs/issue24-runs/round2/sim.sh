#!/bin/bash
# Issue 24: minilm-l6 distilled from mpnet-base by similarities only (--alpha-sim 1, --alpha-mse-emb 0): no Dense,
# the student keeps its own 384-wide space and learns the teacher's cosine similarities of every pair in a batch.
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap27 OMP_NUM_THREADS=1
cd /work/runs/emb2
lr=$1; name=sim-lr$lr
[ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
  --batch-size 32 --lr $lr --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-sim 1 --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
