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
  toWorker_ = new widgets::ThreadMailbox(worker_);
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  relay(&TrainingWorker::statusChanged, [this](const TrainingStatus& s) { emit statusChanged(s); });
  relay(&TrainingWorker::evaluated, [this](const TrainingMetrics& m) { emit evaluated(m); });
  relay(&TrainingWorker::checkpointWritten, [this](const TrainingCheckpoint& c) { emit checkpointWritten(c); });
  relay(&TrainingWorker::probed, [this](const SaeModelProbe& p) { emit probed(p); });
  relay(&TrainingWorker::logLine, [this](const QString& line) { emit logLine(line); });
  relay(&TrainingWorker::finished, [this](const TrainingOutcome& outcome) {
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
  toWorker_->post([w = worker_, request] { w->run(request); });
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
  toWorker_->post([w = worker_, modelSource] { w->probe(modelSource); });
}

bool TrainingController::paused() const { return running_ && control_ && control_->paused(); }

}  // namespace prisma::app
