// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/vit/HookNames.h"
#include "app/explorer/jobs/ModelState.h"

#include "model/clip/ZeroShot.h"
#include "model/interp/AttentionMaps.h"
#include "model/interp/AttentionRollout.h"
#include "model/interp/LogitLens.h"
#include "model/interp/Relevancy.h"

#include <torch/torch.h>

#include "app/explorer/TensorImage.h"
#include "app/explorer/jobs/ImageJobs.h"
#include "app/explorer/jobs/JobSupport.h"

namespace prisma::app::jobs {

namespace {

constexpr int kTopK = 5;

// `zero_shot`: the CLIP and head when the model is one with a zero-shot head installed.
AttentionResult compute(io::LoadedModel& m, const ImageRequest& request,
                        const std::pair<std::shared_ptr<clip::ClipModel>, std::shared_ptr<const clip::ZeroShotHead>>& zero_shot) {
  const torch::Tensor input = inputFor(request, m);
  const ViTConfig& c = m.model->cfg();
  HookedViTImpl::CacheRun run;
  {
    torch::NoGradGuard no_grad;
    // What every view needs from one forward pass: patterns (grid, rollout, summaries)
    // and the residual stream with the final LayerNorm's scale (logit lens).
    run = m.model->run_with_cache(
        input, filters::regex({"hook_pattern$", "hook_resid_pre$", "hook_resid_post$", "^ln_final\\.hook_scale$"}));
  }

  AttentionResult r;
  r.title = request.title;
  r.input = tensorToImage(input[0], m.preprocess);
  r.layers = c.n_layers;
  r.heads = c.n_heads;
  r.tokens = c.n_tokens();
  r.gridRows = r.gridCols = c.grid_size();
  r.hasCls = c.cls_token;
  r.registers = c.n_registers;
  std::vector<torch::Tensor> layers;
  for (int l = 0; l < c.n_layers; ++l)
    layers.push_back(run.cache[hookName(l, "attn.hook_pattern")][0]);  // [head, q, k]
  r.patterns = floats(torch::stack(layers));                                             // [layer, head, q, k]
  r.rollout = floats(interp::attentionRollout(run.cache, c)[0]);                          // [q, k]

  const interp::HeadSummaries sums = interp::summarizeHeads(run.cache, c);  // each [layer, head]
  r.stats.entropy = *floats(sums.entropy);
  r.stats.toCls = *floats(sums.to_cls);
  r.stats.toSelf = *floats(sums.to_self);
  r.stats.meanDistance = *floats(sums.mean_distance);
  r.classNames = classNamesOf(c);

  // A feature vector (DINOv2, a CLIP before its zero-shot head) has no classes to rank.
  if (!clip::outputIsFeature(m)) {
    // A CLIP predicts with its own zero-shot probabilities: the installed linear head's
    // logits are those times the image embedding's norm (ZeroShot.h), a sharper softmax.
    const torch::Tensor probs = torch::softmax(
        zero_shot.second ? clip::zeroShotLogits(*zero_shot.first, *zero_shot.second, input)[0] : run.output[0], -1);
    const auto top = probs.topk(std::min<int64_t>(kTopK, probs.size(0)));
    const auto values = std::get<0>(top), indices = std::get<1>(top);
    for (int64_t i = 0; i < values.size(0); ++i)
      r.topk.push_back({r.classNames.value(indices[i].item<int>()), values[i].item<double>()});

    // Gradient relevancy for the predicted class: one more forward and a backward.
    r.relevancyClass = indices[0].item<int>();
    r.relevancy = floats(interp::gradientRelevancy(*m.model, input, r.relevancyClass)[0]);

    const interp::LogitLensResult lens = interp::logitLens(*m.model, run.cache);
    const int64_t first = c.n_prefix();  // CLS and registers are not patches
    const torch::Tensor winners =
        lens.top_class.select(1, 0).slice(1, first).to(torch::kInt32).contiguous();  // [layer+1, patches]
    r.lensLayers = static_cast<int>(winners.size(0));
    r.lensTopClass =
        std::make_shared<const std::vector<int>>(winners.data_ptr<int>(), winners.data_ptr<int>() + winners.numel());
    r.lensTopLogit = floats(lens.top_logit.select(1, 0).slice(1, first));
  }
  return r;
}

}  // namespace

ModelJob<AttentionResult> computeImage(const ImageRequest& request) {
  ModelJob<AttentionResult> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("image");
  job.what = QStringLiteral("running %1").arg(request.title);
  job.run = [request](ModelState& state, JobContext<AttentionResult>& ctx) {
    const auto model = state.model;  // held for the whole run
    if (!model) throw std::runtime_error("No model is loaded.");
    AttentionResult r = compute(*model, request, {state.clip, state.zero_shot_head});
    r.requestId = ctx.id();
    return r;
  };
  return job;
}

}  // namespace prisma::app::jobs
