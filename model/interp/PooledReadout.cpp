#include "model/interp/PooledReadout.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <cmath>

namespace prisma::interp {

bool canReadPooledOnly(const HookedViTImpl& model) {
  const ViTConfig& cfg = model.cfg();
  if (!cfg.cls_token || cfg.pooling != Pooling::Cls || cfg.legacy_post_ln || cfg.n_layers < 1) return false;
  const std::string last = blockPrefix(cfg.n_layers - 1);
  for (const auto& name : model.hook_names())
    if (name.compare(0, last.size(), last) == 0 && !model.hook_point(name)->empty()) return false;
  return true;
}

torch::Tensor pooledReadout(HookedViTImpl& model, const torch::Tensor& x) {
  if (!canReadPooledOnly(model))
    throw Error("pooled readout", "model", "needs a pre-LN CLS-pooling model without hooks in its last block");
  const ViTConfig& cfg = model.cfg();
  const int L = cfg.n_layers;
  const int64_t B = x.size(0), T = x.size(1), D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head;
  TransformerBlockImpl& blk = model.block(L - 1);
  const AttentionImpl& attn = *blk.attn;

  const torch::Tensor h = blk.ln1 ? blk.ln1->forward(x) : x;  // [B, T, D]
  // Keys and values of every token, in one product (Attention.cpp's column order).
  const torch::Tensor w_kv = torch::cat({attn.W_K, attn.W_V}, 0).permute({1, 0, 2}).reshape({D, 2 * H * dh});
  const bool biased = attn.b_Q.defined();  // qkv_bias
  const torch::Tensor kv = (biased ? torch::addmm(torch::cat({attn.b_K, attn.b_V}, 0).reshape({2 * H * dh}),
                                                  h.reshape({B * T, D}), w_kv)
                                   : torch::mm(h.reshape({B * T, D}), w_kv))
                               .view({B, T, 2, H, dh});
  const torch::Tensor k = kv.select(2, 0).permute({0, 2, 3, 1});  // [B, H, dh, T]
  const torch::Tensor v = kv.select(2, 1).permute({0, 2, 1, 3});  // [B, H, T, dh]
  // The query of the CLS token only.
  const torch::Tensor w_q = attn.W_Q.permute({1, 0, 2}).reshape({D, H * dh});
  const torch::Tensor q = (biased ? torch::addmm(attn.b_Q.reshape({H * dh}), h.select(1, 0), w_q)
                                  : torch::mm(h.select(1, 0), w_q))
                              .view({B, H, 1, dh});
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  const torch::Tensor pattern = torch::softmax(torch::matmul(q, k) * scale, -1);  // [B, H, 1, T]
  const torch::Tensor z = torch::matmul(pattern, v).reshape({B, H * dh});        // [B, H·dh]
  const torch::Tensor cls_mid = x.select(1, 0) + torch::addmm(attn.b_O, z, attn.W_O.reshape({H * dh, D}));  // [B, D]
  torch::Tensor cls_post = cls_mid;
  if (blk.mlp) {
    const torch::Tensor in = cls_mid.unsqueeze(1);  // [B, 1, D]
    cls_post = cls_mid + blk.mlp->forward(blk.ln2 ? blk.ln2->forward(in) : in).squeeze(1);
  }
  // The final LayerNorm, pooling and head are the model's own; the other tokens' rows are
  // placeholders the CLS pooling never reads.
  torch::Tensor resid_post = x.clone();
  resid_post.select(1, 0).copy_(cls_post);
  RunOptions finish;
  finish.start_at_layer = L;
  return model.forward(resid_post, finish);
}

}  // namespace prisma::interp
