// LibTorch before Qt: the trainer's headers reach LibTorch, and Qt's `slots` macro breaks them.
#include "model/train/Checkpoint.h"
#include "model/train/RunFolderWriter.h"
#include "model/train/RunLog.h"
#include "model/train/Trainer.h"
#include "model/sae/SaeTraining.h"

#include "model/Error.h"

#include "app/explorer/training/RunFolder.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

namespace prisma::app {

namespace {
// What `prisma sae train` writes as preset.json's "kind", and the SAE's own file.
constexpr const char* kSaeKind = "sae";
constexpr const char* kSaeFile = "sae.json";
// preset.json is a few kilobytes; a file far larger is no run's.
constexpr qint64 kMaxPresetBytes = 16 << 20;
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

QString RunFolder::presetPath(const QString& dir) { return QDir(dir).filePath(QLatin1String(train::kPresetFile)); }

bool RunFolder::isRun(const QString& dir) { return QFileInfo::exists(presetPath(dir)); }

QString RunFolder::defaultDir(const train::TrainConfig& config, const QString& parent) {
  return QString::fromStdString(train::defaultRunDir(config, parent.toStdString()));
}

bool RunFolder::isSaeRun(const QString& dir) {
  QFile file(presetPath(dir));
  if (file.size() > kMaxPresetBytes || !file.open(QIODevice::ReadOnly)) return false;
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll());
  return doc.isObject() && doc.object().value(QStringLiteral("kind")).toString() == QLatin1String(kSaeKind);
}

bool RunFolder::hasSae(const QString& dir) { return QFileInfo::exists(QDir(dir).filePath(QLatin1String(kSaeFile))); }

bool RunFolder::readSaeSettings(const QString& dir, SaeRunSettings& settings, QString& error) {
  try {
    const sae::SaeTrainConfig c = sae::readSaeRunConfig(dir.toStdString());
    const auto& s = c.settings.sae;
    const auto& o = c.optimization;
    settings.model = QString::fromStdString(c.model);
    settings.hook = QString::fromStdString(s.hook_name);
    settings.dataset = QString::fromStdString(c.dataset);
    settings.tokens = QString::fromStdString(sae::tokenSelectionName(s.tokens));
    settings.activation = QString::fromStdString(sae::activationName(s.activation));
    if (s.activation == sae::Activation::TopK) settings.k = int(s.k);
    settings.l1 = s.l1_coefficient;
    settings.dSae = int(s.d_sae);
    settings.lr = o.lr;
    settings.warmup = int(o.schedule.warmup_steps);
    settings.maxSteps = int(o.max_steps);
    settings.batch = o.batch_size;
    settings.seed = int(c.settings.seed);
    settings.logEvery = int(c.logging.log_every);
    settings.evalBatches = c.logging.eval_batches;
    settings.checkpointEvery = int(c.logging.checkpoint_every);
    return true;
  } catch (const std::exception& e) {
    error = QString::fromStdString(e.what());
    return false;
  }
}

QString RunFolder::defaultSaeDir(const SaeRunSettings& settings, const QString& parent) {
  // "mouse:induction-2L" and "blocks.1.hook_resid_pre" as parts of a folder name.
  QString model = QFileInfo(QDir::cleanPath(settings.model)).fileName();
  model.remove(QStringLiteral("mouse:"));
  QString name = QStringLiteral("sae-%1-%2-%3")
                     .arg(model, settings.hook, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")));
  name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]")), QStringLiteral("_"));
  return QDir(parent).filePath(name);
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
