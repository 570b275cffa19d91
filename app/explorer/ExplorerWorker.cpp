// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "datasets/ImageIO.h"
#include "model/Error.h"
#include "model/io/InputSpec.h"
#include "model/io/ModelLoader.h"
#include "model/interp/AttentionMaps.h"
#include "model/interp/AttentionRollout.h"
#include "model/interp/LogitLens.h"
#include "model/interp/Relevancy.h"
#include "model/runtime/Runtime.h"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "app/explorer/ExplorerWorker.h"
#include "app/explorer/TensorImage.h"
#include "app/explorer/patching/PatchingSession.h"

namespace prisma::app {

namespace {

constexpr int kTopK = 5;
constexpr uint64_t kRandomModelSeed = 0;

ModelSummary summarize(const io::LoadedModel& m) {
  const ViTConfig& c = m.model->cfg();
  ModelSummary s;
  s.name = QString::fromStdString(m.name);
  s.format = QString::fromStdString(m.format);
  s.source = QString::fromStdString(m.source);
  s.architecture = QStringLiteral("%1 layers \u00d7 %2 heads, d_model %3, %4 tokens (%5\u00d7%5 patches of %6 px)%7")
                       .arg(c.n_layers)
                       .arg(c.n_heads)
                       .arg(c.d_model)
                       .arg(c.n_tokens())
                       .arg(c.grid_size())
                       .arg(c.patch_size)
                       .arg(c.attn_only ? QStringLiteral(", attention-only") : QString());
  for (const auto& n : m.notes) s.notes << QString::fromStdString(n);
  s.classes = c.n_classes;
  return s;
}

// A tensor's values as a shared, immutable array the GUI thread can read.
std::shared_ptr<const std::vector<float>> floats(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::make_shared<const std::vector<float>>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

QString describe(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return QString::fromStdString(c->what_without_backtrace());
  return QString::fromUtf8(e.what());
}

ViTConfig randomPreset(const QString& name) {
  ViTConfig c;
  if (name == QLatin1String("vit-b16")) {
    c.image_size = 224; c.patch_size = 16; c.n_channels = 3; c.d_model = 768; c.n_heads = 12;
    c.d_head = 64; c.n_layers = 12; c.d_mlp = 3072; c.n_classes = 1000; c.eps = 1e-12;
  } else {  // a mouse: 32x32 grey, patch 8, 4 layers
    c.image_size = 32; c.patch_size = 8; c.n_channels = 1; c.d_model = 128; c.n_heads = 4;
    c.d_head = 32; c.n_layers = 4; c.d_mlp = 512; c.n_classes = 10;
  }
  return c;
}

// One image for the model, [1, C, H, W]: a file spec, or pixels already in memory.
torch::Tensor inputFor(const ImageRequest& request, const io::LoadedModel& m) {
  torch::Tensor input;
  if (!request.path.isEmpty()) {
    input = io::loadInput(request.path.toStdString(), m);
  } else {
    const QImage rgb = request.pixels.convertToFormat(QImage::Format_RGB888);
    std::vector<unsigned char> packed(static_cast<size_t>(rgb.width()) * rgb.height() * 3);
    for (int y = 0; y < rgb.height(); ++y)
      std::memcpy(packed.data() + static_cast<size_t>(y) * rgb.width() * 3, rgb.constScanLine(y), rgb.width() * 3);
    input = io::imageInput(datasets::fromPixels(packed.data(), rgb.height(), rgb.width(), 3), m.preprocess);
  }
  return input.slice(0, 0, 1);
}

}  // namespace

struct ExplorerWorker::State {
  std::optional<io::LoadedModel> model;
  // The patching board's pair; dropped with the model it was run on.
  std::unique_ptr<PatchingSession> patching;
  bool threadsConfigured = false;

  void ensureThreads() {
    // LibTorch's thread count is per thread: set it on the worker's own.
    if (!threadsConfigured) runtime::configureThreads();
    threadsConfigured = true;
  }
};

ExplorerWorker::ExplorerWorker() : state_(std::make_unique<State>()) {}
ExplorerWorker::~ExplorerWorker() = default;

void ExplorerWorker::loadModel(const QString& path, quint64 requestId) {
  state_->ensureThreads();
  try {
    io::LoadedModel m = io::loadModel(path.toStdString());
    const ModelSummary summary = summarize(m);
    state_->patching.reset();
    state_->model = std::move(m);
    emit modelLoaded(summary, requestId);
  } catch (const std::exception& e) {
    emit modelFailed(describe(e), requestId);
  }
}

void ExplorerWorker::useRandomModel(const QString& preset, quint64 requestId) {
  state_->ensureThreads();
  io::LoadedModel m;
  m.model = HookedViT(randomPreset(preset));
  m.model->init_weights(kRandomModelSeed);
  m.model->eval();
  m.format = "random";
  m.name = "random " + preset.toStdString();
  m.source = "(in memory)";
  m.preprocess = io::defaultPreprocess(m.model->cfg());
  const ModelSummary summary = summarize(m);
  state_->patching.reset();
  state_->model = std::move(m);
  emit modelLoaded(summary, requestId);
}

void ExplorerWorker::computeImage(const ImageRequest& request, quint64 requestId) {
  state_->ensureThreads();
  if (!state_->model) {
    emit imageFailed(tr("No model is loaded."), requestId);
    return;
  }
  try {
    io::LoadedModel& m = *state_->model;
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
    r.requestId = requestId;
    r.title = request.title;
    r.input = tensorToImage(input[0], m.preprocess);
    r.layers = c.n_layers;
    r.heads = c.n_heads;
    r.tokens = c.n_tokens();
    r.gridRows = r.gridCols = c.grid_size();
    r.hasCls = c.cls_token;
    std::vector<torch::Tensor> layers;
    for (int l = 0; l < c.n_layers; ++l)
      layers.push_back(run.cache["blocks." + std::to_string(l) + ".attn.hook_pattern"][0]);  // [head, q, k]
    const torch::Tensor all = torch::stack(layers).contiguous();                               // [layer, head, q, k]
    r.patterns = floats(all);
    r.rollout = floats(interp::attentionRollout(run.cache, c)[0]);  // [q, k]

    const interp::HeadSummaries sums = interp::summarizeHeads(run.cache, c);  // each [layer, head]
    r.stats.entropy = *floats(sums.entropy);
    r.stats.toCls = *floats(sums.to_cls);
    r.stats.toSelf = *floats(sums.to_self);
    r.stats.meanDistance = *floats(sums.mean_distance);
    for (int k = 0; k < c.n_classes; ++k)
      r.classNames << (k < static_cast<int>(c.class_names.size()) ? QString::fromStdString(c.class_names[k])
                                                                 : QStringLiteral("class %1").arg(k));

    if (c.return_type == ReturnType::Logits) {
      const torch::Tensor probs = torch::softmax(run.output[0], -1);
      const auto top = probs.topk(std::min<int64_t>(kTopK, probs.size(0)));
      const auto values = std::get<0>(top), indices = std::get<1>(top);
      for (int64_t i = 0; i < values.size(0); ++i) r.topk.push_back({r.classNames.value(indices[i].item<int>()), values[i].item<double>()});

      // Gradient relevancy for the predicted class: one more forward and a backward.
      r.relevancyClass = indices[0].item<int>();
      r.relevancy = floats(interp::gradientRelevancy(*m.model, input, r.relevancyClass)[0]);

      const interp::LogitLensResult lens = interp::logitLens(*m.model, run.cache);
      const int64_t first = c.cls_token ? 1 : 0;
      const torch::Tensor winners = lens.top_class.select(1, 0).slice(1, first).to(torch::kInt32).contiguous();  // [layer+1, patches]
      r.lensLayers = static_cast<int>(winners.size(0));
      r.lensTopClass = std::make_shared<const std::vector<int>>(winners.data_ptr<int>(), winners.data_ptr<int>() + winners.numel());
      r.lensTopLogit = floats(lens.top_logit.select(1, 0).slice(1, first));
    }
    emit imageComputed(r);
  } catch (const std::exception& e) {
    emit imageFailed(describe(e), requestId);
  }
}

void ExplorerWorker::preparePatching(const ImageRequest& clean, const ImageRequest& corrupt, quint64 requestId) {
  state_->ensureThreads();
  state_->patching.reset();
  if (!state_->model) {
    emit patchingFailed(tr("No model is loaded."), requestId);
    return;
  }
  try {
    io::LoadedModel& m = *state_->model;
    state_->patching = std::make_unique<PatchingSession>(m, inputFor(clean, m), inputFor(corrupt, m));
    PatchingPairInfo info = state_->patching->info();
    info.requestId = requestId;
    emit patchingPairReady(info);
  } catch (const std::exception& e) {
    emit patchingFailed(describe(e), requestId);
  }
}

void ExplorerWorker::runPatchingSweep(const PatchingSetup& setup, bool exact, const StopToken& stop,
                                      quint64 requestId) {
  if (!state_->patching) {
    emit patchingFailed(tr("No clean / corrupted pair has been run."), requestId);
    return;
  }
  try {
    PatchingGrid g;
    if (exact) {
      g = state_->patching->exactSweep(setup, stop.get(), [this, requestId](const PatchingGrid& p) {
        PatchingGrid copy = p;
        copy.requestId = requestId;
        emit patchingProgress(copy);
      });
    } else {
      g = state_->patching->attributionSweep(setup);
    }
    g.requestId = requestId;
    emit patchingGridReady(g);
  } catch (const std::exception& e) {
    emit patchingFailed(describe(e), requestId);
  }
}

void ExplorerWorker::runPatchedCell(const PatchingSetup& setup, const QVector<int>& cell, quint64 requestId) {
  if (!state_->patching) {
    emit patchingFailed(tr("No clean / corrupted pair has been run."), requestId);
    return;
  }
  try {
    PatchedRun r = state_->patching->patchCell(setup, cell);
    r.requestId = requestId;
    emit patchedRunReady(r);
  } catch (const std::exception& e) {
    emit patchingFailed(describe(e), requestId);
  }
}

void ExplorerWorker::runSpatialPatch(const PatchingSetup& setup, const QString& kind, int layer,
                                     const QVector<int>& positions, quint64 requestId) {
  if (!state_->patching) {
    emit patchingFailed(tr("No clean / corrupted pair has been run."), requestId);
    return;
  }
  try {
    PatchedRun r = state_->patching->patchPositions(setup, kind, layer, positions);
    r.requestId = requestId;
    emit patchedRunReady(r);
  } catch (const std::exception& e) {
    emit patchingFailed(describe(e), requestId);
  }
}

}  // namespace prisma::app
