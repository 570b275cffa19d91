#pragma once
// What the dashboard reads from a run folder on disk: its metrics.csv rows (to show an
// earlier run, or to continue the curves of a resumed one) and its complete checkpoints.
// The one place the dashboard converts the trainer's LogRow / CheckpointInfo into values:
// every logged column, whatever the run's objective, becomes a named scalar.

#include "app/explorer/training/SaeRunSettings.h"
#include "app/explorer/training/TrainingTypes.h"

#include <QString>
#include <QVector>

namespace prisma::train {
struct LogRow;
struct CheckpointInfo;
struct TrainConfig;
}  // namespace prisma::train

namespace prisma::app {

struct RunFolder {
  QString dir;
  QString name;  // the folder's name
  QVector<TrainingMetrics> metrics;
  QVector<TrainingCheckpoint> checkpoints;
  // Its last checkpoint has the optimizer state a resume needs (a shipped mouse's series
  // keeps weights only).
  bool resumable = false;

  // Reads `dir`; on a missing or unreadable metrics.csv sets `error` (file and line named).
  static RunFolder read(const QString& dir, QString& error);
  // `dir`'s preset.json, the resolved preset every run folder keeps.
  static QString presetPath(const QString& dir);
  // Whether `dir` holds a run (its preset.json).
  static bool isRun(const QString& dir);
  // The trainer's default for a new run: runs/<preset>-<YYYYmmdd-HHMMSS> under `parent`.
  static QString defaultDir(const train::TrainConfig& config, const QString& parent);
  // Whether `dir`'s preset.json is a sparse autoencoder's run (`prisma sae train`).
  static bool isSaeRun(const QString& dir);
  // Whether `dir` holds a finished SAE run's SAE (its sae.json), which the Features tab opens.
  static bool hasSae(const QString& dir);
  // An SAE run's settings as its preset.json holds them (d_sae explicit), for the form;
  // false with `error` set when it is no readable SAE run.
  static bool readSaeSettings(const QString& dir, SaeRunSettings& settings, QString& error);
  // A new SAE run's folder: sae-<model>-<hook>-<YYYYmmdd-HHMMSS> under `parent`.
  static QString defaultSaeDir(const SaeRunSettings& settings, const QString& parent);
};

TrainingMetrics toTrainingMetrics(const train::LogRow& row);
TrainingCheckpoint toTrainingCheckpoint(const train::CheckpointInfo& info);

}  // namespace prisma::app
