// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/PatchingSession.h"

#include "model/Error.h"
#include "model/interp/AttributionPatching.h"

#include <torch/torch.h>

#include "app/explorer/TensorImage.h"
#include "app/explorer/jobs/JobSupport.h"

#include <algorithm>
#include <cmath>

namespace prisma::app {

namespace {

constexpr int kTopK = 5;

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

PatchingSession::PatchingSession(std::shared_ptr<io::LoadedModel> model, const torch::Tensor& clean,
                                 const torch::Tensor& corrupt)
    : model_(std::move(model)), kinds_(interp::availableComponents(cfg())) {
  std::vector<interp::PatchComponent> components;
  for (interp::ComponentKind k : kinds_) components.push_back(interp::makeComponent(k, cfg()));
  // Only the hooks the offered components patch (runPair adds resid_pre, where patched runs
  // start): attention scores, LayerNorm and MLP-internal hooks are never patched here, and
  // for a ViT-L pair they would be gigabytes.
  pair_ = interp::runPair(*model_->model, clean, corrupt, interp::hooksOf(components, cfg()));
  cleanImage_ = tensorToImage(clean[0], model_->preprocess);
  corruptImage_ = tensorToImage(corrupt[0], model_->preprocess);
}

PatchingPairInfo PatchingSession::info() const {
  const ViTConfig& c = cfg();
  PatchingPairInfo info;
  info.classNames = jobs::classNamesOf(c);
  info.clean.input = cleanImage_;
  info.corrupt.input = corruptImage_;
  topkOf(pair_.clean_logits, info.classNames, info.clean.topk, &info.clean.topkClasses);
  topkOf(pair_.corrupt_logits, info.classNames, info.corrupt.topk, &info.corrupt.topkClasses);
  info.components = kinds_;
  info.layers = c.n_layers;
  info.heads = c.n_heads;
  info.tokens = c.n_tokens();
  info.gridRows = info.gridCols = c.grid_size();
  info.hasCls = c.cls_token;
  return info;
}

interp::PatchComponent PatchingSession::component(interp::ComponentKind kind) const {
  if (!interp::hasComponent(kind, cfg()))
    throw Error("", interp::toString(kind), "this model has no such component");
  return interp::makeComponent(kind, cfg());
}

interp::Metric PatchingSession::metric(const PatchingSetup& setup) const {
  setup.metric.check(cfg().n_classes);
  return interp::makeMetric(setup.metric, pair_.clean_logits, pair_.corrupt_logits);
}

double PatchingSession::cleanMetric(const PatchingSetup& setup) const {
  return interp::metricValue(metric(setup), pair_.clean_logits);
}

double PatchingSession::corruptMetric(const PatchingSetup& setup) const {
  return interp::metricValue(metric(setup), pair_.corrupt_logits);
}

PatchingGrid PatchingSession::gridFrom(const interp::PatchComponent& comp, interp::ComponentKind kind,
                                       const PatchingSetup& setup, const torch::Tensor& values) const {
  PatchingGrid g;
  g.component = kind;
  for (interp::Axis a : comp.axes) g.axes << QString::fromStdString(interp::toString(a));
  for (int64_t s : comp.shape) g.shape << static_cast<int>(s);
  g.cleanMetric = cleanMetric(setup);
  g.corruptMetric = corruptMetric(setup);
  g.values = jobs::floats(values.reshape({-1}));
  g.total = comp.cell_count();
  g.done = static_cast<qint64>(std::count_if(g.values->begin(), g.values->end(), [](float v) { return !std::isnan(v); }));
  return g;
}

PatchingGrid PatchingSession::exactSweep(const PatchingSetup& setup, const std::atomic<bool>* stop,
                                         const BatchDone& afterBatch) {
  const interp::PatchComponent comp = component(setup.component);
  interp::PatchOptions options;
  options.batch_size = setup.batchSize;
  options.stop = stop;
  if (afterBatch) {
    options.on_progress = [&](const interp::PatchProgress& p) {
      afterBatch([&] {
        PatchingGrid g = gridFrom(comp, setup.component, setup, *p.grid);
        g.done = p.done;
        return g;
      });
    };
  }
  const interp::PatchResult r = interp::activationPatch(*model_->model, pair_, comp, metric(setup), options);
  PatchingGrid g = gridFrom(comp, setup.component, setup, r.values);
  g.done = r.cells_done;
  g.stopped = r.stopped;
  return g;
}

PatchingGrid PatchingSession::attributionSweep(const PatchingSetup& setup) {
  const interp::PatchComponent comp = component(setup.component);
  const torch::Tensor change = interp::attributionPatch(*model_->model, pair_, comp, metric(setup));
  PatchingGrid g = gridFrom(comp, setup.component, setup, change + corruptMetric(setup));
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
  const interp::PatchResult r = interp::activationPatch(*model_->model, pair_, comp, keepLogits, options);

  PatchedRun run;
  run.component = QString::fromStdString(comp.name);
  for (int64_t i : cell) run.cell << static_cast<int>(i);
  run.layer = static_cast<int>(cell[0]);
  run.metric = r.values.reshape({-1})[comp.offset(cell)].item<double>();
  run.cleanMetric = cleanMetric(setup);
  run.corruptMetric = corruptMetric(setup);
  topkOf(*logits, jobs::classNamesOf(cfg()), run.topk);
  run.positions = positionsOf(comp, cell, cfg().n_tokens());
  return run;
}

PatchedRun PatchingSession::patchCell(const PatchingSetup& setup, const QVector<int>& cell) {
  const interp::PatchComponent comp = component(setup.component);
  if (cell.size() != static_cast<int>(comp.axes.size()))
    throw Error("", "cell", "needs " + std::to_string(comp.axes.size()) + " indices for " + comp.name);
  return runOne(setup, comp, toCell(cell));
}

PatchedRun PatchingSession::patchPositions(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                                           const QVector<int>& positions) {
  if (!interp::hasComponent(kind, cfg()))
    throw Error("", interp::toString(kind), "this model has no such component");
  const auto comp = interp::makePositionsComponent(kind, toCell(positions), cfg());
  PatchedRun run = runOne(setup, comp, {layer});
  run.positions = positions;
  return run;
}

}  // namespace prisma::app
