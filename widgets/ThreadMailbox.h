#pragma once
// Hands work from any thread to the thread a ThreadMailbox lives on, in the order posted.
// The closures cross under a std::mutex, and the queued call that runs each one carries
// nothing but its method's name: what a worker built (a result, a status, a request) is
// visibly handed over before the other thread reads or frees it. Qt's own posted-event
// queue orders the two with a futex ThreadSanitizer cannot see, so values sent through it
// are reported as races. One closure per queued call, so a nested event loop inside one
// (a dialog) still runs the later ones, in order.

#include <QObject>

#include <deque>
#include <functional>
#include <mutex>

namespace prisma::widgets {

class ThreadMailbox : public QObject {
  Q_OBJECT

public:
  using QObject::QObject;
  // Takes what is still pending under the lock: the owner joined the posting thread through
  // QThread::wait, another hand-over ThreadSanitizer cannot see.
  ~ThreadMailbox() override;

  // Any thread. Dropped if this object is destroyed first, so the owner stops the posting
  // thread before destroying the mailbox.
  void post(std::function<void()> fn);

private:
  Q_INVOKABLE void runOne();

  std::mutex mutex_;
  std::deque<std::function<void()>> pending_;
};

}  // namespace prisma::widgets
