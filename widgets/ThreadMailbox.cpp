#include "widgets/ThreadMailbox.h"

namespace prisma::widgets {

ThreadMailbox::~ThreadMailbox() {
  std::deque<std::function<void()>> dropped;
  const std::lock_guard<std::mutex> lock(mutex_);
  dropped.swap(pending_);
}

void ThreadMailbox::post(std::function<void()> fn) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(fn));
  }
  QMetaObject::invokeMethod(this, "runOne", Qt::QueuedConnection);
}

void ThreadMailbox::runOne() {
  std::function<void()> fn;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty()) return;
    fn = std::move(pending_.front());
    pending_.pop_front();
  }
  fn();
}

}  // namespace prisma::widgets
