#pragma once
// The dashboard's live curves (QCustomPlot): loss, accuracy (top-1, top-5), learning rate
// and gradient norm over update steps, for the current run and any earlier run overlaid.
// Points arrive as values and are appended; nothing replots per point: a single-shot
// timer replots the dirty plots at most every kReplotIntervalMs (PlotJuggler's approach),
// so a fast run costs the GUI thread a few replots per second whatever its step rate.
//
// Smoothing is TensorBoard's debiased exponential moving average: with weight w,
// last = w·last + (1−w)·y and the shown value is last / (1 − w^n) after n points, so the
// first points are not pulled towards zero. It is causal, so it is appended too.

#include "app/explorer/training/TrainingTypes.h"

#include <QColor>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include <array>

class QCustomPlot;
class QCPGraph;
class QLabel;
class QMouseEvent;

namespace prisma::app {

class TrainingPlots : public QWidget {
  Q_OBJECT

public:
  static constexpr int kReplotIntervalMs = 40;

  enum class Plot { Loss, Accuracy, LearningRate, GradNorm };
  static constexpr int kPlotCount = 4;
  enum class Series { TrainLoss, TestLoss, TrainTop1, TestTop1, TrainTop5, TestTop5, LearningRate, GradNorm };
  static constexpr int kSeriesCount = 8;

  explicit TrainingPlots(QWidget* parent = nullptr);
  ~TrainingPlots() override;

  // A new run's curves; returns its index.
  int addRun(const QString& label, const QVector<TrainingMetrics>& metrics = {});
  void appendMetrics(int run, const TrainingMetrics& metrics);
  void setRunMetrics(int run, const QVector<TrainingMetrics>& metrics);
  void setRunLabel(int run, const QString& label);
  void removeRun(int run);
  int runCount() const { return static_cast<int>(runs_.size()); }
  const QVector<TrainingMetrics>& metrics(int run) const { return runs_.at(run).metrics; }

  // Loss, learning rate and gradient norm on log axes (accuracy stays linear).
  void setLogScale(bool on);
  bool logScale() const { return logScale_; }
  // EMA weight in [0, 1); 0 shows the raw values.
  void setSmoothing(double weight);
  double smoothing() const { return smoothing_; }
  // The values shown at the step nearest `step` on `plot` (what hovering shows).
  QString readoutAt(Plot plot, double step) const;
  // Back to the data's full range (also a double-click on a plot).
  void resetView();
  // Replots now if points are waiting (before grabbing the window).
  void flush() { replotNow(); }

  QCustomPlot* plot(Plot p) const { return plots_[static_cast<int>(p)]; }
  QCPGraph* graph(int run, Series s) const { return runs_.at(run).graphs[static_cast<int>(s)]; }
  int replotCount() const { return replots_; }
  double longestReplotMs() const { return longestReplotMs_; }

  static double seriesValue(const TrainingMetrics& m, Series s);
  static Plot plotOf(Series s);

signals:
  void readoutChanged(const QString& text);

protected:
  bool eventFilter(QObject* watched, QEvent* event) override;
  void showEvent(QShowEvent* event) override;

private:
  struct Ema {
    double last = 0.0;
    int count = 0;
  };
  struct Run {
    QString label;
    QColor color;
    QVector<TrainingMetrics> metrics;
    std::array<QCPGraph*, kSeriesCount> graphs{};
    std::array<Ema, kSeriesCount> ema{};
  };

  void addPoint(Run& run, const TrainingMetrics& m);
  void rebuild(Run& run);
  void markDirty();
  void replotNow();
  void applyScales();

  std::array<QCustomPlot*, kPlotCount> plots_{};
  std::array<bool, kPlotCount> userView_{};  // zoomed or panned: no autoscale until reset
  std::vector<Run> runs_;
  QTimer replotTimer_;
  QLabel* readout_ = nullptr;
  bool dirty_ = false;
  bool logScale_ = false;
  double smoothing_ = 0.0;
  int replots_ = 0;
  double longestReplotMs_ = 0.0;
  int nextColor_ = 0;
};

}  // namespace prisma::app
