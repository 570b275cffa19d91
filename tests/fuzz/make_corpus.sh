#!/bin/sh
# Seeds for fuzz_model_files from the shared fixtures: one real file per parser, each
# prefixed with the byte that selects the parser (and, for config folders, the weights).
# usage: tests/fuzz/make_corpus.sh OUT_DIR [FIXTURES_DIR]
set -eu
out=${1:?usage: make_corpus.sh OUT_DIR [FIXTURES_DIR]}
fx=${2:-$(dirname "$0")/../../../shared/fixtures}
mkdir -p "$out"
seed() { # name, prefix bytes (octal escapes), file
  { printf "$2"; cat "$3"; } > "$out/$1"
}
seed safetensors '\000' "$fx/legacy_mice/legacy_2L_full_LN/reference.safetensors"
python3 - "$fx" "$out" <<'PY'
import sys, zipfile
fx, out = sys.argv[1], sys.argv[2]
for name, path in [("pickle-hf", "hf_vit_classifier/pytorch_model.bin"),
                   ("pickle-legacy", "legacy_mice/legacy_2L_full_LN/checkpoints/model_64.pth")]:
    z = zipfile.ZipFile(f"{fx}/{path}")
    pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
    open(f"{out}/{name}", "wb").write(b"\x01" + z.read(pkl))
    # The same pickle as the data.pkl of an archive (mode 4).
    open(f"{out}/archive-{name[7:]}", "wb").write(b"\x04" + z.read(pkl))
PY
printf '\002{"image_size":32,"patch_size":8,"n_channels":3,"d_model":64,"n_heads":4,"n_layers":3,"d_mlp":128,"n_classes":10}' > "$out/prisma-config"
seed config-hf '\003\000' "$fx/hf_vit_classifier/config.json"
seed config-timm '\003\001' "$fx/timm_vit_avgpool/config.json"
seed config-clip '\003\002' "$fx/hf_clip_vision/config.json"
seed config-legacy '\003\003' "$fx/legacy_mice/legacy_2L_full_LN/config.json"
echo "wrote $(ls "$out" | wc -l) seeds to $out"
