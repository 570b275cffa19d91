#!/bin/sh
# Seeds from the shared fixtures, each prefixed with the byte that selects the parser (and,
# for config folders, the family or layout whose weights it is read beside):
#   fuzz_model_files     one real file per parser (the default)
#   fuzz_clip_tokenizer  texts, edits of the shipped merges, merges files (--tokenizer)
# usage: tests/fuzz/make_corpus.sh [--tokenizer] OUT_DIR [FIXTURES_DIR]
set -eu
target=model_files
if [ "${1:-}" = --tokenizer ]; then target=tokenizer; shift; fi
out=${1:?usage: make_corpus.sh [--tokenizer] OUT_DIR [FIXTURES_DIR]}
fx=${2:-$(dirname "$0")/../../../shared/fixtures}
mkdir -p "$out"
seed() { # name, prefix bytes (octal escapes), file
  { printf "$2"; cat "$3"; } > "$out/$1"
}

if [ $target = tokenizer ]; then
  python3 - "$(dirname "$0")/../../resources/clip/bpe_simple_vocab_16e6.txt.gz" "$out" <<'PY'
import gzip, sys
vocab, out = sys.argv[1], sys.argv[2]
lines = gzip.open(vocab, "rb").read().split(b"\n")
def put(name, data): open(f"{out}/{name}", "wb").write(data)
# 0 (to 4): text through the shipped vocabulary
for i, t in enumerate(["a photo of a cat.", "A DIAGRAM of   two\tdogs\r\n", "it's they're we'll I'd 12345",
                       "&amp;quot;Ünïcödé&quot; ﬁsh ＡＢＣ\u3000— “quoted” ‘x’ &#x41;&#66;&nbsp;",
                       "<start_of_text>emoji 🐈‍⬛ 日本語 中文 한국어<end_of_text>", "\x00\x07\x1b[0m ctrl"]):
    put(f"text-{i}", b"\x00" + t.encode("utf-8"))
put("text-invalid-utf8", b"\x00caf\xc3 \xff\xfe \xed\xa0\x80 ok")
# 5: two bytes pick a line (of 2^16 steps through the file), the rest replaces lines there
put("edit-start", b"\x05\x00\x00" + b"\n".join(lines[1:4]))
put("edit-middle", b"\x05\x80\x00" + b"\n".join(lines[24000:24003]))
put("edit-end", b"\x05\xff\xff" + lines[-2])
put("edit-special", b"\x05\x00\x01" + "<start_of_text> </w>\nÃ ©</w>\ni n".encode("utf-8"))
# 6: a whole merges file (cut short), 7: its gzip bytes
put("merges-short", b"\x06" + b"\n".join(lines[:200]))
put("gzip-short", b"\x07" + gzip.compress(b"\n".join(lines[:200])))
PY
  echo "wrote $(ls "$out" | wc -l) seeds to $out"
  exit 0
fi

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
seed config-open_clip '\003\004' "$fx/open_clip_vit/open_clip_config.json"
seed config-open_clip-quickgelu '\003\004' "$fx/open_clip_vit_quickgelu/open_clip_config.json"
seed config-dinov2-reg '\003\005' "$fx/dinov2_hub/config.json"
seed config-dinov2-p14 '\003\006' "$fx/dinov2_hub_p14/config.json"
seed config-timm-reg-ls '\003\007' "$fx/timm_vit_reg_ls/config.json"
seed config-timm-map '\003\010' "$fx/timm_vit_map_siglip/config.json"
# SAE configs beside the fixture SAE's weights: ViT-Prisma, SAELens, ours.
seed sae-vit-prisma '\005\000' "$fx/prisma_sae/config.json"
printf '\005\001{"architecture":"standard","d_in":64,"d_sae":256,"hook_name":"blocks.1.hook_resid_post","model_name":"fixture/hf_vit_classifier","activation_fn_str":"relu","activation_fn_kwargs":{},"normalize_activations":"layer_norm","apply_b_dec_to_input":true,"l1_coefficient":0.005,"hook_head_index":null}' > "$out/sae-saelens"
printf '\005\002{"format":"prisma-sae","version":1,"d_in":64,"d_sae":256,"activation":"relu","normalize_activations":"layer_norm","subtract_b_dec":true,"l1_coefficient":0.005,"hook_name":"blocks.1.hook_resid_post","model":"fixture/hf_vit_classifier","tokens":"all"}' > "$out/sae-prisma"
printf '\005\002{"format":"prisma-sae","version":1,"d_in":64,"d_sae":256,"activation":"topk","k":8,"hook_name":"blocks.1.hook_resid_post"}' > "$out/sae-prisma-topk"
python3 - "$fx" "$out" <<'PY'
import sys, zipfile
fx, out = sys.argv[1], sys.argv[2]
# ViT-Prisma's SAE checkpoint: {"cfg": VisionModelSAERunnerConfig, "state_dict": ...}.
z = zipfile.ZipFile(f"{fx}/prisma_sae/n_images_1513.pt")
pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
open(f"{out}/sae-pickle", "wb").write(b"\x06" + z.read(pkl))
PY
echo "wrote $(ls "$out" | wc -l) seeds to $out"
