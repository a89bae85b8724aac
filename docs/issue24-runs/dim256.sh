#!/bin/bash
# Issue 24: the other-family student (minilm-l6) distilled from mpnet-base exactly as the pipeline's
# distill-other stage, but with 256-dimension embeddings (a Dense layer started as the teacher's PCA).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap24 OMP_NUM_THREADS=1
cd /work/runs/emb
[ -f other256.json ] || distil distill --teacher mpnet-base --student minilm-l6 --document-per sentence --max-steps 400 \
  --batch-size 32 --lr 0.0005 --save-every 100 --log-every 50 --corpus /work/shared/data/wikitext-2 --task embeddings \
  --alpha-cos 0.0 --embedding-dim 256 --out other256 -o other256.json > other256.log 2>&1
echo "distill rc=$?"
[ -f other256-retrieval.json ] || distil eval-retrieval --model other256 --data /work/shared/data/squad/dev-v1.1.json \
  -o other256-retrieval.json > other256-retrieval.log 2>&1
echo "retrieval rc=$?"
[ -f other256-sts.json ] || distil eval-sts --model other256 --glue-dir /work/shared/data/glue -o other256-sts.json > other256-sts.log 2>&1
echo "sts rc=$?"
