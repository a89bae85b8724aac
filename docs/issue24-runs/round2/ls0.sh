#!/bin/bash
# Issue 24: minilm-l6 with only the least-squares Dense 384 -> 768 added, untrained: one step at lr 1e-12 so that
# distill saves it (what the least-squares start alone does, before any distillation step).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap26 OMP_NUM_THREADS=1
cd /work/runs/emb2
name=other-ls0
[ -f $name.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 1 \
  --batch-size 32 --lr 1e-12 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
