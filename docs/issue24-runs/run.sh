#!/bin/bash
cd /work/main && source .venv/bin/activate
export PYTHONPATH=/work/snap24 OMP_NUM_THREADS=1
cd /work/snap24
distil pipeline --recipe /work/runs/emb/recipe.yaml --out /work/runs/emb/run --corpus /work/shared/data/wikitext-2 \
  --glue-dir /work/shared/data/glue --retrieval-data /work/shared/data/squad/dev-v1.1.json --jobs 2
echo "pipeline rc=$?"
