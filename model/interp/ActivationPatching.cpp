#include "model/interp/ActivationPatching.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/interp/PooledReadout.h"
#include "model/interp/CellBatcher.h"

#include <torch/torch.h>

#include <algorithm>

namespace prisma::interp {

namespace {

// Transient memory of one patched run per layer, in bytes per token, without gradients:
// a handful of [tokens, d_model] tensors (residual, LayerNorm output, q/k/v, z, outputs),
// two [tokens, d_mlp] (MLP pre/post activation), and three [heads, tokens, tokens]
// (scores, softmax, its copy) -- float32.
double bytesPerToken(const ViTConfig& cfg) {
  constexpr double kResidualCopies = 8, kMlpCopies = 2, kPatternCopies = 3, kFloat = 4;
  return kFloat * (kResidualCopies * cfg.d_model + kMlpCopies * (cfg.attn_only ? 0 : cfg.d_mlp) +
                   kPatternCopies * cfg.n_heads * cfg.n_tokens());
}

// Enough rows that the matrix products run at BLAS speed, but not so many that a layer's
// activations fall out of the caches. ViT-B/16 (197 tokens), 64 resid_pre cells at layer 6,
// 2 cores (`prisma bench patch --batch-scan`): batch 1 0.44 FE/cell, batches 2-12
// 0.37-0.40, 16-32 0.43-0.46, 64 0.52. Plus a cap on transient memory, so a sweep never
// competes with the GUI for RAM.
constexpr double kTargetTokensPerBatch = 2048;
constexpr double kMemoryBudgetBytes = 256.0 * 1024 * 1024;
constexpr int kMaxBatch = 256;

void checkSingleImage(const torch::Tensor& x, const char* which) {
  if (x.dim() != 4 || x.size(0) != 1)
    throw Error("patching", which, "expected one image [1, C, H, W]");
}

std::string residPre(int64_t layer) { return hookName(layer, "hook_resid_pre"); }

}  // namespace

int autoBatchSize(const ViTConfig& cfg) {
  const double by_speed = kTargetTokensPerBatch / cfg.n_tokens();
  const double by_memory = kMemoryBudgetBytes / (bytesPerToken(cfg) * cfg.n_tokens());
  const double b = std::min({by_speed, by_memory, double(kMaxBatch)});
  return std::max(1, static_cast<int>(b));
}

NameFilter hooksOf(const std::vector<PatchComponent>& components, const ViTConfig& cfg) {
  std::vector<std::string> names;
  for (const auto& c : components)
    for (int l = 0; l < cfg.n_layers; ++l) names.push_back(c.hook_name(l));
  return filters::exact(std::move(names));
}

PatchingPair runPair(HookedViTImpl& model, const torch::Tensor& clean, const torch::Tensor& corrupt,
                     const NameFilter& filter) {
  checkSingleImage(clean, "clean");
  checkSingleImage(corrupt, "corrupt");
  torch::NoGradGuard no_grad;
  const NameFilter with_resid = [filter](const std::string& name) {
    return filter(name) || (name.rfind("blocks.", 0) == 0 && name.size() > 15 &&
                            name.compare(name.size() - 15, 15, ".hook_resid_pre") == 0);
  };
  auto c = model.run_with_cache(clean, with_resid);
  auto k = model.run_with_cache(corrupt, with_resid);
  return {clean, corrupt, c.output, k.output, std::move(c.cache), std::move(k.cache)};
}

PatchResult activationPatch(HookedViTImpl& model, const PatchingPair& pair,
                            const PatchComponent& component, const Metric& metric,
                            const PatchOptions& options) {
  torch::NoGradGuard no_grad;
  if (component.shape.empty() || component.axes.front() != Axis::Layer)
    throw Error("patching", component.name, "a component's first axis must be the layer");
  const std::vector<CellIndex> cells = options.cells ? *options.cells : component.cells();
  for (const auto& c : cells) component.check(c);

  const bool per_cell = options.method == PatchMethod::PerCellForward;
  const int max_batch = per_cell ? 1 : (options.batch_size > 0 ? options.batch_size : autoBatchSize(model.cfg()));

  auto run = [&](int64_t layer, const std::vector<CellIndex>& batch) {
    const std::string hook = component.hook_name(layer);
    const torch::Tensor& clean_act = pair.clean[hook];  // [1, ...]
    HookScope scope(model);
    scope.add(hook, [&batch, &clean_act, &component](const torch::Tensor& act, const HookPointImpl&) {
      torch::Tensor out = act.clone();  // act may be a view or a broadcast: never write through it
      for (size_t i = 0; i < batch.size(); ++i) component.setter(out, static_cast<int64_t>(i), clean_act, batch[i]);
      return out;
    });
    if (per_cell) return metric(model.forward(pair.corrupt_input));
    RunOptions from;
    from.start_at_layer = static_cast<int>(layer);
    const torch::Tensor& start = pair.corrupt[residPre(layer)];  // [1, pos, d_model]
    const int64_t B = static_cast<int64_t>(batch.size());
    const torch::Tensor input = start.expand({B, start.size(1), start.size(2)});
    const int last = model.cfg().n_layers - 1;
    if (options.pooled_readout && layer < last && canReadPooledOnly(model)) {
      from.stop_at_layer = last;
      return metric(pooledReadout(model, model.forward(input, from)));
    }
    return metric(model.forward(input, from));
  };
  return sweepCells(component.name, component.shape, cells, max_batch, options, run);
}

}  // namespace prisma::interp
