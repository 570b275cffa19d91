#include "app/explorer/training/TrainingBench.h"

#include "app/explorer/training/PresetForm.h"
#include "app/explorer/training/TrainingPlots.h"
#include "app/explorer/training/TrainingView.h"

#include <QThread>

#include <algorithm>
#include <cmath>

namespace prisma::app {

namespace {
constexpr double kNsPerMs = 1e6;
constexpr double kMsPerS = 1e3;
constexpr double kP99 = 0.99;
constexpr double kGoalMs = 50.0;
}  // namespace

StallStats StallStats::of(std::vector<double> lateMs) {
  StallStats out;
  std::sort(lateMs.begin(), lateMs.end());
  out.ticks = static_cast<int>(lateMs.size());
  if (lateMs.empty()) return out;
  out.p50 = lateMs[lateMs.size() / 2];
  out.p99 = lateMs[std::min(lateMs.size() - 1, static_cast<size_t>(kP99 * lateMs.size()))];
  out.max = lateMs.back();
  return out;
}

QString TrainingBenchResult::describe() const {
  if (!error.isEmpty()) return QStringLiteral("bench-training failed: %1").arg(error);
  QString out;
  out += QStringLiteral("training while the GUI runs: preset %1, %2 steps in %3 s, %4 img/s, %5 replots (longest %6 ms)\n")
             .arg(preset)
             .arg(steps)
             .arg(seconds, 0, 'f', 1)
             .arg(imagesPerS, 0, 'f', 0)
             .arg(replots)
             .arg(longestReplotMs, 0, 'f', 1);
  out += QStringLiteral("Start click (TrainingView::start on the GUI thread): %1 ms\n").arg(startClickMs, 0, 'f', 1);
  out += QStringLiteral("worst stall while training ended %1 s after Start (step %2 shown)\n")
             .arg(worstAtS, 0, 'f', 2)
             .arg(worstAtStep);
  out += QStringLiteral("event-loop stalls: lateness of a %1 ms timer on the GUI thread (%2 cores; goal: max <= %3 ms)\n")
             .arg(TrainingBench::kTickMs)
             .arg(QThread::idealThreadCount())
             .arg(kGoalMs, 0, 'f', 0);
  out += QStringLiteral("| phase | ticks | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
  auto row = [](const QString& name, const StallStats& s) {
    return QStringLiteral("| %1 | %2 | %3 | %4 | %5 |\n")
        .arg(name)
        .arg(s.ticks)
        .arg(s.p50, 0, 'f', 2)
        .arg(s.p99, 0, 'f', 2)
        .arg(s.max, 0, 'f', 2);
  };
  out += row(QStringLiteral("idle (no run, %1 s)").arg(TrainingBench::kBaselineMs / kMsPerS, 0, 'f', 0), idle);
  out += row(QStringLiteral("training"), training);
  out.chop(1);
  return out;
}

TrainingBench::TrainingBench(TrainingView& view, QObject* parent) : QObject(parent), view_(view) {
  timer_.setTimerType(Qt::PreciseTimer);
  timer_.setInterval(kTickMs);
  connect(&timer_, &QTimer::timeout, this, &TrainingBench::tick);
  connect(&view_, &TrainingView::runFinished, this, &TrainingBench::done);
}

void TrainingBench::start(const QString& runDir) {
  result_ = {};
  result_.preset = view_.form()->presetName();
  runDir_ = runDir;
  lateMs_.clear();
  clock_.start();
  lastTickNs_ = 0;
  timer_.start();
  QTimer::singleShot(kBaselineMs, this, &TrainingBench::startRun);
}

void TrainingBench::startRun() {
  result_.idle = StallStats::of(lateMs_);
  lateMs_.clear();
  worstMs_ = 0.0;
  view_.setOutputDir(runDir_);
  QElapsedTimer click;
  click.start();
  const bool started = view_.start();
  result_.startClickMs = click.nsecsElapsed() / kNsPerMs;
  // Lateness is counted from here: the click's own time is reported apart.
  clock_.restart();
  lastTickNs_ = 0;
  if (!started) {
    timer_.stop();
    result_.error = view_.form()->error().isEmpty() ? QStringLiteral("the run did not start") : view_.form()->error();
    emit finished(result_);
  }
}

void TrainingBench::tick() {
  const qint64 now = clock_.nsecsElapsed();
  const double late = std::max(0.0, (now - lastTickNs_) / kNsPerMs - kTickMs);
  lateMs_.push_back(late);
  lastTickNs_ = now;
  if (late > worstMs_) {
    worstMs_ = late;
    result_.worstAtS = now / kNsPerMs / kMsPerS;
    result_.worstAtStep = view_.lastStatus().step;
  }
}

void TrainingBench::done(const TrainingOutcome& outcome) {
  if (!timer_.isActive()) return;
  timer_.stop();
  result_.seconds = clock_.nsecsElapsed() / kNsPerMs / kMsPerS;
  result_.steps = outcome.steps;
  result_.error = outcome.error;
  result_.imagesPerS = view_.lastStatus().imagesPerS;
  result_.replots = view_.plots()->replotCount();
  result_.longestReplotMs = view_.plots()->longestReplotMs();
  result_.training = StallStats::of(std::move(lateMs_));
  lateMs_.clear();
  emit finished(result_);
}

}  // namespace prisma::app
