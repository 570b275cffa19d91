#include "app/explorer/ExplorerController.h"

#include "app/explorer/ExplorerWorker.h"

namespace prisma::app {

ExplorerController::ExplorerController(QObject* parent) : QObject(parent) {
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<ImageRequest>();
  qRegisterMetaType<AttentionResult>();
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
  thread_.start();
}

ExplorerController::~ExplorerController() {
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

}  // namespace prisma::app
