#include "app/explorer/JobQueue.h"

#include <QMetaObject>

#include <algorithm>

namespace prisma::app {

bool ProgressThrottle::admit(Clock::time_point now) {
  if (last_ && now - *last_ < interval_) return false;
  last_ = now;
  return true;
}

bool JobControl::checkpoint() {
  // Only a background job lends its thread: an interactive job run at a checkpoint must
  // not start another one inside itself.
  if (background_ && !cancelled()) queue_.runWaitingInteractive();
  return cancelled();
}

JobQueue::JobQueue(std::function<void()> threadInit, std::function<QString(const std::exception&)> describe,
                   QObject* parent)
    : QObject(parent), threadInit_(std::move(threadInit)), describe_(std::move(describe)) {
  thread_ = std::thread([this] { loop(); });
}

JobQueue::~JobQueue() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    for (auto* lane : {&interactive_, &background_})
      for (Entry& e : *lane) e.stop->store(true);
  }
  for (auto& [id, job] : jobs_) job.stop->store(true);
  wake_.notify_all();
  thread_.join();
}

quint64 JobQueue::enqueue(JobLane lane, const QString& channel, const QString& what, std::function<void(Entry&)> body) {
  const quint64 id = nextId_++;
  if (!channel.isEmpty()) {
    cancelChannel(channel);
    latest_[channel] = id;
  }
  Entry e;
  e.id = id;
  e.lane = lane;
  e.stop = std::make_shared<std::atomic<bool>>(false);
  e.body = std::move(body);
  const bool wasBusy = busy();
  jobs_[id] = Posted{channel, what, e.stop};
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    (lane == JobLane::Interactive ? interactive_ : background_).push_back(std::move(e));
  }
  wake_.notify_one();
  if (!wasBusy) emit busyChanged(true);
  emit activityChanged(activity());
  return id;
}

void JobQueue::cancel(quint64 id) {
  const auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second.stop->store(true);
}

void JobQueue::cancelChannel(const QString& channel) {
  for (auto& [id, job] : jobs_)
    if (job.channel == channel) job.stop->store(true);
}

void JobQueue::cancelAll() {
  for (auto& [id, job] : jobs_) job.stop->store(true);
}

QString JobQueue::activity() const {
  const auto running = running_.empty() ? jobs_.end() : jobs_.find(running_.back());
  const int waiting = pending() - static_cast<int>(running_.size());
  QString text = running != jobs_.end() ? running->second.what : QString();
  if (waiting > 0)
    text += (text.isEmpty() ? QString() : QStringLiteral(", ")) + tr("%n waiting", nullptr, waiting);
  return text;
}

void JobQueue::loop() {
  if (threadInit_) threadInit_();
  for (;;) {
    Entry e;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return shutdown_ || !interactive_.empty() || !background_.empty(); });
      if (shutdown_) return;  // what is left was cancelled by the destructor
      std::deque<Entry>& from = interactive_.empty() ? background_ : interactive_;
      e = std::move(from.front());
      from.pop_front();
    }
    runEntry(e);
  }
}

void JobQueue::runWaitingInteractive() {
  for (;;) {
    Entry e;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (shutdown_ || interactive_.empty()) return;
      e = std::move(interactive_.front());
      interactive_.pop_front();
    }
    runEntry(e);
  }
}

void JobQueue::runEntry(Entry& e) {
  const quint64 id = e.id;
  if (e.stop->load()) {  // superseded or cancelled while it waited: never started
    postToGui([this, id] { finish(id, End::Cancelled, {}); });
    return;
  }
  postToGui([this, id] { started(id); });
  e.body(e);
}

void JobQueue::postToGui(std::function<void()> fn) { toGui_.post(std::move(fn)); }

bool JobQueue::current(quint64 id) const {
  const auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.stop->load()) return false;
  if (it->second.channel.isEmpty()) return true;
  const auto latest = latest_.find(it->second.channel);
  return latest != latest_.end() && latest->second == id;
}

void JobQueue::started(quint64 id) {
  if (!jobs_.count(id)) return;
  running_.push_back(id);
  emit activityChanged(activity());
}

void JobQueue::finish(quint64 id, End end, const std::function<void()>& deliver) {
  const bool deliverable = current(id);
  jobs_.erase(id);
  running_.erase(std::remove(running_.begin(), running_.end(), id), running_.end());
  // A cancelled job's result may still be on its way when the job is already gone.
  if (deliverable && deliver) deliver();
  emit finished(id, !deliverable && end == End::Done ? End::Cancelled : end);
  emit activityChanged(activity());
  if (!busy()) emit busyChanged(false);
}

QString JobQueue::describe(const std::exception& e) const {
  return describe_ ? describe_(e) : QString::fromUtf8(e.what());
}

}  // namespace prisma::app
