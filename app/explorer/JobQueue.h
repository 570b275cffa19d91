#pragma once
// The explorer's one way to run work off the GUI thread: a typed job queue with its own
// thread (the model thread). A caller posts a callable with its result type; the callable
// runs on the queue's thread and its result comes back to a receiver on the GUI thread as
// a queued value -- progress updates (at most one per ProgressThrottle::kInterval) and
// then exactly one of done / failed, unless the job was cancelled.
//
//  * Lanes. Interactive jobs (an image, a clicked cell) run before any waiting background
//    job, and a running background job (a sweep) runs them between its batches when it
//    calls JobContext::checkpoint(): a long sweep never holds up a click for more than a
//    batch. Background jobs run one at a time in the order posted.
//  * Channels. A job may name a channel ("image", "patching.sweep"); posting a newer job
//    on the same channel cancels the older one, which is skipped if it has not started
//    and whose results are dropped if it has: stale results never reach a view.
//  * Cancellation. Each job has a std::atomic<bool> token (JobContext::stopToken) that
//    long jobs check between batches; cancel() sets it, and a cancelled job's results are
//    dropped on the GUI side even when they were already on their way.
//  * Results are dropped too when the receiver has been destroyed.
//
// Jobs that change what other jobs read (a model load) run at checkpoints as well, so the
// state they replace must be held by shared_ptr in the running job (ModelState does this).

#include "widgets/ThreadMailbox.h"

#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace prisma::app {

// One update per interval at most: the first report passes, later ones only once the
// interval has passed since the last one that did. A job's final result always follows
// its updates, so an update held back is never the last word.
class ProgressThrottle {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kInterval{40};

  explicit ProgressThrottle(std::chrono::milliseconds interval = kInterval) : interval_(interval) {}
  bool admit(Clock::time_point now);

private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_;
};

enum class JobLane {
  Interactive,  // short, a user waits for it: first in line, and run at a background job's checkpoints
  Background,   // long (sweeps): one at a time, when no interactive job waits
};

class JobQueue;

// What a running job sees of the queue, on the queue's thread.
class JobControl {
public:
  quint64 id() const { return id_; }
  // Set once the job is cancelled or superseded: pass it to sweeps as their stop token.
  const std::atomic<bool>* stopToken() const { return stop_.get(); }
  bool cancelled() const { return stop_->load(); }
  // Between the batches of a background job: runs the interactive jobs waiting, then says
  // whether this job should stop. Inside an interactive job it only says whether to stop.
  bool checkpoint();

protected:
  JobControl(JobQueue& queue, quint64 id, std::shared_ptr<std::atomic<bool>> stop, bool background)
      : queue_(queue), id_(id), stop_(std::move(stop)), background_(background) {}
  JobQueue& queue_;

private:
  quint64 id_;
  std::shared_ptr<std::atomic<bool>> stop_;
  bool background_;
};

// A job's view of the queue with its progress type P.
template <class P>
class JobContext : public JobControl {
public:
  // Sends make()'s value when the throttle admits an update now; `make` is not called
  // otherwise, so an expensive snapshot is only taken when it will be shown.
  template <class Make>
  void progress(Make&& make);

private:
  friend class JobQueue;
  JobContext(JobQueue& queue, quint64 id, std::shared_ptr<std::atomic<bool>> stop, bool background,
             std::function<void(P)> send)
      : JobControl(queue, id, std::move(stop), background), send_(std::move(send)) {}
  std::function<void(P)> send_;
  ProgressThrottle throttle_;
};

// A job: what runs on the queue's thread and who hears of it on the GUI thread. The
// callbacks run on the GUI thread, only while the receiver lives and the job is neither
// cancelled nor superseded; each gets the job's id.
template <class R, class P = R>
struct Job {
  JobLane lane = JobLane::Interactive;
  QString channel;  // a newer job on the same channel supersedes this one; empty: none
  QString what;     // for the status bar, e.g. "exact sweep of resid_pre"
  std::function<R(JobContext<P>&)> run;
  std::function<void(quint64, const R&)> done;
  std::function<void(quint64, const P&)> progress;
  std::function<void(quint64, const QString&)> failed;
};

class JobQueue : public QObject {
  Q_OBJECT

public:
  // How a job ended, as the queue's `finished` signal reports it (for the status bar and
  // tests); a cancelled job's callbacks are not called.
  enum class End { Done, Failed, Cancelled };
  Q_ENUM(End)

  // `threadInit` runs first on the new thread (per-thread settings such as LibTorch's
  // thread count); `describe` turns an exception a job throws into its failed() text.
  explicit JobQueue(std::function<void()> threadInit = {},
                    std::function<QString(const std::exception&)> describe = {}, QObject* parent = nullptr);
  // Cancels every job and waits for the running one to reach its next check.
  ~JobQueue() override;

  template <class R, class P>
  quint64 post(QObject* receiver, Job<R, P> job);

  void cancel(quint64 id);
  void cancelChannel(const QString& channel);
  void cancelAll();

  bool busy() const { return !jobs_.empty(); }
  // Jobs posted and not yet finished (running or waiting).
  int pending() const { return static_cast<int>(jobs_.size()); }
  // The running job's `what`, and how many wait behind it.
  QString activity() const;

signals:
  void busyChanged(bool busy);
  void activityChanged(const QString& activity);
  void finished(quint64 id, prisma::app::JobQueue::End end);

private:
  friend class JobControl;
  template <class P>
  friend class JobContext;

  struct Entry {
    quint64 id = 0;
    JobLane lane = JobLane::Interactive;
    std::shared_ptr<std::atomic<bool>> stop;
    std::function<void(Entry&)> body;  // runs the job and posts its results
  };
  struct Posted {  // GUI-thread bookkeeping of a job not yet finished
    QString channel, what;
    std::shared_ptr<std::atomic<bool>> stop;
  };

  quint64 enqueue(JobLane lane, const QString& channel, const QString& what, std::function<void(Entry&)> body);
  void loop();
  void runEntry(Entry& e);
  void runWaitingInteractive();
  // GUI thread: whether a job's results may still be delivered.
  bool current(quint64 id) const;
  // Called from the queue's thread: delivers on the GUI thread, in the order posted.
  void postToGui(std::function<void()> fn);
  void started(quint64 id);
  void finish(quint64 id, End end, const std::function<void()>& deliver);
  QString describe(const std::exception& e) const;

  std::function<void()> threadInit_;
  std::function<QString(const std::exception&)> describe_;

  // Shared with the queue's thread.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> interactive_, background_;
  bool shutdown_ = false;
  // Results, progress and bookkeeping on their way to the GUI thread (see ThreadMailbox: a
  // hand-over ThreadSanitizer can see). Destroyed after thread_ has been joined.
  widgets::ThreadMailbox toGui_;

  // GUI thread only.
  quint64 nextId_ = 1;
  std::vector<quint64> running_;  // the running job, and an interactive one at its checkpoint
  std::map<quint64, Posted> jobs_;
  std::map<QString, quint64> latest_;

  std::thread thread_;  // last: started once everything above exists
};

template <class P>
template <class Make>
void JobContext<P>::progress(Make&& make) {
  if (cancelled() || !throttle_.admit(ProgressThrottle::Clock::now())) return;
  send_(std::forward<Make>(make)());
}

template <class R, class P>
quint64 JobQueue::post(QObject* receiver, Job<R, P> job) {
  QPointer<QObject> to(receiver);
  auto shared = std::make_shared<Job<R, P>>(std::move(job));
  auto body = [this, to, shared](Entry& e) {
    const quint64 id = e.id;
    auto sendProgress = [this, to, shared, id](P value) {
      postToGui([this, to, shared, id, value = std::move(value)] {
        if (to && current(id) && shared->progress) shared->progress(id, value);
      });
    };
    JobContext<P> ctx(*this, id, e.stop, e.lane == JobLane::Background, std::move(sendProgress));
    try {
      R result = shared->run(ctx);
      if (ctx.cancelled()) {
        postToGui([this, id] { finish(id, End::Cancelled, {}); });
        return;
      }
      postToGui([this, to, shared, id, result = std::move(result)] {
        finish(id, End::Done, [&] {
          if (to && shared->done) shared->done(id, result);
        });
      });
    } catch (const std::exception& ex) {
      const QString message = describe(ex);
      postToGui([this, to, shared, id, message] {
        finish(id, End::Failed, [&] {
          if (to && shared->failed) shared->failed(id, message);
        });
      });
    }
  };
  const JobLane lane = shared->lane;
  const QString channel = shared->channel, what = shared->what;
  return enqueue(lane, channel, what, std::move(body));
}

}  // namespace prisma::app
