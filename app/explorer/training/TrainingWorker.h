#pragma once
// The training worker: a QObject living on its own thread that runs train::train() there
// (the project's one worker pattern: docs/ARCHITECTURE.md); the GUI thread never runs training code. The trainer's
// progress callback runs on this thread after every update: the worker copies what the
// GUI needs into values and sends them by queued signals, updates throttled to one per
// kStatusIntervalMs while evaluations, checkpoints and the end are always sent.

#include "app/explorer/training/SaeRunSettings.h"
#include "app/explorer/training/TrainingTypes.h"

#include "model/train/TrainConfig.h"

#include <QObject>

#include <memory>

namespace prisma::train {
class TrainControl;
}

namespace prisma::app {

struct TrainingRequest {
  // What trains: a ViT from `config` (train::train), or a sparse autoencoder from `sae`
  // (sae::trainSae, as `prisma sae train`); a resume reads either from the run's folder.
  enum class Kind { Vit, Sae };
  Kind kind = Kind::Vit;
  train::TrainConfig config;
  SaeRunSettings sae;
  QString runDir;
  bool resume = false;  // continue the run in runDir from its latest checkpoint
  int threads = 0;      // LibTorch threads; 0 = the runtime's default
  std::shared_ptr<const train::TrainControl> control;
};

class TrainingWorker : public QObject {
  Q_OBJECT

public:
  static constexpr int kStatusIntervalMs = 40;

  // Blocks this thread until the run ends; progress leaves as the signals below.
  void run(const prisma::app::TrainingRequest& request);
  // Loads a model to list what the SAE form offers for it (probed).
  void probe(const QString& modelSource);

signals:
  void statusChanged(const prisma::app::TrainingStatus& status);
  void evaluated(const prisma::app::TrainingMetrics& metrics);
  void checkpointWritten(const prisma::app::TrainingCheckpoint& checkpoint);
  void logLine(const QString& line);
  void finished(const prisma::app::TrainingOutcome& outcome);
  void probed(const prisma::app::SaeModelProbe& probe);

private:
  bool priorityLowered_ = false;  // once per thread: the nice value is the thread's
};

}  // namespace prisma::app
