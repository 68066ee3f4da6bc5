#!/usr/bin/env bash
# Download the KazNERD files kzner reads, at the pinned upstream commit, and
# check them. KazNERD (IS2AI, LREC 2022) is licensed CC BY 4.0: cite it and keep
# its licence with the files.
#
#   scripts/download_kaznerd.sh [DEST]      (default DEST: data/kaznerd)
#   export KZNER_KAZNERD_DIR=DEST
#
# valid and test are checked against pinned sha256s. The train file (90,228
# sentences, the paper's training set) was never on the machines kzner is
# built on, so it has no pinned sha256: `kzner data kaznerd` checks its
# structure instead (id lines, two columns, KazNERD's tags, the sentence
# count, the plain file equal to the id-headed one) and prints its sha256.
set -euo pipefail
dest=${1:-data/kaznerd}
commit=bd4333d
base="https://raw.githubusercontent.com/IS2AI/KazNERD/${commit}/KazNERD"
mkdir -p "$dest"
for path in IOB2_train.txt IOB2_valid.txt IOB2_test.txt \
    with_sentID/IOB2_train2.txt with_sentID/IOB2_valid2.txt with_sentID/IOB2_test2.txt; do
    echo "fetching $path" >&2
    curl -fsSL --retry 3 -o "$dest/$(basename "$path")" "$base/$path"
done
curl -fsSL --retry 3 -o "$dest/LICENSE.md" "https://raw.githubusercontent.com/IS2AI/KazNERD/${commit}/LICENSE.md" || \
    echo "note: LICENSE.md not fetched; KazNERD is CC BY 4.0" >&2
echo "note: IOB2_train.txt and IOB2_train2.txt are UNPINNED (no known sha256); their structure is checked below" >&2
# kzner checks valid and test against the pinned sha256, the train files'
# structure, and says what is wrong.
if command -v kzner >/dev/null; then
    kzner data kaznerd --dir "$dest"
else
    echo "now run: kzner data kaznerd --dir $dest (it checks every file; the train files are unpinned)" >&2
fi
