#!/bin/bash
# Issue 24: the --alpha-sim minilm-l6 student (round 2's sim.sh, lr 5e-5, seed 42) with --embedding-dim 256: its Dense
# starts as the PCA of its own embeddings, the teacher keeps 768 dimensions, only similarities are compared.
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap31 OMP_NUM_THREADS=1
cd /work/runs/emb3
name=sim256
[ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
  --batch-size 32 --lr 5e-5 --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-sim 1 --embedding-dim 256 --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
