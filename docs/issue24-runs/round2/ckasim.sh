#!/bin/bash
# Issue 24: the distilled CKA student, 200 more steps on WikiText sentences with the recipe's losses
# (L_cos 1, embedding MSE 1) plus --alpha-sim $1 (0: the control, the same steps without it).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap27 OMP_NUM_THREADS=1
cd /work/runs/emb2
sim=$1; name=cka-sim$sim
[ -f $name.json ] || distil distill --teacher mpnet-base --student /work/runs/emb/run/distill-cka/run --task embeddings \
  --corpus /work/shared/data/wikitext-2 --document-per sentence --batch-size 32 --max-steps 200 --lr 1e-4 \
  --alpha-sim $sim --save-every 50 --log-every 25 --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
