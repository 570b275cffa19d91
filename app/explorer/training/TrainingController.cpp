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
  // Direct: each report is copied into the mailbox on the worker's thread, and re-emitted
  // on this (the GUI) thread.
  connect(
      worker_, &TrainingWorker::statusChanged, this,
      [this](const TrainingStatus& s) { toGui_.post([this, s] { emit statusChanged(s); }); }, Qt::DirectConnection);
  connect(
      worker_, &TrainingWorker::evaluated, this,
      [this](const TrainingMetrics& m) { toGui_.post([this, m] { emit evaluated(m); }); }, Qt::DirectConnection);
  connect(
      worker_, &TrainingWorker::checkpointWritten, this,
      [this](const TrainingCheckpoint& c) { toGui_.post([this, c] { emit checkpointWritten(c); }); },
      Qt::DirectConnection);
  connect(
      worker_, &TrainingWorker::probed, this,
      [this](const SaeModelProbe& p) { toGui_.post([this, p] { emit probed(p); }); }, Qt::DirectConnection);
  connect(
      worker_, &TrainingWorker::logLine, this,
      [this](const QString& line) { toGui_.post([this, line] { emit logLine(line); }); }, Qt::DirectConnection);
  connect(
      worker_, &TrainingWorker::finished, this,
      [this](const TrainingOutcome& outcome) {
        toGui_.post([this, outcome] {
          running_ = false;
          emit finished(outcome);
        });
      },
      Qt::DirectConnection);
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
