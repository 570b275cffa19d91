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

// One evaluation: a row of the run's metrics.csv. NaN where the trainer has no value
// (the learning rate and gradient norm before the first update).
struct TrainingMetrics {
  static constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  qint64 step = 0;
  qint64 samples = 0;
  double epoch = 0.0;
  double elapsedS = 0.0;
  double lr = kMissing;
  double gradNorm = kMissing;
  double batchLoss = kMissing;
  double trainLoss = kMissing, trainTop1 = kMissing, trainTop5 = kMissing;
  double testLoss = kMissing, testTop1 = kMissing, testTop5 = kMissing;
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
