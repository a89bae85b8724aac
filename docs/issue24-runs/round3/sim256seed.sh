#!/bin/bash
# Issue 24: sim256.sh with another seed (--seed $1): is the 256-dimension student's small loss more than one seed's draw?
# Its full-width twin is round 2's simseed.sh $1.
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap33 OMP_NUM_THREADS=1
cd /work/runs/emb3
seed=$1; name=sim256-seed$seed
[ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
  --batch-size 32 --lr 5e-5 --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-sim 1 --embedding-dim 256 --seed $seed --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
