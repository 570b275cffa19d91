// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/patching/PatchingSession.h"

#include "model/Error.h"
#include "model/interp/AttributionPatching.h"

#include <torch/torch.h>

#include "app/explorer/TensorImage.h"

#include <cmath>
#include <limits>

namespace prisma::app {

namespace {

constexpr int kTopK = 5;

QStringList classNamesOf(const ViTConfig& c) {
  QStringList names;
  for (int k = 0; k < c.n_classes; ++k)
    names << (k < static_cast<int>(c.class_names.size()) ? QString::fromStdString(c.class_names[k])
                                                         : QStringLiteral("class %1").arg(k));
  return names;
}

// The top classes of one run's logits [1, classes].
void topkOf(const torch::Tensor& logits, const QStringList& names, QVector<widgets::ClassScore>& scores,
            QVector<int>* classes = nullptr) {
  const torch::Tensor probs = torch::softmax(logits[0].to(torch::kFloat32), -1);
  const auto top = probs.topk(std::min<int64_t>(kTopK, probs.size(0)));
  const torch::Tensor values = std::get<0>(top), indices = std::get<1>(top);
  for (int64_t i = 0; i < values.size(0); ++i) {
    const int c = indices[i].item<int>();
    scores.push_back({names.value(c), values[i].item<double>()});
    if (classes) classes->push_back(c);
  }
}

std::vector<int64_t> toCell(const QVector<int>& cell) { return {cell.begin(), cell.end()}; }

// The token positions a cell's patch writes: its position axis, or every token.
QVector<int> positionsOf(const interp::PatchComponent& comp, const interp::CellIndex& cell, int tokens) {
  for (size_t i = 0; i < comp.axes.size(); ++i)
    if (comp.axes[i] == interp::Axis::Pos) return {static_cast<int>(cell[i])};
  QVector<int> all(tokens);
  for (int t = 0; t < tokens; ++t) all[t] = t;
  return all;
}

}  // namespace

PatchingSession::PatchingSession(io::LoadedModel& model, const torch::Tensor& clean, const torch::Tensor& corrupt)
    : model_(model) {
  for (const std::string& name : interp::componentNames()) {
    try {
      components_.push_back(interp::makeComponent(interp::componentKindFromName(name), model.model->cfg()));
    } catch (const Error&) {
      // e.g. resid_mid and mlp_out of an attention-only model: not offered
    }
  }
  // Only the hooks the offered components patch (runPair adds resid_pre, where patched runs
  // start): attention scores, LayerNorm and MLP-internal hooks are never patched here, and
  // for a ViT-L pair they would be gigabytes.
  pair_ = interp::runPair(*model.model, clean, corrupt, interp::hooksOf(components_, model.model->cfg()));
  cleanImage_ = tensorToImage(clean[0], model.preprocess);
  corruptImage_ = tensorToImage(corrupt[0], model.preprocess);
}

PatchingPairInfo PatchingSession::info() const {
  const ViTConfig& c = model_.model->cfg();
  PatchingPairInfo info;
  info.classNames = classNamesOf(c);
  info.clean.input = cleanImage_;
  info.corrupt.input = corruptImage_;
  topkOf(pair_.clean_logits, info.classNames, info.clean.topk, &info.clean.topkClasses);
  topkOf(pair_.corrupt_logits, info.classNames, info.corrupt.topk, &info.corrupt.topkClasses);
  for (const auto& comp : components_) info.components << QString::fromStdString(comp.name);
  info.layers = c.n_layers;
  info.heads = c.n_heads;
  info.tokens = c.n_tokens();
  info.gridRows = info.gridCols = c.grid_size();
  info.hasCls = c.cls_token;
  return info;
}

interp::Metric PatchingSession::metric(const PatchingSetup& setup) const {
  const int classes = model_.model->cfg().n_classes;
  auto check = [classes](int k, const char* which) {
    if (k < 0 || k >= classes)
      throw Error("", which, "class " + std::to_string(k) + " outside [0, " + std::to_string(classes) + ")");
  };
  check(setup.classA, "class A");
  if (setup.metric == PatchMetricKind::Probability) return interp::metrics::prob(setup.classA);
  check(setup.classB, "class B");
  interp::Metric diff = interp::metrics::logitDiff(setup.classA, setup.classB);
  if (setup.metric == PatchMetricKind::LogitDiff) return diff;
  return interp::metrics::normalized(diff, interp::metricValue(diff, pair_.clean_logits),
                                     interp::metricValue(diff, pair_.corrupt_logits));
}

double PatchingSession::cleanMetric(const PatchingSetup& setup) const {
  return interp::metricValue(metric(setup), pair_.clean_logits);
}

double PatchingSession::corruptMetric(const PatchingSetup& setup) const {
  return interp::metricValue(metric(setup), pair_.corrupt_logits);
}

PatchingGrid PatchingSession::gridFrom(const interp::PatchComponent& comp, const PatchingSetup& setup,
                                       const torch::Tensor& values) const {
  PatchingGrid g;
  g.component = QString::fromStdString(comp.name);
  for (interp::Axis a : comp.axes) g.axes << QString::fromStdString(interp::toString(a));
  for (int64_t s : comp.shape) g.shape << static_cast<int>(s);
  g.cleanMetric = cleanMetric(setup);
  g.corruptMetric = corruptMetric(setup);
  const torch::Tensor flat = values.detach().to(torch::kFloat32).contiguous().reshape({-1});
  g.values = std::make_shared<const std::vector<float>>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  g.total = comp.cell_count();
  g.done = torch::isnan(flat).logical_not().sum().item<int64_t>();
  return g;
}

PatchingGrid PatchingSession::exactSweep(const PatchingSetup& setup, const std::atomic<bool>* stop,
                                         const std::function<void(const PatchingGrid&)>& onProgress) {
  const auto comp = interp::makeComponent(interp::componentKindFromName(setup.component.toStdString()),
                                          model_.model->cfg());
  interp::PatchOptions options;
  options.batch_size = setup.batchSize;
  options.stop = stop;
  if (onProgress) {
    options.on_progress = [&](const interp::PatchProgress& p) {
      PatchingGrid g = gridFrom(comp, setup, *p.grid);
      g.done = p.done;
      onProgress(g);
    };
  }
  const interp::PatchResult r = interp::activationPatch(*model_.model, pair_, comp, metric(setup), options);
  PatchingGrid g = gridFrom(comp, setup, r.values);
  g.done = r.cells_done;
  g.stopped = r.stopped;
  return g;
}

PatchingGrid PatchingSession::attributionSweep(const PatchingSetup& setup) {
  const auto comp = interp::makeComponent(interp::componentKindFromName(setup.component.toStdString()),
                                          model_.model->cfg());
  const torch::Tensor change = interp::attributionPatch(*model_.model, pair_, comp, metric(setup));
  PatchingGrid g = gridFrom(comp, setup, change + corruptMetric(setup));
  g.attribution = true;
  return g;
}

PatchedRun PatchingSession::runOne(const PatchingSetup& setup, const interp::PatchComponent& comp,
                                   const interp::CellIndex& cell) {
  comp.check(cell);
  // The sweep returns only the metric; keep the patched run's logits on the way through.
  auto logits = std::make_shared<torch::Tensor>();
  const interp::Metric base = metric(setup);
  const interp::Metric keepLogits = [base, logits](const torch::Tensor& l) {
    *logits = l.detach().clone();  // [1, classes]: one cell per batch
    return base(l);
  };
  interp::PatchOptions options;
  options.cells = std::vector<interp::CellIndex>{cell};
  options.batch_size = 1;
  const interp::PatchResult r = interp::activationPatch(*model_.model, pair_, comp, keepLogits, options);

  PatchedRun run;
  run.component = QString::fromStdString(comp.name);
  for (int64_t i : cell) run.cell << static_cast<int>(i);
  run.layer = static_cast<int>(cell[0]);
  run.metric = r.values.reshape({-1})[comp.offset(cell)].item<double>();
  run.cleanMetric = cleanMetric(setup);
  run.corruptMetric = corruptMetric(setup);
  topkOf(*logits, classNamesOf(model_.model->cfg()), run.topk);
  run.positions = positionsOf(comp, cell, model_.model->cfg().n_tokens());
  return run;
}

PatchedRun PatchingSession::patchCell(const PatchingSetup& setup, const QVector<int>& cell) {
  const auto comp = interp::makeComponent(interp::componentKindFromName(setup.component.toStdString()),
                                          model_.model->cfg());
  if (cell.size() != static_cast<int>(comp.axes.size()))
    throw Error("", "cell", "needs " + std::to_string(comp.axes.size()) + " indices for " + comp.name);
  return runOne(setup, comp, toCell(cell));
}

PatchedRun PatchingSession::patchPositions(const PatchingSetup& setup, const QString& kind, int layer,
                                           const QVector<int>& positions) {
  const auto comp = interp::makePositionsComponent(interp::componentKindFromName(kind.toStdString()),
                                                   toCell(positions), model_.model->cfg());
  PatchedRun run = runOne(setup, comp, {layer});
  run.positions = positions;
  return run;
}

}  // namespace prisma::app
