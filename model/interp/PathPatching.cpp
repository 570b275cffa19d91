#include "model/interp/PathPatching.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/interp/CellBatcher.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <map>

namespace prisma::interp {

namespace {

constexpr std::array<const char*, 3> kInputs = {"q", "k", "v"};

std::string attnHook(int layer, const std::string& what) {
  return hookName(layer, "attn.hook_") + what;
}

bool wants(const ReceiverHead& r, size_t input) { return input == 0 ? r.q : input == 1 ? r.k : r.v; }

void checkHead(const ViTConfig& cfg, int layer, int head, const char* what) {
  if (layer < 0 || layer >= cfg.n_layers || head < 0 || head >= cfg.n_heads)
    throw Error("path patching", what,
                "head L" + std::to_string(layer) + "H" + std::to_string(head) + " is not in the model");
}

// One batch of path-patched runs; row i has senders rows[i]. Returns the metric [batch].
torch::Tensor pathPatchRows(HookedViTImpl& model, const PatchingPair& pair,
                            const std::vector<std::vector<HeadRef>>& rows, const PathReceivers& receivers,
                            const Metric& metric) {
  torch::NoGradGuard no_grad;
  const ViTConfig& cfg = model.cfg();
  if (receivers.heads.empty() && !receivers.final_resid)
    throw Error("path patching", "receivers", "no receivers: name receiver heads or the final residual");
  const int64_t B = static_cast<int64_t>(rows.size());
  int first_sender = cfg.n_layers;
  for (const auto& senders : rows)
    for (const auto& s : senders) {
      checkHead(cfg, s.layer, s.head, "senders");
      first_sender = std::min(first_sender, s.layer);
    }
  std::map<int, std::vector<ReceiverHead>> receivers_at;  // by layer
  for (const auto& r : receivers.heads) {
    checkHead(cfg, r.layer, r.head, "receivers");
    receivers_at[r.layer].push_back(r);
  }

  auto startFrom = [&](int layer) {
    const torch::Tensor& resid = pair.corrupt[hookName(layer, "hook_resid_pre")];
    return resid.expand({B, resid.size(1), resid.size(2)});  // [batch, pos, d_model]
  };
  auto runFrom = [&](int layer) {
    RunOptions from;
    from.start_at_layer = layer;
    return model.forward(startFrom(layer), from);
  };

  // The receivers' inputs as run 1 leaves them, [batch, pos, head, d_head] per layer and
  // input. Receivers no sender can reach keep their corrupted values.
  std::map<std::pair<int, size_t>, torch::Tensor> recorded;
  for (const auto& [layer, heads] : receivers_at)
    for (size_t x = 0; x < kInputs.size(); ++x) {
      const torch::Tensor& k = pair.corrupt[attnHook(layer, kInputs[x])];
      recorded[{layer, x}] = k.expand({B, k.size(1), k.size(2), k.size(3)}).clone();
    }

  // Run 1: senders clean, other heads frozen to the corrupted run, receivers live through
  // their receiving inputs only.
  torch::Tensor logits;
  if (first_sender < cfg.n_layers) {
    HookScope scope(model);
    for (int l = first_sender; l < cfg.n_layers; ++l) {
      // Tensors are captured by value: they share storage, and outlive this loop's scope.
      const torch::Tensor clean_z = pair.clean[attnHook(l, "z")];  // [1, pos, head, d_head]
      const torch::Tensor corrupt_z = pair.corrupt[attnHook(l, "z")];
      const std::vector<ReceiverHead>* live = receivers_at.count(l) ? &receivers_at.at(l) : nullptr;
      scope.add(attnHook(l, "z"), [&rows, B, clean_z, corrupt_z, l, live](const torch::Tensor& z,
                                                                          const HookPointImpl&) {
        torch::Tensor out = corrupt_z.expand(z.sizes()).clone();
        if (live)
          for (const auto& r : *live) out.select(2, r.head).copy_(z.select(2, r.head));
        for (int64_t i = 0; i < B; ++i)
          for (const auto& s : rows[static_cast<size_t>(i)])
            if (s.layer == l) out[i].select(1, s.head).copy_(clean_z[0].select(1, s.head));
        return out;
      });
      if (!live) continue;
      for (size_t x = 0; x < kInputs.size(); ++x) {
        const torch::Tensor corrupt_x = pair.corrupt[attnHook(l, kInputs[x])];
        torch::Tensor record = recorded.at({l, x});  // writes land in `recorded`'s storage
        scope.add(attnHook(l, kInputs[x]), [corrupt_x, record, x, live](const torch::Tensor& a,
                                                                        const HookPointImpl&) mutable {
          torch::Tensor out = a.clone();
          for (const auto& r : *live) {
            if (wants(r, x)) record.select(2, r.head).copy_(out.select(2, r.head));
            else out.select(2, r.head).copy_(corrupt_x[0].select(1, r.head));  // not a receiving input
          }
          return out;
        });
      }
    }
    logits = runFrom(first_sender);
  } else {
    logits = pair.corrupt_logits.expand({B, pair.corrupt_logits.size(1)});  // no senders: nothing moves
  }
  if (receivers.final_resid || receivers.heads.empty()) return metric(logits);

  // Run 2: the corrupted run with only the receivers' recorded inputs patched in.
  HookScope scope(model);
  for (const auto& [layer, heads] : receivers_at)
    for (size_t x = 0; x < kInputs.size(); ++x) {
      const torch::Tensor record = recorded.at({layer, x});
      const std::vector<ReceiverHead>* hs = &heads;
      scope.add(attnHook(layer, kInputs[x]), [record, hs, x](const torch::Tensor& a, const HookPointImpl&) {
        torch::Tensor out = a.clone();
        for (const auto& r : *hs)
          if (wants(r, x)) out.select(2, r.head).copy_(record.select(2, r.head));
        return out;
      });
    }
  return metric(runFrom(receivers_at.begin()->first));
}

}  // namespace

PathReceivers allDownstream(const ViTConfig& cfg, int layer) {
  PathReceivers r;
  for (int l = std::max(0, layer + 1); l < cfg.n_layers; ++l)
    for (int h = 0; h < cfg.n_heads; ++h) r.heads.push_back({l, h});
  r.final_resid = true;
  return r;
}

double pathPatch(HookedViTImpl& model, const PatchingPair& pair, const std::vector<HeadRef>& senders,
                 const PathReceivers& receivers, const Metric& metric) {
  return pathPatchRows(model, pair, {senders}, receivers, metric).item<double>();
}

PatchResult pathPatchSweep(HookedViTImpl& model, const PatchingPair& pair, const PathReceivers& receivers,
                           const Metric& metric, const PatchOptions& options) {
  const ViTConfig& cfg = model.cfg();
  const std::vector<int64_t> shape = {cfg.n_layers, cfg.n_heads};
  std::vector<CellIndex> cells;
  if (options.cells) {
    cells = *options.cells;
    for (const auto& c : cells) {
      if (c.size() != 2) throw Error("path patching", "cells", "a sender cell is (layer, head)");
      checkHead(cfg, static_cast<int>(c[0]), static_cast<int>(c[1]), "cells");
    }
  } else {
    for (int l = 0; l < cfg.n_layers; ++l)
      for (int h = 0; h < cfg.n_heads; ++h) cells.push_back({l, h});
  }
  const int max_batch = options.batch_size > 0 ? options.batch_size : autoBatchSize(cfg);
  auto run = [&](int64_t, const std::vector<CellIndex>& batch) {
    std::vector<std::vector<HeadRef>> rows;
    for (const auto& c : batch) rows.push_back({HeadRef{static_cast<int>(c[0]), static_cast<int>(c[1])}});
    return pathPatchRows(model, pair, rows, receivers, metric);
  };
  return sweepCells("path patching", shape, cells, max_batch, options, run);
}

}  // namespace prisma::interp
