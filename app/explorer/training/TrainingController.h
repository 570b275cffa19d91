#pragma once
// Owns the training thread and its TrainingWorker, and the run's TrainControl: pause and
// stop are atomic flags the trainer polls before every update, so they take effect while
// the worker's thread is busy inside train() (a queued call would wait for the run's end).
// Requests go to the worker, and its reports come back, through ThreadMailboxes rather than
// as queued signal arguments, so the values cross under a lock ThreadSanitizer can see.

#include "app/explorer/training/TrainingTypes.h"
#include "app/explorer/training/TrainingWorker.h"
#include "widgets/ThreadMailbox.h"

#include <QObject>
#include <QThread>

#include <memory>

namespace prisma::train {
class TrainControl;
}

namespace prisma::app {

class TrainingController : public QObject {
  Q_OBJECT

public:
  explicit TrainingController(QObject* parent = nullptr);
  // Stops a running run (it writes its final checkpoint) and waits for the thread.
  ~TrainingController() override;

  // Ignored while a run is active.
  void start(TrainingRequest request);
  void pause();
  void resume();
  void stop();
  bool running() const { return running_; }
  bool paused() const;
  // Lists the SAE form's choices for a model on the worker's thread (after a run, if one
  // is active); the answer arrives as probed.
  void probe(const QString& modelSource);

signals:
  void statusChanged(const prisma::app::TrainingStatus& status);
  void evaluated(const prisma::app::TrainingMetrics& metrics);
  void checkpointWritten(const prisma::app::TrainingCheckpoint& checkpoint);
  void logLine(const QString& line);
  void finished(const prisma::app::TrainingOutcome& outcome);
  void probed(const prisma::app::SaeModelProbe& probe);

private:
  // Runs `onGui` with a copy of each value the worker's `signal` carries, on this (the GUI)
  // thread: a direct connection copies the value into the mailbox on the worker's thread.
  template <class T, class F>
  void relay(void (TrainingWorker::*signal)(const T&), F onGui) {
    connect(
        worker_, signal, this, [this, onGui](const T& value) { toGui_.post([onGui, value] { onGui(value); }); },
        Qt::DirectConnection);
  }

  widgets::ThreadMailbox toGui_;  // the worker's reports; outlives thread_ (declared first)
  QThread thread_;
  TrainingWorker* worker_ = nullptr;            // lives on thread_, deleted when it finishes
  widgets::ThreadMailbox* toWorker_ = nullptr;  // the worker's child, on thread_ with it
  std::shared_ptr<train::TrainControl> control_;
  bool running_ = false;
};

}  // namespace prisma::app
