#!/bin/bash
# The LSA stand-in model (tools/models/make_lsa_model.py): generated from a
# small fixed corpus, it loads in docrag's unchanged local embedder and
# `docrag embed` equals the float64 numpy forward pass of the same folder
# (tools/models/bert_ref.py, with its own Python WordPiece) within 1e-4; the
# output is the exact LSA fold-in (normalised sum of the term vectors) to
# cosine >= 0.99999; a query's nearest text is the related one.
. "$(dirname "$0")/lib.bash"
need_shared models/all-MiniLM-L6-v2-no-weights/vocab.txt
TOOLS="$DOCRAG_SRC/tools/models"
mkdir -p "$T/corpus/space" "$T/corpus/food"
cat >"$T/corpus/space/planets.txt" <<'EOF'
The planets orbit the Sun. Jupiter and Saturn are gas giants; Mars is a rocky planet with a thin atmosphere.
EOF
cat >"$T/corpus/space/telescopes.md" <<'EOF'
# Telescopes
A telescope collects light from stars, galaxies and planets. Astronomers measure the orbit of a planet around its star.
EOF
cat >"$T/corpus/food/pasta.txt" <<'EOF'
Boil the pasta in salted water, then toss it with tomato sauce, garlic and olive oil.
EOF
cat >"$T/corpus/food/bread.txt" <<'EOF'
Knead the dough with flour, water, salt and yeast; bake the bread in a hot oven until the crust is brown.
EOF
cat >"$T/corpus/net.txt" <<'EOF'
TCP retransmits lost packets; the router forwards each packet along the network route to its destination.
EOF
cat >"$T/corpus/routing.txt" <<'EOF'
Routing protocols exchange network reachability so that every router knows where to forward a packet.
EOF

check "generator runs on a folder of .txt/.md files" \
    py "$TOOLS/make_lsa_model.py" "$T/corpus" "$T/lsa-test" --dim 48
check "model folder is complete" test -s "$T/lsa-test/model.safetensors" -a \
    -s "$T/lsa-test/config.json" -a -s "$T/lsa-test/1_Pooling/config.json" -a \
    -s "$T/lsa-test/modules.json" -a -s "$T/lsa-test/vocab.txt" -a -s "$T/lsa-test/README.md"

cat >"$T/texts" <<'EOF'
which planets orbit the sun
bake bread dough in the oven
how does a router forward a packet
The planets orbit the Sun. Jupiter and Saturn are gas giants; Mars is a rocky planet with a thin atmosphere.
Boil the pasta in salted water, then toss it with tomato sauce, garlic and olive oil.
TCP retransmits lost packets; the router forwards each packet along the network route to its destination.
zebra quokka
EOF
check "docrag embed runs the LSA folder" \
    sh -c '"$1" embed --model "$2" <"$3" >"$4"' _ "$DOCRAG_BIN" "$T/lsa-test" "$T/texts" "$T/docrag.json"
check "numpy reference runs" \
    sh -c '"$1" "$2/bert_ref.py" "$3" <"$4" >"$5"' _ /usr/bin/python3 "$TOOLS" "$T/lsa-test" "$T/texts" "$T/ref.json"

check "docrag embed == numpy float64 forward pass (max |diff| <= 1e-4), == exact LSA fold-in, nearest texts" \
    py - "$T/docrag.json" "$T/ref.json" "$T/lsa-test" "$TOOLS" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[4])
from bert_ref import read_safetensors
from wordpiece_py import WordPiece
got = np.array(json.load(open(sys.argv[1])))
ref = np.array(json.load(open(sys.argv[2])))
assert got.shape == ref.shape == (7, 48), (got.shape, ref.shape)
diff = np.abs(got - ref).max()
print("max |docrag - numpy| =", diff)
assert diff <= 1e-4, diff
# exact LSA fold-in with raw tf: the normalised sum of the pieces' rows
word = read_safetensors(sys.argv[3] + "/model.safetensors")["embeddings.word_embeddings.weight"]
tok = WordPiece.from_dir(sys.argv[3])
texts = open(sys.argv[3] + "/../texts").read().splitlines()
for i, t in enumerate(texts[:6]):
    z = word[tok.encode(t, 256)].sum(0)
    cos = float(z @ got[i]) / np.linalg.norm(z)
    print("text %d: cosine to exact LSA fold-in %.8f" % (i, cos))
    assert cos >= 0.99999, (i, cos)
# every vector has zero mean over the hidden dimensions (LayerNorm's centring is a no-op)
assert np.abs(word.mean(1)).max() < 1e-7
# only pieces absent from the corpus: all tokens are 0, the output stays 0
assert np.abs(got[6]).max() == 0.0, got[6]
# queries 0..2 -> texts 3..5: the related text is the nearest
sims = got[:3] @ got[3:6].T
print("query x text cosines:\n", np.round(sims, 3))
assert list(sims.argmax(1)) == [0, 1, 2], sims
PY

mkdir -p "$T/one"
cp "$T/corpus/net.txt" "$T/one/"
check "a corpus of one document is refused with a clear message" \
    sh -c '! "$1" "$2/make_lsa_model.py" "$3/one" "$3/bad" 2>"$3/err" && grep -q "at least 2 documents" "$3/err"' \
    _ /usr/bin/python3 "$TOOLS" "$T"
check "a file that is not BEIR jsonl is refused naming the file and line" \
    sh -c '! "$1" "$2/make_lsa_model.py" "$3/corpus/net.txt" "$3/bad" 2>"$3/err" && grep -q "net.txt:1: not a BEIR corpus line" "$3/err"' \
    _ /usr/bin/python3 "$TOOLS" "$T"
finish
