#include "app/explorer/training/TrainingController.h"

#include "model/train/TrainControl.h"

namespace prisma::app {

TrainingController::TrainingController(QObject* parent) : QObject(parent) {
  qRegisterMetaType<TrainingMetrics>();
  qRegisterMetaType<TrainingStatus>();
  qRegisterMetaType<TrainingCheckpoint>();
  qRegisterMetaType<TrainingOutcome>();
  qRegisterMetaType<SaeModelProbe>();
  thread_.setObjectName(QStringLiteral("training-worker"));
  worker_ = new TrainingWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(worker_, &TrainingWorker::statusChanged, this, &TrainingController::statusChanged);
  connect(worker_, &TrainingWorker::evaluated, this, &TrainingController::evaluated);
  connect(worker_, &TrainingWorker::checkpointWritten, this, &TrainingController::checkpointWritten);
  connect(worker_, &TrainingWorker::probed, this, &TrainingController::probed);
  connect(worker_, &TrainingWorker::logLine, this, &TrainingController::logLine);
  connect(worker_, &TrainingWorker::finished, this, [this](const TrainingOutcome& outcome) {
    running_ = false;
    emit finished(outcome);
  });
  thread_.start();
}

TrainingController::~TrainingController() {
  if (control_) control_->requestStop();
  thread_.requestInterruption();
  thread_.quit();
  thread_.wait();
}

void TrainingController::start(TrainingRequest request) {
  if (running_) return;
  running_ = true;
  control_ = std::make_shared<train::TrainControl>();
  request.control = control_;
  QMetaObject::invokeMethod(
      worker_, [w = worker_, request] { w->run(request); }, Qt::QueuedConnection);
}

void TrainingController::pause() {
  if (running_ && control_) control_->setPaused(true);
}

void TrainingController::resume() {
  if (control_) control_->setPaused(false);
}

void TrainingController::stop() {
  if (running_ && control_) control_->requestStop();
}

void TrainingController::probe(const QString& modelSource) {
  QMetaObject::invokeMethod(
      worker_, [w = worker_, modelSource] { w->probe(modelSource); }, Qt::QueuedConnection);
}

bool TrainingController::paused() const { return running_ && control_ && control_->paused(); }

}  // namespace prisma::app
