#!/bin/bash
# Issue 21: how long making and labelling 8 new inputs per example takes for 4,000 SST-2 sentences (the issue's
# "minutes, not an hour"). One optimizer step, so the run is the preparation; the report's body.seconds has the times.
# The teacher is batching.sh's SST-2 fine-tune, the student init3 (minilm-l6's layers 0,2,4); one thread (OMP_NUM_THREADS=1).
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
cd /work/runs
/usr/bin/time -f "augment-time wall %e s" distil distill --teacher /work/runs/batching/teacher --student /work/runs/init3 \
    --task sst2 --glue-dir /work/shared/data/glue --train-limit 4000 --augment 8 --cache-teacher --max-steps 1 \
    --out /work/runs/augment-time --overwrite -o /work/runs/augment-time.json
python -c "import json; r=json.load(open('/work/runs/augment-time.json'))['body']; print(r['inputs'], r['seconds'])"
