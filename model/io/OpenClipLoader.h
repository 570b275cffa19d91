#pragma once
// open_clip's image tower -> HookedViT. open_clip's VisionTransformer is CLIP's: a patch
// convolution without bias, the class embedding first, learned positions, `ln_pre`,
// pre-LN resblocks whose attention is one nn.MultiheadAttention (a fused
// in_proj_weight [3·D, D], rows q|k|v, split here into W_Q/W_K/W_V per head), `ln_post`
// on every token, the CLS token pooled, and `proj` [D, embed_dim] (used as x @ proj, no
// bias) as HookedViT's head, so the output is `encode_image` (not normalised). GELU or
// QuickGELU as the config's quick_gelu says. The text tower is model/clip's (it reads
// the same file); here its tensors are known and skipped.

#include "model/io/ModelLoader.h"
#include "model/io/OpenClipConfig.h"

namespace prisma::io {

LoadedModel loadOpenClip(const OpenClipFiles& files, const LoadOptions& options = {});

}  // namespace prisma::io
