#!/bin/bash
# Issue 24: the minilm-l6 students read passages at 256 tokens (their sentence-transformers max_seq_length), the teacher
# at 384; 8.1% of SQuAD v1.1 dev's paragraphs are longer than 256 tokens. The same retrieval at 384 tokens for
# minilm-l6 as shipped and the two --alpha-sim students (round 2): how much of the gap is truncation?
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap32 OMP_NUM_THREADS=1
cd /work/runs/emb3
[ -f len384-retrieval.json ] || distil eval-retrieval --model minilm-l6 --model /work/runs/emb2/sim-lr5e-5 \
  --model /work/runs/emb2/sim-lr5e-5-seed1 --max-seq-length 384 --data /work/shared/data/squad/dev-v1.1.json \
  -o len384-retrieval.json > len384-retrieval.log 2>&1
echo "len384 retrieval rc=$?"
