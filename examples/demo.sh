#!/usr/bin/env bash
# The demo, offline apart from PyPI: a sentence encoder made twice as fast, measured against the
# undistilled student.
#
# 1. Real English text and a real similarity test, both from the gensim 4.4.0 wheel (PyPI):
#    the shortened Wikipedia dump (cleaned by examples/demo_corpus.py) and the Lee benchmark,
#    50 news articles with human similarity scores for all 1,225 pairs.
# 2. minilm-l6 (a 6-layer sentence encoder): which 3 layers to keep, measured (linear CKA).
# 3. The undistilled student (those layers copied), then the distilled one: the teacher's sentence
#    embeddings learnt on the Wikipedia sentences.
# 4. Zero-shot similarity of teacher, undistilled and distilled student on the Lee pairs; their
#    speed; the loss curves as a picture.
# Never the Hugging Face hub, never ../shared. About 10 minutes on 2 CPU cores.
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
OUT=${DEMO_OUT:-runs/demo}
STEPS=${DEMO_STEPS:-200}
mkdir -p "$OUT"
CORPUS=(--corpus "$OUT/wiki.txt" --document-per sentence)

python examples/demo_corpus.py --out "$OUT/wiki.txt" --pairs "$OUT/lee-pairs.tsv"
distil models suggest-layers minilm-l6 "${CORPUS[@]}" --layers 3 --plot "$OUT/layers.png" --output "$OUT/layers.json"
distil models student minilm-l6 --layers 3 --layer-map auto "${CORPUS[@]}" --out "$OUT/undistilled" --overwrite \
  --output "$OUT/undistilled.json"
distil distill --task embeddings --teacher minilm-l6 --layers 3 --layer-map auto "${CORPUS[@]}" --out "$OUT/student" \
  --max-steps "$STEPS" --log-every 20 --save-every 100 --overwrite --output "$OUT/distill.json"
distil eval-sts --model minilm-l6 --model "$OUT/undistilled" --model "$OUT/student" --pairs "$OUT/lee-pairs.tsv" \
  --output "$OUT/similarity.json"
distil benchmark --model minilm-l6 --model "$OUT/student" --batch-sizes 1,8 --seq-lengths 128 --no-memory \
  --output "$OUT/speed.json"
distil report plot "$OUT/distill.json" --plot "$OUT/loss_curves.png"
echo "demo outputs in $OUT/: student/ (a Hugging Face and sentence-transformers folder), undistilled/," \
  "similarity.json, speed.json, distill.json, layers.png, loss_curves.png" >&2
