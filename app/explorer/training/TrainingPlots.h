#pragma once
// The dashboard's live curves (QCustomPlot): one plot per quantity a run logs, whatever its
// objective, for the current run and any earlier run shown beside it. A metrics.csv column
// names its part and quantity -- train_loss, test_loss and train_batch_loss are the loss of
// the train part, the test part and the training batches -- so a classifier's run shows
// Loss, Accuracy (top-1 and top-5), Learning rate and Gradient norm, and a sparse
// autoencoder's MSE, L0 or explained variance appear as plots of their own without a change
// here. Train is drawn solid, test dashed, training batches dotted.
//
// Legends sit under each plot, listing only curves that have a value.
//
// Points arrive as values and are appended; nothing replots per point: a single-shot timer
// replots the dirty plots at most every kReplotIntervalMs (PlotJuggler's approach), so a
// fast run costs the GUI thread a few replots per second whatever its step rate.
//
// Smoothing is TensorBoard's debiased exponential moving average: with weight w,
// last = w·last + (1−w)·y and the shown value is last / (1 − w^n) after n points, so the
// first points are not pulled towards zero. It is causal, so it is appended too.

#include "app/explorer/training/TrainingTypes.h"

#include <QColor>
#include <QStringList>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include <map>
#include <vector>

class QCustomPlot;
class QCPGraph;
class QGridLayout;
class QLabel;

namespace prisma::app {

class TrainingPlots : public QWidget {
  Q_OBJECT

public:
  static constexpr int kReplotIntervalMs = 40;

  explicit TrainingPlots(QWidget* parent = nullptr);
  ~TrainingPlots() override;

  // A new run's curves; returns its index.
  int addRun(const QString& label, const QVector<TrainingMetrics>& metrics = {});
  void appendMetrics(int run, const TrainingMetrics& metrics);
  // Takes back the newest run (one whose start failed before it logged anything).
  void removeLastRun();
  void setRunMetrics(int run, const QVector<TrainingMetrics>& metrics);
  int runCount() const { return static_cast<int>(runs_.size()); }
  const QVector<TrainingMetrics>& metrics(int run) const { return runs_.at(run).metrics; }

  // The plots shown, by quantity ("loss", "acc", "lr", "grad_norm", "mse", ...), in order.
  QStringList plotNames() const;
  // nullptr when no run logs that quantity.
  QCustomPlot* plot(const QString& name) const;
  // The curve of one metrics.csv column of a run; nullptr when the run has no such column.
  QCPGraph* graph(int run, const QString& column) const;

  // Every plot but the bounded ones (accuracy) on log axes.
  void setLogScale(bool on);
  bool logScale() const { return logScale_; }
  // EMA weight in [0, 1); 0 shows the raw values.
  void setSmoothing(double weight);
  double smoothing() const { return smoothing_; }
  // The values shown at the step nearest `step` on a plot (what hovering shows).
  QString readoutAt(const QString& plot, double step) const;
  // Back to the data's full range (also a double-click on a plot).
  void resetView();
  // Replots now if points are waiting (before grabbing the window).
  void flush() { replotNow(); }

  int replotCount() const { return replots_; }
  double longestReplotMs() const { return longestReplotMs_; }

protected:
  bool eventFilter(QObject* watched, QEvent* event) override;
  void showEvent(QShowEvent* event) override;

private:
  struct Ema {
    double last = 0.0;
    int count = 0;
  };
  struct Curve {
    QCPGraph* graph = nullptr;
    Ema ema;
    bool listed = false;  // in the legend: it has had a finite value
  };
  struct Run {
    QString label;
    QColor color;
    QVector<TrainingMetrics> metrics;
    std::map<QString, Curve> curves;  // by column
  };
  struct Plot {
    QString name;
    QCustomPlot* widget = nullptr;
    bool unitRange = false;  // a fraction in [0, 1]: fixed axis, never logarithmic
    bool userView = false;   // zoomed or panned: no autoscale until reset
  };

  Plot& plotFor(const QString& column);
  QString curveName(const Run& run, const QString& column) const;
  void relabel();
  Curve& curveFor(Run& run, const QString& column);
  void addPoint(Run& run, const TrainingMetrics& m);
  void rebuild(Run& run);
  void markDirty();
  void replotNow();
  void applyScale(Plot& plot);

  std::vector<Plot> plots_;
  std::vector<Run> runs_;
  QGridLayout* grid_ = nullptr;
  QLabel* empty_ = nullptr;
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
