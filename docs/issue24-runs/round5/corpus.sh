#!/bin/bash
# Issue 24, fifth round: the training corpus of qq.sh, a folder distil reads as text files:
# WikiText-2 valid + test as every earlier round, and 15,000 of QQP validation's 73,321 distinct questions.
source /work/main/.venv/bin/activate
mkdir -p /work/runs/emb5/corpus-qqp && cd /work/runs/emb5
cp /work/shared/data/wikitext-2/wiki.*.tokens corpus-qqp/
python - <<'PY'
import pandas as pd
d = pd.read_parquet('/work/shared/data/glue-hub/qqp/validation-00000-of-00001.parquet')
q = pd.concat([d.question1, d.question2]).str.replace(r'\s+', ' ', regex=True).str.strip()
q = q[q.str.len() > 0].drop_duplicates()
s = q.sample(15000, random_state=0)
open('corpus-qqp/qqp-questions.txt', 'w').write('\n'.join(s) + '\n')
print(len(q), len(s))
PY
