// LibTorch before Qt: the trainer's headers reach LibTorch, and Qt's `slots` macro breaks them.
#include "model/train/Checkpoint.h"
#include "model/train/RunLog.h"
#include "model/train/Trainer.h"

#include "model/Error.h"

#include "app/explorer/training/RunFolder.h"

#include <QDir>
#include <QFileInfo>

namespace prisma::app {

namespace {
constexpr const char* kPresetFile = "preset.json";
}

TrainingMetrics toTrainingMetrics(const train::LogRow& row) {
  TrainingMetrics m;
  m.step = row.step;
  m.samples = row.samples;
  m.epoch = row.epoch;
  m.elapsedS = row.elapsed_s;
  const auto& loop = train::loopColumns();
  m.scalars.reserve(static_cast<int>(loop.size() + row.scalars.size()));
  for (size_t i = 0; i < loop.size(); ++i)
    m.scalars.push_back({QString::fromStdString(loop[i].column), train::loopValue(row, i)});
  for (const auto& s : row.scalars) m.scalars.push_back({QString::fromStdString(s.name), s.value});
  return m;
}

TrainingCheckpoint toTrainingCheckpoint(const train::CheckpointInfo& info) {
  TrainingCheckpoint c;
  c.path = QString::fromStdString(info.path);
  c.name = QString::fromStdString(info.name);
  c.step = info.step;
  c.samples = info.samples;
  return c;
}

bool RunFolder::isRun(const QString& dir) { return QFileInfo::exists(QDir(dir).filePath(QLatin1String(kPresetFile))); }

QString RunFolder::defaultDir(const train::TrainConfig& config, const QString& parent) {
  return QString::fromStdString(train::defaultRunDir(config, parent.toStdString()));
}

RunFolder RunFolder::read(const QString& dir, QString& error) {
  RunFolder run;
  run.dir = dir;
  run.name = QFileInfo(QDir::cleanPath(dir)).fileName();
  const QString csv = QDir(dir).filePath(QLatin1String(train::RunLog::kCsvName));
  if (!QFileInfo::exists(csv)) {
    error = QStringLiteral("%1: not a run folder (no %2)").arg(dir, QLatin1String(train::RunLog::kCsvName));
    return run;
  }
  try {
    for (const auto& row : train::readMetricsCsv(csv.toStdString())) run.metrics.push_back(toTrainingMetrics(row));
    for (const auto& info : train::listCheckpoints(dir.toStdString())) run.checkpoints.push_back(toTrainingCheckpoint(info));
    run.resumable = !run.checkpoints.isEmpty() && train::hasOptimizerState(run.checkpoints.last().path.toStdString());
  } catch (const std::exception& e) {
    error = QString::fromStdString(e.what());
  }
  return run;
}

}  // namespace prisma::app
