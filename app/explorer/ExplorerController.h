#pragma once
// The explorer's model thread: one JobQueue and the state its jobs share (ModelState: the
// loaded model and what tabs keep beside it). Loading a model is the one request every tab
// depends on, so it has its own signals here; everything else -- an image's attention and
// logit lens, a patching sweep, a new tab's work -- is a job a tab posts with post(): a
// callable that reads ModelState on the model thread, and callbacks that receive its
// result as a value on the GUI thread. A new tab adds its own job functions (see
// app/explorer/jobs/) and no signals here.
//
// No LibTorch in this header: ModelState is only declared, so widgets-side files can post
// jobs that are defined in app/explorer/jobs/*.cpp.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/JobQueue.h"

#include <QObject>

#include <functional>
#include <memory>

namespace prisma::app {

struct ModelState;  // app/explorer/jobs/ModelState.h

// A job that reads the model thread's state.
template <class R, class P = R>
struct ModelJob {
  JobLane lane = JobLane::Interactive;
  QString channel;
  QString what;
  std::function<R(ModelState&, JobContext<P>&)> run;
  std::function<void(quint64, const R&)> done;
  std::function<void(quint64, const P&)> progress;
  std::function<void(quint64, const QString&)> failed;
};

// How a model is prepared after loading (the Models panel's checkbox).
struct ModelLoadOptions {
  // processWeights (model/vit/WeightProcessing.h): fold LayerNorm, centre writing weights,
  // fold value biases. Models where that would change the function load unprocessed,
  // and their notes say why.
  bool processWeights = false;
};

class ExplorerController : public QObject {
  Q_OBJECT

public:
  explicit ExplorerController(QObject* parent = nullptr);
  ~ExplorerController() override;

  // Runs ahead of a running sweep (at its next checkpoint). A failed load keeps the
  // previous model; a successful one is announced by modelLoaded, on which every tab
  // drops what it showed and cancels what it still waits for.
  void loadModel(const QString& path, const ModelLoadOptions& options = {});
  // Uses a model built in memory (benchmarks, tests) instead of a file.
  void useRandomModel(const QString& preset);

  template <class R, class P>
  quint64 post(QObject* receiver, ModelJob<R, P> job);
  void cancel(quint64 id) { queue_->cancel(id); }

  bool busy() const { return queue_->busy(); }
  JobQueue* queue() const { return queue_.get(); }

signals:
  void modelLoaded(const prisma::app::ModelSummary& summary);
  void modelFailed(const QString& message);
  void busyChanged(bool busy);

private:
  std::unique_ptr<ModelState> state_;  // touched only on the model thread
  std::unique_ptr<JobQueue> queue_;    // destroyed first: its thread is joined before state_ goes
};

template <class R, class P>
quint64 ExplorerController::post(QObject* receiver, ModelJob<R, P> job) {
  Job<R, P> j;
  j.lane = job.lane;
  j.channel = std::move(job.channel);
  j.what = std::move(job.what);
  j.run = [state = state_.get(), run = std::move(job.run)](JobContext<P>& ctx) { return run(*state, ctx); };
  j.done = std::move(job.done);
  j.progress = std::move(job.progress);
  j.failed = std::move(job.failed);
  return queue_->post(receiver, std::move(j));
}

}  // namespace prisma::app

