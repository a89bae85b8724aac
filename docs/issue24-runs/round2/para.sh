#!/bin/bash
# Issue 24: the distilled CKA student, distilled a second stage on WikiText-2 paragraphs (one line = one
# sequence, up to 256 tokens) so that it sees passage-length inputs, as retrieval embeds them.
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap25 OMP_NUM_THREADS=1
cd /work/runs/emb2
[ -f para.json ] || distil distill --teacher mpnet-base --student /work/runs/emb/run/distill-cka/run --task embeddings \
  --corpus /work/shared/data/wikitext-2 --document-per line --max-seq-length 256 --batch-size 16 --max-steps 120 \
  --lr 1e-4 --save-every 40 --log-every 10 --out para -o para.json > para.log 2>&1
echo "distill rc=$?"
[ -f para-retrieval.json ] || distil eval-retrieval --model para --data /work/shared/data/squad/dev-v1.1.json \
  -o para-retrieval.json > para-retrieval.log 2>&1
echo "retrieval rc=$?"
[ -f para-sts.json ] || distil eval-sts --model para --glue-dir /work/shared/data/glue -o para-sts.json > para-sts.log 2>&1
echo "sts rc=$?"
