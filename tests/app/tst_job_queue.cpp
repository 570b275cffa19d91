// The explorer's job queue (app/explorer/JobQueue.h) without a window or a model: results
// arrive on the GUI thread as values, a cancelled job stops between batches and is heard
// of no more, progress is throttled to one update per 40 ms, interactive jobs go ahead of
// waiting background jobs and run between a running sweep's batches, and a newer job on a
// channel supersedes the older one.

#include "app/explorer/JobQueue.h"

#include <QEventLoop>
#include <QSignalSpy>
#include <QTimer>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace prisma::app;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(prisma::app::JobQueue::End)

namespace {
constexpr int kWaitMs = 10000;
constexpr int kQuietMs = 300;  // how long a cancelled job must stay silent
constexpr int kBatches = 1000;
constexpr int kSweepBound = 10000;  // batches of 2 ms: far longer than the GUI needs to post a job

struct Answer {
  int value = 0;
  std::thread::id ranOn;
};

// The order in which jobs ran, written from the queue's thread.
class Log {
public:
  void add(const QString& entry) {
    const std::lock_guard<std::mutex> lock(mutex_);
    entries_ << entry;
  }
  QStringList entries() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return entries_;
  }

private:
  mutable std::mutex mutex_;
  QStringList entries_;
};

// A job that runs until released (or cancelled), to hold the queue's thread.
Job<int> blocker(const std::atomic<bool>& release, Log& log, const QString& name) {
  Job<int> job;
  job.lane = JobLane::Background;
  job.what = name;
  job.run = [&release, &log, name](JobContext<int>& ctx) {
    while (!release.load() && !ctx.cancelled()) std::this_thread::sleep_for(1ms);
    log.add(name);
    return 0;
  };
  return job;
}

Job<int> logged(JobLane lane, Log& log, const QString& name) {
  Job<int> job;
  job.lane = lane;
  job.run = [&log, name](JobContext<int>&) {
    log.add(name);
    return 0;
  };
  return job;
}
}  // namespace

class TestJobQueue : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() { qRegisterMetaType<JobQueue::End>(); }

  void throttleAdmitsOneUpdatePerInterval_data() {
    QTest::addColumn<QVector<int>>("ms");        // report times
    QTest::addColumn<QVector<bool>>("admitted");  // which of them pass
    QTest::newRow("first always") << QVector<int>{0} << QVector<bool>{true};
    QTest::newRow("burst") << QVector<int>{0, 1, 2, 39} << QVector<bool>{true, false, false, false};
    QTest::newRow("exactly the interval") << QVector<int>{0, 40, 80} << QVector<bool>{true, true, true};
    QTest::newRow("measured from the last admitted") << QVector<int>{0, 30, 45, 70, 85}
                                                     << QVector<bool>{true, false, true, false, true};
    QTest::newRow("slow reports all pass") << QVector<int>{0, 100, 250} << QVector<bool>{true, true, true};
  }

  void throttleAdmitsOneUpdatePerInterval() {
    QFETCH(QVector<int>, ms);
    QFETCH(QVector<bool>, admitted);
    QCOMPARE(ProgressThrottle::kInterval, 40ms);
    ProgressThrottle throttle;
    const auto t0 = ProgressThrottle::Clock::time_point{} + 1h;
    for (int i = 0; i < ms.size(); ++i)
      QVERIFY2(throttle.admit(t0 + std::chrono::milliseconds(ms[i])) == admitted[i], qPrintable(QString::number(ms[i])));
  }

  void resultArrivesOnTheGuiThreadAsAValue() {
    JobQueue queue;
    QObject receiver;
    std::optional<Answer> got;
    bool onGuiThread = false;
    Job<Answer> job;
    job.run = [](JobContext<Answer>&) { return Answer{42, std::this_thread::get_id()}; };
    job.done = [&](quint64, const Answer& a) {
      got = a;
      onGuiThread = QThread::currentThread() == receiver.thread();
    };
    QSignalSpy busy(&queue, &JobQueue::busyChanged);
    const quint64 id = queue.post(&receiver, job);
    QVERIFY(id > 0);
    QVERIFY(queue.busy());
    QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), kWaitMs);
    QCOMPARE(got->value, 42);
    QVERIFY(got->ranOn != std::this_thread::get_id());
    QVERIFY(onGuiThread);
    QTRY_VERIFY_WITH_TIMEOUT(!queue.busy(), kWaitMs);
    QCOMPARE(busy.count(), 2);  // true, then false
    QCOMPARE(busy.at(1).at(0).toBool(), false);
  }

  void failureCarriesTheMessage() {
    JobQueue queue;
    QObject receiver;
    QString message;
    bool done = false;
    Job<int> job;
    job.run = [](JobContext<int>&) -> int { throw std::runtime_error("model.json: field n_heads missing"); };
    job.done = [&](quint64, int) { done = true; };
    job.failed = [&](quint64, const QString& m) { message = m; };
    queue.post(&receiver, job);
    QTRY_VERIFY_WITH_TIMEOUT(!message.isEmpty(), kWaitMs);
    QCOMPARE(message, QStringLiteral("model.json: field n_heads missing"));
    QVERIFY(!done);
  }

  void cancelStopsBetweenBatchesAndSilencesTheJob() {
    JobQueue queue;
    QObject receiver;
    std::atomic<int> batchesRun{0};
    int updates = 0, updatesAfterCancel = 0;
    bool cancelled = false, done = false;
    quint64 id = 0;
    Job<int> job;
    job.lane = JobLane::Background;
    job.run = [&batchesRun](JobContext<int>& ctx) {
      int b = 0;
      for (; b < kBatches && !ctx.checkpoint(); ++b) {
        std::this_thread::sleep_for(1ms);
        batchesRun = b + 1;
        ctx.progress([b] { return b + 1; });
      }
      return b;
    };
    job.progress = [&](quint64, int) {
      ++updates;
      if (cancelled) ++updatesAfterCancel;
      if (!cancelled) {
        queue.cancel(id);
        cancelled = true;
      }
    };
    job.done = [&](quint64, int) { done = true; };
    QSignalSpy finished(&queue, &JobQueue::finished);
    id = queue.post(&receiver, job);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, kWaitMs);
    QCOMPARE(finished.at(0).at(0).toULongLong(), id);
    QCOMPARE(finished.at(0).at(1).value<JobQueue::End>(), JobQueue::End::Cancelled);
    QVERIFY(batchesRun.load() < kBatches);  // it stopped between batches, long before the end
    QTest::qWait(kQuietMs);
    QCOMPARE(updates, 1);
    QCOMPARE(updatesAfterCancel, 0);
    QVERIFY(!done);
    QVERIFY(!queue.busy());
  }

  void progressIsThrottledToOneUpdatePer40ms() {
    JobQueue queue;
    QObject receiver;
    QVector<int> seen;
    std::optional<int> result;
    constexpr auto kRunFor = 400ms;
    std::chrono::steady_clock::duration ran{};
    Job<int> job;
    job.lane = JobLane::Background;
    job.run = [&ran, kRunFor](JobContext<int>& ctx) {
      const auto t0 = std::chrono::steady_clock::now();
      int n = 0;
      while (std::chrono::steady_clock::now() - t0 < kRunFor) {
        ++n;
        ctx.progress([n] { return n; });
        std::this_thread::sleep_for(500us);
      }
      ran = std::chrono::steady_clock::now() - t0;
      return n;
    };
    job.progress = [&](quint64, int n) { seen << n; };
    job.done = [&](quint64, int n) { result = n; };
    queue.post(&receiver, job);
    QTRY_VERIFY_WITH_TIMEOUT(result.has_value(), kWaitMs);
    const auto intervals = std::chrono::duration_cast<std::chrono::milliseconds>(ran) / ProgressThrottle::kInterval;
    QVERIFY2(seen.size() >= 2, qPrintable(QString::number(seen.size())));
    QVERIFY2(seen.size() <= intervals + 1, qPrintable(QStringLiteral("%1 updates in %2 intervals").arg(seen.size()).arg(intervals)));
    QVERIFY(*result > seen.size() * 4);  // many more reports than updates
    QCOMPARE(seen.first(), 1);           // the first report passes at once
    for (int i = 1; i < seen.size(); ++i) QVERIFY(seen[i] > seen[i - 1]);
    QVERIFY(seen.last() <= *result);
  }

  void interactiveJobsRunBetweenTheBatchesOfASweep() {
    JobQueue queue;
    QObject receiver;
    Log log;
    std::atomic<bool> interactiveDone{false};
    bool sweepDone = false, imageDone = false, imageBeforeSweep = false;
    Job<int> sweep;
    sweep.lane = JobLane::Background;
    sweep.run = [&](JobContext<int>& ctx) {
      int b = 0;
      // Batches until the interactive job has run at a checkpoint (or a bound well past it).
      for (; b < kSweepBound && !interactiveDone.load(); ++b) {
        if (ctx.checkpoint()) break;
        std::this_thread::sleep_for(2ms);
        log.add(QStringLiteral("batch"));
        ctx.progress([b] { return b; });
      }
      log.add(QStringLiteral("sweep end"));
      return b;
    };
    bool posted = false;
    sweep.progress = [&](quint64, int) {
      if (posted) return;
      posted = true;
      Job<int> image;
      image.run = [&log, &interactiveDone](JobContext<int>&) {
        log.add(QStringLiteral("image"));
        interactiveDone = true;
        return 0;
      };
      image.done = [&](quint64, int) {
        imageDone = true;
        imageBeforeSweep = !sweepDone;
      };
      queue.post(&receiver, image);
    };
    sweep.done = [&](quint64, int) { sweepDone = true; };
    queue.post(&receiver, sweep);
    QTRY_VERIFY_WITH_TIMEOUT(sweepDone && imageDone, kWaitMs);
    const QStringList order = log.entries();
    QVERIFY(order.indexOf(QStringLiteral("image")) > 0);
    QVERIFY(order.indexOf(QStringLiteral("image")) < order.indexOf(QStringLiteral("sweep end")));
    QVERIFY2(order.size() < kSweepBound, "the sweep ran to its bound: the image waited for it");
    QVERIFY(imageBeforeSweep);
  }

  void waitingJobsRunInteractiveFirstThenInOrder() {
    JobQueue queue;
    QObject receiver;
    Log log;
    std::atomic<bool> release{false};
    queue.post(&receiver, blocker(release, log, QStringLiteral("running")));
    QTRY_COMPARE_WITH_TIMEOUT(queue.activity(), QStringLiteral("running"), kWaitMs);  // started, nothing waits
    queue.post(&receiver, logged(JobLane::Background, log, QStringLiteral("sweep 1")));
    queue.post(&receiver, logged(JobLane::Background, log, QStringLiteral("sweep 2")));
    queue.post(&receiver, logged(JobLane::Interactive, log, QStringLiteral("image 1")));
    queue.post(&receiver, logged(JobLane::Interactive, log, QStringLiteral("image 2")));
    QCOMPARE(queue.pending(), 5);
    release = true;
    QTRY_VERIFY_WITH_TIMEOUT(!queue.busy(), kWaitMs);
    QCOMPARE(log.entries(), (QStringList{"running", "image 1", "image 2", "sweep 1", "sweep 2"}));
  }

  // Results cross to the GUI thread through the queue's own mutex-guarded list, one closure
  // per queued call: they keep the order they were posted in even when a done() handler runs
  // a nested event loop (a dialog) in which the later ones are delivered. (The later jobs are
  // posted from inside the handler: Qt's dispatcher wakes a nested loop only for events
  // posted after it began.)
  void deliveriesKeepTheirOrderThroughANestedEventLoop() {
    constexpr int kLater = 3;
    constexpr int kNestedMs = 300;
    JobQueue queue;
    QObject receiver;
    QStringList seen;
    auto job = [&seen](int i) {
      Job<int> j;
      j.lane = JobLane::Background;
      j.run = [i](JobContext<int>&) { return i; };
      j.done = [&seen](quint64, const int& value) { seen << QStringLiteral("done %1").arg(value); };
      return j;
    };
    Job<int> first = job(0);
    first.done = [&](quint64, const int&) {
      seen << QStringLiteral("done 0");
      for (int i = 1; i <= kLater; ++i) queue.post(&receiver, job(i));
      QEventLoop nested;
      QTimer::singleShot(kNestedMs, &nested, &QEventLoop::quit);
      nested.exec();
      seen << QStringLiteral("back in 0");
    };
    queue.post(&receiver, first);
    QTRY_VERIFY_WITH_TIMEOUT(seen.size() == kLater + 2, kWaitMs);
    QCOMPARE(seen, (QStringList{"done 0", "done 1", "done 2", "done 3", "back in 0"}));
  }

  void aNewerJobOnAChannelSupersedesTheOlder() {
    JobQueue queue;
    QObject receiver;
    Log log;
    std::atomic<bool> release{false};
    queue.post(&receiver, blocker(release, log, QStringLiteral("running")));
    QVector<int> delivered;
    auto onChannel = [&](int value) {
      Job<int> job;
      job.channel = QStringLiteral("image");
      job.run = [&log, value](JobContext<int>&) {
        log.add(QStringLiteral("image %1").arg(value));
        return value;
      };
      job.done = [&delivered](quint64, int v) { delivered << v; };
      return job;
    };
    QSignalSpy finished(&queue, &JobQueue::finished);
    const quint64 first = queue.post(&receiver, onChannel(1));
    const quint64 second = queue.post(&receiver, onChannel(2));
    QVERIFY(second > first);
    release = true;
    QTRY_VERIFY_WITH_TIMEOUT(!queue.busy(), kWaitMs);
    QCOMPARE(delivered, QVector<int>{2});
    QVERIFY(!log.entries().contains(QStringLiteral("image 1")));  // skipped: it never started
    for (const auto& args : finished)
      if (args.at(0).toULongLong() == first) QCOMPARE(args.at(1).value<JobQueue::End>(), JobQueue::End::Cancelled);

    // A stale result already computed is dropped too: the older job runs to the end while
    // the newer is posted, and only the newer one's result arrives.
    delivered.clear();
    std::atomic<bool> hold{false}, holding{false};
    Job<int> slow = onChannel(3);
    slow.run = [&](JobContext<int>&) {
      holding = true;
      while (!hold.load()) std::this_thread::sleep_for(1ms);
      return 3;  // ignores its token on purpose
    };
    queue.post(&receiver, slow);
    QTRY_VERIFY_WITH_TIMEOUT(holding.load(), kWaitMs);
    queue.post(&receiver, onChannel(4));
    hold = true;
    QTRY_VERIFY_WITH_TIMEOUT(!queue.busy(), kWaitMs);
    QCOMPARE(delivered, QVector<int>{4});
  }

  void aDestroyedReceiverHearsNothing() {
    JobQueue queue;
    Log log;
    std::atomic<bool> release{false};
    bool called = false;
    auto receiver = std::make_unique<QObject>();
    Job<int> job = blocker(release, log, QStringLiteral("job"));
    job.done = [&](quint64, int) { called = true; };
    queue.post(receiver.get(), job);
    receiver.reset();
    release = true;
    QTRY_VERIFY_WITH_TIMEOUT(!queue.busy(), kWaitMs);
    QVERIFY(!called);
  }

  void destroyingTheQueueCancelsARunningSweep() {
    std::atomic<bool> stoppedByToken{false};
    {
      JobQueue queue;
      QObject receiver;
      std::atomic<bool> running{false};
      Job<int> sweep;
      sweep.lane = JobLane::Background;
      sweep.run = [&](JobContext<int>& ctx) {
        running = true;
        while (!ctx.checkpoint()) std::this_thread::sleep_for(1ms);
        stoppedByToken = true;
        return 0;
      };
      queue.post(&receiver, sweep);
      QTRY_VERIFY_WITH_TIMEOUT(running.load(), kWaitMs);
    }  // the destructor returns only once the sweep has stopped
    QVERIFY(stoppedByToken.load());
  }
};

QTEST_GUILESS_MAIN(TestJobQueue)
#include "tst_job_queue.moc"
