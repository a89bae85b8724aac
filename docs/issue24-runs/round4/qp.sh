#!/bin/bash
# Issue 24, fourth round: distillation on query–passage pairs (--query-passage: one sentence of each WikiText-2
# paragraph as a pseudo-query, the rest as its passage, both in one batch), so that --alpha-sim learns the teacher's
# query–passage similarities, the shape search compares.
#   qp.sh minilm : minilm-l6 from mpnet-base, similarities only (as round 2's sim.sh 5e-5), 200 steps of 16 pairs
#   qp.sh cka    : the first round's CKA student, 100 more steps of 16 pairs with the recipe's losses + --alpha-sim 30
#                  (as round 2's ckasim.sh 30, which took 200 steps of 32 sentences)
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap40 OMP_NUM_THREADS=1
cd /work/runs/emb4
name=qp-$1
if [ "$1" = minilm ]; then
  args="--student minilm-l6 --max-steps 200 --lr 5e-5 --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-sim 1"
else
  args="--student /work/runs/emb/run/distill-cka/run --max-steps 100 --lr 1e-4 --alpha-sim 30"
fi
[ -f $name.json ] || distil distill --teacher mpnet-base $args --task embeddings --query-passage \
  --corpus /work/shared/data/wikitext-2 --max-seq-length 256 --batch-size 32 --save-every 50 --log-every 10 \
  --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
