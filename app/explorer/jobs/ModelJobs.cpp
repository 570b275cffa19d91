// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/ModelState.h"

#include "model/Error.h"
#include "model/io/InputSpec.h"
#include "model/vit/WeightProcessing.h"

#include <torch/torch.h>

#include "app/explorer/jobs/ModelJobs.h"

namespace prisma::app::jobs {

namespace {

constexpr uint64_t kRandomModelSeed = 0;
const char* const kModelChannel = "model";

ModelSummary summarize(const io::LoadedModel& m) {
  const ViTConfig& c = m.model->cfg();
  ModelSummary s;
  s.name = QString::fromStdString(m.name);
  s.format = QString::fromStdString(m.format);
  s.source = QString::fromStdString(m.source);
  auto count = [](int n, const char* one, const char* many) {
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
  };
  s.architecture = QStringLiteral("%1 \u00d7 %2, d_model %3, %4 tokens (%5\u00d7%5 patches of %6 px)%7")
                       .arg(count(c.n_layers, "layer", "layers"))
                       .arg(count(c.n_heads, "head", "heads"))
                       .arg(c.d_model)
                       .arg(c.n_tokens())
                       .arg(c.grid_size())
                       .arg(c.patch_size)
                       .arg(c.attn_only ? QStringLiteral(", attention-only") : QString());
  for (const auto& n : m.notes) s.notes << QString::fromStdString(n);
  s.classes = c.n_classes;
  return s;
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

// All three steps of processWeights, or none: a model where one of them would change the
// function (no LayerNorm, post-LN blocks) loads as it is, and its notes say so.
void processIfAsked(io::LoadedModel& m, const ModelLoadOptions& options) {
  if (!options.processWeights) return;
  try {
    m.model = processWeights(m.model);
    m.model->eval();
    m.notes.push_back("weights processed: LayerNorm folded, writing weights centred, value biases folded");
  } catch (const Error& e) {
    m.notes.push_back(std::string("weights not processed: ") + e.what());
  }
}

ModelJob<ModelSummary> replacing(const QString& what) {
  ModelJob<ModelSummary> job;
  job.lane = JobLane::Interactive;
  job.channel = QString::fromLatin1(kModelChannel);
  job.what = what;
  return job;
}

}  // namespace

ModelJob<ModelSummary> loadModel(const QString& path, const ModelLoadOptions& options) {
  ModelJob<ModelSummary> job = replacing(QStringLiteral("loading %1").arg(path));
  job.run = [path, options](ModelState& state, JobContext<ModelSummary>&) {
    auto m = std::make_shared<io::LoadedModel>(io::loadModel(path.toStdString()));
    processIfAsked(*m, options);
    const ModelSummary summary = summarize(*m);
    state.setModel(std::move(m));
    return summary;
  };
  return job;
}

ModelJob<ModelSummary> randomModel(const QString& preset) {
  ModelJob<ModelSummary> job = replacing(QStringLiteral("building %1").arg(preset));
  job.run = [preset](ModelState& state, JobContext<ModelSummary>&) {
    auto m = std::make_shared<io::LoadedModel>();
    m->model = HookedViT(randomPreset(preset));
    m->model->init_weights(kRandomModelSeed);
    m->model->eval();
    m->format = "random";
    m->name = "random " + preset.toStdString();
    m->source = "(in memory)";
    m->preprocess = io::defaultPreprocess(m->model->cfg());
    const ModelSummary summary = summarize(*m);
    state.setModel(std::move(m));
    return summary;
  };
  return job;
}

}  // namespace prisma::app::jobs
