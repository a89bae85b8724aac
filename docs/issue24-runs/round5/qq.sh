#!/bin/bash
# Issue 24, fifth round: question-form training text. The corpus folder holds WikiText-2 (valid + test) and
# 15,000 questions drawn (pandas .sample, random_state 0) from the 73,321 distinct questions of QQP validation
# (../shared/data/glue-hub/qqp), one per line; nothing of SQuAD. Each run is round 2's with this corpus instead:
#   minilm: minilm-l6 from mpnet-base, --alpha-sim 1 --alpha-mse-emb 0, lr 5e-5, 400 steps x 32 (round2/sim.sh 5e-5)
#   cka:    the distilled CKA student, recipe losses + --alpha-sim 30, lr 1e-4, 200 steps x 32 (round2/ckasim.sh 30)
#   cka2:   `cka`'s student (qq-cka), 400 more steps the same way (more steps on the same text)
# Extra arguments go to `distil distill` (a later variant names itself with $2).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap32 OMP_NUM_THREADS=1
cd /work/runs/emb5
kind=$1; name=qq-$kind${2:+-$2}; shift 2 2>/dev/null || shift
corpus=/work/runs/emb5/corpus-qqp
if [ $kind = minilm ]; then
  args="--student minilm-l6 --max-steps 400 --lr 5e-5 --alpha-cos 0.0 --alpha-mse-emb 0 --alpha-sim 1 --save-every 100 --log-every 50"
elif [ $kind = cka2 ]; then
  args="--student /work/runs/emb5/qq-cka --max-steps 400 --lr 1e-4 --alpha-sim 30 --save-every 100 --log-every 50"
else
  args="--student /work/runs/emb/run/distill-cka/run --max-steps 200 --lr 1e-4 --alpha-sim 30 --save-every 50 --log-every 25"
fi
[ -f $name.json ] || distil distill --teacher mpnet-base --task embeddings --corpus $corpus --document-per sentence \
  --batch-size 32 $args "$@" --out $name -o $name.json > $name.log 2>&1
echo "$name distill rc=$?"
[ -f $name-retrieval.json ] || distil eval-retrieval --model $name --data /work/shared/data/squad/dev-v1.1.json \
  -o $name-retrieval.json > $name-retrieval.log 2>&1
echo "$name retrieval rc=$?"
[ -f $name-sts.json ] || distil eval-sts --model $name --glue-dir /work/shared/data/glue -o $name-sts.json > $name-sts.log 2>&1
echo "$name sts rc=$?"
