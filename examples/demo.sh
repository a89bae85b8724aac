#!/usr/bin/env bash
# The demo, offline: the model layer on the packaged teacher (minilm-l6, BERT, 6 layers).
# It inspects the teacher, makes a 3-layer student from teacher layers 0,2,4,
# inspects the student and compares the two reports.
# (`distil distill` will extend this demo when it lands.)
set -euo pipefail
export HF_HUB_OFFLINE=1
OUT=${DEMO_OUT:-runs/demo}
mkdir -p "$OUT"

distil models
distil models inspect minilm-l6 --output "$OUT/teacher.json"
distil models student minilm-l6 --layer-map 0,2,4 --out "$OUT/student" --overwrite --output "$OUT/student.json"
distil models inspect "$OUT/student" --output "$OUT/student-inspect.json"
distil report compare "$OUT/teacher.json" "$OUT/student-inspect.json" --output "$OUT/compare.json"
echo "demo outputs in $OUT/ (reports: teacher.json, student.json, student-inspect.json, compare.json)" >&2
