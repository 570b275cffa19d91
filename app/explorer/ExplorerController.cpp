#include "app/explorer/ExplorerController.h"

#include "app/explorer/ExplorerWorker.h"

#include <algorithm>

namespace prisma::app {

ExplorerController::ExplorerController(QObject* parent) : QObject(parent) {
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<ImageRequest>();
  qRegisterMetaType<AttentionResult>();
  qRegisterMetaType<PatchingSetup>();
  qRegisterMetaType<PatchingPairInfo>();
  qRegisterMetaType<PatchingGrid>();
  qRegisterMetaType<PatchedRun>();
  qRegisterMetaType<StopToken>();
  thread_.setObjectName(QStringLiteral("explorer-worker"));
  worker_ = new ExplorerWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);

  connect(worker_, &ExplorerWorker::modelLoaded, this, [this](const ModelSummary& s, quint64 id) {
    finished();
    if (id == latestModel_) emit modelLoaded(s);
  });
  connect(worker_, &ExplorerWorker::modelFailed, this, [this](const QString& m, quint64 id) {
    finished();
    if (id == latestModel_) emit modelFailed(m);
  });
  connect(worker_, &ExplorerWorker::imageComputed, this, [this](const AttentionResult& r) {
    finished();
    if (r.requestId == latestImage_) emit imageComputed(r);
  });
  connect(worker_, &ExplorerWorker::imageFailed, this, [this](const QString& m, quint64 id) {
    finished();
    if (id == latestImage_) emit imageFailed(m);
  });
  connect(worker_, &ExplorerWorker::patchingPairReady, this, [this](const PatchingPairInfo& info) {
    finished();
    emit patchingPairReady(info);
  });
  connect(worker_, &ExplorerWorker::patchingProgress, this, &ExplorerController::patchingProgress);
  connect(worker_, &ExplorerWorker::patchingGridReady, this, [this](const PatchingGrid& g) {
    finished();
    emit patchingGridReady(g);
  });
  connect(worker_, &ExplorerWorker::patchedRunReady, this, [this](const PatchedRun& r) {
    finished();
    emit patchedRunReady(r);
  });
  connect(worker_, &ExplorerWorker::patchingFailed, this, [this](const QString& m, quint64 id) {
    finished();
    emit patchingFailed(m, id);
  });
  thread_.start();
}

ExplorerController::~ExplorerController() {
  for (const auto& weak : sweeps_)
    if (const auto stop = weak.lock()) stop->store(true);
  thread_.requestInterruption();
  thread_.quit();
  thread_.wait();
}

void ExplorerController::started() {
  if (pending_++ == 0) emit busyChanged(true);
}

void ExplorerController::finished() {
  if (--pending_ == 0) emit busyChanged(false);
}

void ExplorerController::loadModel(const QString& path) {
  latestModel_ = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, path, id = latestModel_] { w->loadModel(path, id); }, Qt::QueuedConnection);
}

void ExplorerController::useRandomModel(const QString& preset) {
  latestModel_ = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, preset, id = latestModel_] { w->useRandomModel(preset, id); }, Qt::QueuedConnection);
}

void ExplorerController::computeImage(const ImageRequest& request) {
  latestImage_ = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, request, id = latestImage_] { w->computeImage(request, id); }, Qt::QueuedConnection);
}

quint64 ExplorerController::preparePatching(const ImageRequest& clean, const ImageRequest& corrupt) {
  const quint64 id = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, clean, corrupt, id] { w->preparePatching(clean, corrupt, id); }, Qt::QueuedConnection);
  return id;
}

quint64 ExplorerController::runPatchingSweep(const PatchingSetup& setup, bool exact, const StopToken& stop) {
  const quint64 id = nextId_++;
  if (stop) {
    sweeps_.erase(std::remove_if(sweeps_.begin(), sweeps_.end(), [](const auto& w) { return w.expired(); }), sweeps_.end());
    sweeps_.push_back(stop);
  }
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, setup, exact, stop, id] { w->runPatchingSweep(setup, exact, stop, id); },
      Qt::QueuedConnection);
  return id;
}

quint64 ExplorerController::runPatchedCell(const PatchingSetup& setup, const QVector<int>& cell) {
  const quint64 id = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, setup, cell, id] { w->runPatchedCell(setup, cell, id); }, Qt::QueuedConnection);
  return id;
}

quint64 ExplorerController::runSpatialPatch(const PatchingSetup& setup, const QString& kind, int layer,
                                            const QVector<int>& positions) {
  const quint64 id = nextId_++;
  started();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, setup, kind, layer, positions, id] { w->runSpatialPatch(setup, kind, layer, positions, id); },
      Qt::QueuedConnection);
  return id;
}

}  // namespace prisma::app
