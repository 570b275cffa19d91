#include "app/explorer/patching/PatchingPresenter.h"

#include <algorithm>
#include <cmath>

namespace prisma::app {

namespace {

constexpr qint64 kMsPerSecond = 1000;
constexpr qint64 kSecondsPerMinute = 60;
constexpr qint64 kSecondsPerHour = 3600;

bool offers(const PatchingPairInfo& pair, interp::ComponentKind kind) {
  return std::find(pair.components.begin(), pair.components.end(), kind) != pair.components.end();
}

QString componentList(const PatchingPairInfo& pair) {
  QStringList names;
  for (interp::ComponentKind k : pair.components) names << componentName(k);
  return names.join(QStringLiteral(", "));
}

}  // namespace

QString sourceKey(const ImageRequest& request) {
  if (!request.path.isEmpty()) return request.path;
  if (request.row >= 0) return QStringLiteral("%1/%2/%3").arg(request.dataset, request.split).arg(request.row);
  return QStringLiteral("pixels:%1").arg(request.pixels.cacheKey());
}

QString clockDuration(qint64 ms) {
  const qint64 s = (std::max<qint64>(0, ms) + kMsPerSecond / 2) / kMsPerSecond;
  return QStringLiteral("%1:%2:%3")
      .arg(s / kSecondsPerHour)
      .arg((s % kSecondsPerHour) / kSecondsPerMinute, 2, 10, QChar('0'))
      .arg(s % kSecondsPerMinute, 2, 10, QChar('0'));
}

QString shortDuration(qint64 ms) {
  ms = std::max<qint64>(0, ms);
  if (ms < 1) return QObject::tr("< 1 ms");
  if (ms < kMsPerSecond) return QObject::tr("%1 ms").arg(ms);
  if (ms < kSecondsPerMinute * kMsPerSecond) return QObject::tr("%1 s").arg(static_cast<double>(ms) / kMsPerSecond, 0, 'f', 1);
  return clockDuration(ms);
}

PatchingPresenter::PatchingPresenter(PatchingBackend* backend, QObject* parent) : QObject(parent), backend_(backend) {
  status_ = tr("Open a model.");
}

PatchingPresenter::~PatchingPresenter() { stopSweep(); }

void PatchingPresenter::setModel(const ModelSummary& model) {
  // A reload of the same path may be a retrained model: nothing cached survives it.
  cache_.clear();
  modelKey_ = model.source + QChar('|') + model.name;
  hasModel_ = true;
  prepare();
}

void PatchingPresenter::setSource(Source which, const ImageRequest& request) {
  source(which) = request;
  prepare();
}

void PatchingPresenter::swapSources() {
  if (!clean_ || !corrupt_) return;
  std::swap(clean_, corrupt_);
  prepare();
}

bool PatchingPresenter::setComponent(interp::ComponentKind kind) {
  if (pairReady_ && !offers(pair_, kind)) {
    const QString message =
        tr("%1: this model has no such component (it has %2)").arg(componentName(kind), componentList(pair_));
    setStatus(message);
    emit failed(message);
    return false;
  }
  if (kind == component_) return true;
  component_ = kind;
  setupChanged();
  return true;
}

void PatchingPresenter::setMetric(interp::MetricKind kind, bool normalized) {
  if (kind == metricKind_ && normalized == normalized_) return;
  metricKind_ = kind;
  normalized_ = normalized;
  setupChanged();
}

void PatchingPresenter::setClasses(int classA, int classB) {
  if (classA == classA_ && classB == classB_) return;
  classA_ = classA;
  classB_ = classB;
  setupChanged();
}

PatchingSetup PatchingPresenter::setup() const {
  PatchingSetup s;
  s.component = component_;
  s.metric.kind = metricKind_;
  s.metric.normalized = normalized_;
  if (classA_ >= 0 && interp::classesNeeded(metricKind_) > 0) {  // cosine_to_clean takes none
    s.metric.classes = {classA_};
    if (interp::classesNeeded(metricKind_) == 2) s.metric.classes.push_back(classB_);
  }
  s.batchSize = batchSize_;
  return s;
}

QString PatchingPresenter::nextStep() const {
  if (!hasModel_) return tr("Open a model first: double-click one in the Models panel, or File \u25b8 Open Model.");
  if (!clean_ || !corrupt_)
    return tr("Drop a clean image and a corrupted image on the two slots above, from the Images panel or a file manager.");
  if (pairId_) return tr("Running the clean and corrupted images\u2026");
  if (!pairReady_) return status_;  // the pair failed: its message says why
  return tr("Preview (attribution patching) or Run exact to fill this map.");
}

bool PatchingPresenter::comparable() const {
  return exact_.isValid() && !sweepId_ && exact_.done == exact_.total && attribution_.isValid() &&
         attribution_.values->size() == exact_.values->size();
}

QString PatchingPresenter::cacheKey() const {
  return QStringList{modelKey_, clean_ ? sourceKey(*clean_) : QString(), corrupt_ ? sourceKey(*corrupt_) : QString(),
                     componentName(component_), setup().metricKey()}
      .join(QChar('|'));
}

void PatchingPresenter::setStatus(const QString& status) {
  status_ = status;
  emit statusChanged(status_);
}

void PatchingPresenter::stopSweep() {
  if (sweepId_) backend_->cancel(sweepId_);
  sweepId_ = 0;
}

void PatchingPresenter::prepare() {
  stopSweep();
  for (quint64* id : {&pairId_, &previewId_, &patchId_}) {
    if (*id) backend_->cancel(*id);
    *id = 0;
  }
  pairReady_ = false;
  exact_ = attribution_ = {};
  patched_ = {};
  emit gridsChanged();
  emit patchedRunChanged();
  if (!hasModel_ || !clean_ || !corrupt_) {
    setStatus(hasModel_ ? tr("Drop a clean and a corrupted image.") : tr("Open a model."));
  } else {
    setStatus(tr("Running the clean and corrupted images\u2026"));
    pairId_ = backend_->preparePair(*clean_, *corrupt_);
  }
  emit pairChanged();
  emit stateChanged();
}

void PatchingPresenter::onPairReady(quint64 id, const PatchingPairInfo& info) {
  if (!id || id != pairId_) return;
  pairId_ = 0;
  pair_ = info;
  pairReady_ = true;
  // The metric's classes default to what the two images predict: what a logit difference
  // is naturally about (B the corrupted image's first class that is not A).
  classA_ = info.clean.topkClasses.value(0, -1);
  classB_ = info.corrupt.topkClasses.value(0, -1);
  if (classB_ == classA_)
    for (int c : info.corrupt.topkClasses)
      if (c != classA_) {
        classB_ = c;
        break;
      }
  const interp::ComponentKind requested = component_;
  const bool offered = offers(info, requested);
  if (!offered && !info.components.empty()) component_ = info.components.front();
  emit pairChanged();
  const QString missing =
      offered ? QString()
              : tr("%1: this model has no such component (it has %2)").arg(componentName(requested), componentList(info));
  // Screenshot mode must not silently sweep another component.
  if (!offered && runExactWhenReady_) {
    setStatus(missing);
    emit stateChanged();
    emit failed(missing);
    return;
  }
  setStatus(tr("Ready."));
  emit pairPrepared();
  setupChanged();
  if (!offered) setStatus(missing);  // after the preview's status: this is what the user must see
  if (runExactWhenReady_) runExact();
}

void PatchingPresenter::setupChanged() {
  if (!pairReady_) return;
  if (sweepId_) {
    stopSweep();
    setStatus(tr("Sweep cancelled: the setup changed."));
  }
  for (quint64* id : {&previewId_, &patchId_}) {
    if (*id) backend_->cancel(*id);
    *id = 0;
  }
  patched_ = {};
  emit patchedRunChanged();
  const Cached cached = cache_.value(cacheKey());
  exact_ = cached.exact;
  exactFromCache_ = exact_.isValid();
  attribution_ = cached.attribution;
  emit gridsChanged();
  if (!attribution_.isValid()) preview();
  else setStatus(exact_.isValid() ? tr("Cached exact sweep.") : tr("Cached preview."));
  emit stateChanged();
}

void PatchingPresenter::preview() {
  if (!pairReady_) return;
  if (previewId_) backend_->cancel(previewId_);
  previewId_ = backend_->sweep(setup(), false);
  setStatus(tr("Attribution patching\u2026"));
  emit stateChanged();
}

void PatchingPresenter::runExact() {
  if (!pairReady_ || sweepId_) return;
  const Cached cached = cache_.value(cacheKey());
  if (cached.exact.isValid()) {
    exact_ = cached.exact;
    exactFromCache_ = true;
    emit gridsChanged();
    emit exactFinished();
    return;
  }
  exact_ = {};
  exactFromCache_ = false;
  sweepId_ = backend_->sweep(setup(), true);
  sweepClock_.start();
  setStatus(tr("Exact sweep of %1\u2026").arg(componentName(component_)));
  emit gridsChanged();
  emit stateChanged();
}

void PatchingPresenter::cancel() {
  if (!sweepId_) return;
  stopSweep();
  setStatus(tr("Sweep cancelled."));
  emit gridsChanged();
  emit stateChanged();
}

void PatchingPresenter::patchCell(int row, int col) {
  const PatchingGrid& shown = shownGrid();
  if (!pairReady_ || !shown.isValid() || row < 0 || row >= shown.rows() || col < 0 || col >= shown.cols()) return;
  if (patchId_) backend_->cancel(patchId_);
  patchId_ = backend_->patchCell(setup(), shown.cellAt(row, col));
}

void PatchingPresenter::patchRegion(interp::ComponentKind kind, int layer, const QVector<int>& tokens) {
  if (!pairReady_ || tokens.isEmpty()) return;
  if (patchId_) backend_->cancel(patchId_);
  patchId_ = backend_->patchRegion(setup(), kind, layer, tokens);
}

void PatchingPresenter::onProgress(quint64 id, const PatchingGrid& grid) {
  if (!id || id != sweepId_) return;
  exact_ = grid;
  emit gridsChanged();
  emit sweepProgress(grid.done, grid.total);
}

void PatchingPresenter::onGridReady(quint64 id, const PatchingGrid& grid) {
  if (!id) return;
  const bool exact = id == sweepId_;
  if (exact) {
    sweepId_ = 0;
    exact_ = grid;
    if (!grid.stopped) cache_[cacheKey()].exact = grid;
    setStatus(tr("Exact sweep done. Click a cell to run that patch."));
  } else if (id == previewId_) {
    previewId_ = 0;
    attribution_ = grid;
    cache_[cacheKey()].attribution = grid;
    if (!sweepId_) setStatus(tr("Preview ready."));
  } else {
    return;  // a cancelled sweep or an outdated preview
  }
  emit gridsChanged();
  emit stateChanged();
  if (exact) emit exactFinished();
  else emit previewFinished();
}

void PatchingPresenter::onPatchedRun(quint64 id, const PatchedRun& run) {
  if (!id || id != patchId_) return;
  patchId_ = 0;
  patched_ = run;
  emit patchedRunChanged();
  emit patchedRunShown();
}

void PatchingPresenter::onFailed(quint64 id, const QString& message) {
  if (!id) return;
  bool matched = false;
  const bool sweep = id == sweepId_;
  for (quint64* pending : {&pairId_, &sweepId_, &previewId_, &patchId_})
    if (*pending == id) {
      *pending = 0;
      matched = true;
    }
  if (!matched) return;
  setStatus(message);
  if (sweep) emit gridsChanged();  // what is shown is no longer "running"
  emit stateChanged();
  emit failed(message);
}

}  // namespace prisma::app
