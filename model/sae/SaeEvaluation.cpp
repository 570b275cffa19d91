// SAE evaluation on a dataset split; SaeEvaluation.h lists the figures.

#include "model/sae/SaeEvaluation.h"

#include "model/sae/SaeSplice.h"

#include <torch/torch.h>

#include <algorithm>

namespace prisma::sae {

namespace {
constexpr double kDenseDensity = 0.1;  // a feature firing on more rows than this is dense

struct Scores {
  double hits = 0, ce = 0;
};
void score(Scores& s, const torch::Tensor& logits, const torch::Tensor& labels) {
  s.hits += (logits.argmax(-1) == labels).sum().item<double>();
  s.ce += torch::nn::functional::cross_entropy(logits, labels,
                                               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
              .item<double>();
}
}  // namespace

SaeEvalResult evaluateSae(HookedViTImpl& model, const SparseAutoencoder& sae, const train::TrainingData& data,
                          const SaeEvalOptions& options) {
  torch::NoGradGuard no_grad;
  const SaeConfig& c = sae->cfg();
  const std::string& hook = c.hook_name;
  const std::vector<int64_t> positions = data.evalSubset(options.part, options.limit);
  const int64_t first_patch = model.cfg().n_prefix();
  SaeEvalResult r;
  Scores clean, spliced, zero;
  double sse = 0, sum_x2 = 0, l0 = 0, mse_prisma = 0;
  torch::Tensor sum_x = torch::zeros({c.d_in}, torch::kFloat64);
  torch::Tensor fired = torch::zeros({c.d_sae}, torch::kFloat64);
  const size_t batch = size_t(std::max(1, options.batch));
  for (size_t begin = 0; begin < positions.size(); begin += batch) {
    if (options.stop && options.stop->load()) {
      r.stopped = true;
      break;
    }
    const std::vector<int64_t> chunk(positions.begin() + begin, positions.begin() + std::min(positions.size(), begin + batch));
    const train::BatchTensors b = data.fetch(options.part, chunk);
    auto run = model.run_with_cache(b.inputs, filters::exact({hook}));
    score(clean, run.output, b.labels);
    torch::Tensor act = run.cache[hook];  // [batch, tokens, ...]
    if (c.tokens == TokenSelection::Cls) act = act.narrow(1, 0, 1);
    if (c.tokens == TokenSelection::Patches) act = act.narrow(1, first_patch, act.size(1) - first_patch);
    const torch::Tensor x = activationRows(act, c.d_in);  // [rows, d_in]
    const SaeForward f = sae->run(x);
    const SaeLosses losses = prismaLosses(*sae, x, f);
    const torch::Tensor x64 = x.to(torch::kFloat64);
    const torch::Tensor active = f.feature_acts > 0;  // [rows, d_sae]
    sse += (f.sae_out.to(torch::kFloat64) - x64).pow(2).sum().item<double>();
    sum_x2 += x64.pow(2).sum().item<double>();
    sum_x += x64.sum(0);
    l0 += active.sum().item<double>();
    fired += active.sum(0).to(torch::kFloat64);
    mse_prisma += losses.mse.item<double>() * double(x.size(0));
    r.rows += x.size(0);
    r.images += int64_t(chunk.size());
    {
      SaeSplice splice(model, sae);
      score(spliced, model.forward(b.inputs), b.labels);
    }
    {
      HookScope ablate(model);
      ablate.add(hook, [](const torch::Tensor& a, const HookPointImpl&) { return torch::zeros_like(a); });
      score(zero, model.forward(b.inputs), b.labels);
    }
    if (options.progress) options.progress(size_t(r.images), positions.size());
  }
  if (r.rows == 0) return r;
  const double rows = double(r.rows), images = double(r.images);
  r.l0 = l0 / rows;
  r.mse = sse / (rows * double(c.d_in));
  r.mse_prisma = mse_prisma / rows;
  r.explained_variance = 1.0 - sse / (sum_x2 - sum_x.pow(2).sum().item<double>() / rows);
  r.dead_fraction = (fired == 0).to(torch::kFloat64).mean().item<double>();
  r.dense_fraction = (fired > kDenseDensity * rows).to(torch::kFloat64).mean().item<double>();
  r.acc_clean = clean.hits / images;
  r.acc_sae = spliced.hits / images;
  r.acc_zero = zero.hits / images;
  r.ce_clean = clean.ce / images;
  r.ce_sae = spliced.ce / images;
  r.ce_zero = zero.ce / images;
  r.loss_recovered = (r.ce_zero - r.ce_sae) / (r.ce_zero - r.ce_clean);
  return r;
}

}  // namespace prisma::sae
