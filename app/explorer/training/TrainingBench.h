#pragma once
// `prisma-explorer --bench-training`: is the GUI still responsive while a run trains at
// full speed? A kTickMs precise timer on the GUI thread records how late each tick fires
// (an event-loop stall: the GUI thread busy appending points, replotting or painting, or
// starved of CPU) from Start until the run ends, through the real Training tab: worker
// thread, queued progress, live plots and checkpoint list. Goal: max stall <= 50 ms.
//
// The same timer first runs kBaselineMs with no training: on a shared, noisy machine that
// row shows how late the timer is anyway, so the training row's excess is the run's doing.
// The Start click itself (form locked, curves added, worker asked) is timed on its own.

#include "app/explorer/training/TrainingTypes.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

#include <vector>

namespace prisma::app {

class TrainingView;

struct StallStats {
  int ticks = 0;
  double p50 = 0, p99 = 0, max = 0;  // tick lateness, ms
  static StallStats of(std::vector<double> lateMs);
};

struct TrainingBenchResult {
  QString preset;
  qint64 steps = 0;
  double seconds = 0.0;       // Start to the run's end
  double imagesPerS = 0.0;    // the trainer's last report
  StallStats idle, training;  // training: the ticks after the Start click
  double startClickMs = 0.0;  // TrainingView::start() itself on the GUI thread
  double worstAtS = 0.0;     // when the training phase's worst stall ended, since Start
  qint64 worstAtStep = 0;    // and the step the GUI had been told of
  int replots = 0;
  double longestReplotMs = 0.0;
  QString error;
  QString describe() const;  // a table
};

class TrainingBench : public QObject {
  Q_OBJECT

public:
  static constexpr int kTickMs = 5;
  static constexpr int kBaselineMs = 10000;

  explicit TrainingBench(TrainingView& view, QObject* parent = nullptr);
  // Measures the idle baseline, then starts the view's run (its preset and fields as
  // set) into `runDir` and measures until it ends.
  void start(const QString& runDir);

signals:
  void finished(const prisma::app::TrainingBenchResult& result);

private:
  void startRun();
  void tick();
  void done(const TrainingOutcome& outcome);

  TrainingView& view_;
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 lastTickNs_ = 0;
  double worstMs_ = 0.0;
  std::vector<double> lateMs_;
  QString runDir_;
  TrainingBenchResult result_;
};

}  // namespace prisma::app
