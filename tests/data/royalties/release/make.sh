#!/usr/bin/env bash
# Make the royalty receipts of tests/data/royalties/release/ with the `provenance` CLI of the
# release whose receipts they are (see README.md there): run from the repository root of that
# release, `bash tests/data/royalties/release/make.sh [OUT_DIR]`. The receipts are signed by a
# fresh home's log key and carry the time of the run, so each run writes other bytes; the
# tests read the files kept, not this script.
set -euo pipefail
OUT=${1:-tests/data/royalties/release}
WORK_DIR=$(mktemp -d)
export PROVENANCE_HOME="$WORK_DIR/home" HOME="$WORK_DIR/user" NO_COLOR=1
mkdir -p "$HOME"
p() { provenance "$@"; }
for k in default publisher studio guild; do p key new "$k" >/dev/null; done
key() { p key show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])'; }
printf 'a page of the book (licensed, then transferred)\n' > "$WORK_DIR/page-1.txt"
printf 'another page of the book (licensed, not paid)\n' > "$WORK_DIR/page-2.txt"
p anchor "$WORK_DIR/page-1.txt" >/dev/null
p anchor "$WORK_DIR/page-2.txt" >/dev/null
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
# Licence 1: a fee of 3,000 JPY to the creator, paid 3,100 JPY (100 too much); the work is
# then transferred to the publisher, to whom the royalty of a report (5,000 JPY) falls due.
L1=$(p licence offer "$WORK_DIR/page-1.txt" --to "$(key studio)" --purpose ai_training \
     --fee 3000 JPY --royalty-bps 1000 --json | id)
p licence accept "$L1" --key studio >/dev/null
p payment record "$L1" --to "$(key default)" --amount 3100 JPY --key studio >/dev/null
p transfer "$WORK_DIR/page-1.txt" --to "$(key publisher)" >/dev/null
p usage report "$L1" --period 2026 --units 10 --revenue 50000 JPY --key studio >/dev/null
# Licence 2: a fee of 2,000 JPY to the creator, not paid.
L2=$(p licence offer "$WORK_DIR/page-2.txt" --to "$(key studio)" --purpose ai_training \
     --fee 2000 JPY --json | id)
p licence accept "$L2" --key studio >/dev/null
p royalties --licensee studio --receipt "$OUT/v1-two-licences.json" >/dev/null
# A key record (an attestation of the publisher's key): the receipt is then a v2.
p identity attest publisher --name "Kaori Publishing" --key guild >/dev/null
p royalties --licensee studio --receipt "$OUT/v2-two-licences.json" >/dev/null
p log key > "$OUT/log_key.txt"
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
for name in ("v1-two-licences.json", "v2-two-licences.json"):
    print(name, json.loads((Path(sys.argv[1]) / name).read_text())["format"])
PY
rm -rf "$WORK_DIR"
