#pragma once
// Values that cross from the training worker's thread to the GUI: plain Qt types copied
// out of the trainer's progress reports (no LibTorch), so the dashboard's widgets never
// touch the trainer's state.

#include <QMetaType>
#include <QString>
#include <QVector>

#include <cstdint>
#include <limits>

namespace prisma::app {

// One logged value: a metrics.csv column (lr, grad_norm, train_batch_loss, then the
// objective's own: train_loss, test_acc, test_mse, ...) and its value.
struct TrainingScalar {
  QString column;
  double value = std::numeric_limits<double>::quiet_NaN();
};

// One evaluation: a row of the run's metrics.csv, whatever the objective logs. NaN where
// the trainer has no value (the learning rate and gradient norm before the first update).
struct TrainingMetrics {
  static constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  qint64 step = 0;
  qint64 samples = 0;
  double epoch = 0.0;
  double elapsedS = 0.0;
  QVector<TrainingScalar> scalars;  // in column order

  double value(const QString& column) const {
    for (const auto& s : scalars)
      if (s.column == column) return s.value;
    return kMissing;
  }
  void setValue(const QString& column, double value) {
    for (auto& s : scalars)
      if (s.column == column) {
        s.value = value;
        return;
      }
    scalars.push_back({column, value});
  }
};

// The trainer's latest progress report (throttled by the worker).
struct TrainingStatus {
  enum class Phase { Preparing, Training, Paused, Finished };
  Phase phase = Phase::Preparing;
  QString message;
  qint64 step = 0;
  qint64 totalSteps = 0;
  qint64 samples = 0;
  double epoch = 0.0;
  double imagesPerS = TrainingMetrics::kMissing;
  double etaS = TrainingMetrics::kMissing;
  double elapsedS = 0.0;
  double batchLoss = TrainingMetrics::kMissing;
};

struct TrainingCheckpoint {
  QString path;
  QString name;
  qint64 step = 0;
  qint64 samples = 0;
};

// How a run ended: a stop reason of the trainer ("max_steps", "epochs", "early_stopping",
// "stopped"), or an error message (the trainer's prisma::Error, verbatim).
struct TrainingOutcome {
  QString runDir;
  QString stopReason;
  QString error;
  qint64 steps = 0;
  bool failed() const { return !error.isEmpty(); }
  bool stoppedEarly() const { return failed() || stopReason == QLatin1String("stopped") ||
                                     stopReason == QLatin1String("early_stopping"); }
};

}  // namespace prisma::app

Q_DECLARE_METATYPE(prisma::app::TrainingMetrics)
Q_DECLARE_METATYPE(prisma::app::TrainingStatus)
Q_DECLARE_METATYPE(prisma::app::TrainingCheckpoint)
Q_DECLARE_METATYPE(prisma::app::TrainingOutcome)
