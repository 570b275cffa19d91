#pragma once
// The last block for the pooled token only. A patched run is scored by its logits, and a
// CLS-pooling ViT reads them from token 0 alone: in the last block every token's keys and
// values still matter (the CLS query attends to them), but the queries, the attention
// output, the MLP and the final LayerNorm matter only at token 0. Computing just those
// costs the LayerNorm and the key / value projections -- about a sixth of a block -- so a
// patched run saves ~5/6 of a block: ~0.07 forward-equivalents per cell on a 12-layer
// model, whose exact patching floor is ~0.54.
//
// The hook points of the last block do not fire on this path, so it is only taken when
// none of them has a hook (canReadPooledOnly); the final LayerNorm and the head run in the
// model itself (start_at_layer = n_layers), so their hooks do.

#include "model/vit/HookedViT.h"

namespace prisma::interp {

// True for pre-LN models pooling the CLS token whose last block carries no hooks.
bool canReadPooledOnly(const HookedViTImpl& model);

// The model's output from the last block's residual stream input (blocks.{L-1}.hook_resid_pre,
// [batch, pos, d_model]), computing that block at the CLS token only. Requires
// canReadPooledOnly(model); throws prisma::Error otherwise.
torch::Tensor pooledReadout(HookedViTImpl& model, const torch::Tensor& last_resid_pre);

}  // namespace prisma::interp
