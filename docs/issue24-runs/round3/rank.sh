#!/bin/bash
# Issue 24: minilm-l6 distilled from mpnet-base by in-batch neighbour rankings only (--alpha-rank 1: KL between the
# teacher's and student's softmax over each sentence's cosine similarities to the batch's others, T 0.05); otherwise
# round 2's sim.sh (lr 5e-5, seed 42, 400 steps): does weighing the nearest neighbours help retrieval more than --alpha-sim?
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap32 OMP_NUM_THREADS=1
cd /work/runs/emb3
name=rank
[ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
  --batch-size 32 --lr 5e-5 --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-rank 1 --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
