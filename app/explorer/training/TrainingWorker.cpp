// LibTorch before Qt: the trainer's headers reach LibTorch, and Qt's `slots` macro breaks them.
#include "model/train/Trainer.h"

#include "app/explorer/training/RunFolder.h"
#include "app/explorer/training/SaeRunSetup.h"
#include "app/explorer/training/TrainingWorker.h"

#include <QFileInfo>
#include <QStringList>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace prisma::app {

namespace {

using Clock = std::chrono::steady_clock;

// Nice value of the worker thread (and of the OpenMP threads it starts, which inherit it):
// when the CPU is contended, the GUI thread wins it from training, so the window stays
// responsive; on an idle machine training runs at full speed all the same.
constexpr int kWorkerNice = 5;
constexpr int kMaxNice = 19;
constexpr int kLogDigits = 4;
const char* const kBatchPrefix = "train_batch_";

void lowerThreadPriority() {
#ifdef __linux__
  // Linux keeps a nice value per thread; setpriority() on the thread id changes only this one.
  // Relative to the GUI thread's value (a program started with `nice` keeps its order).
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0) ::setpriority(PRIO_PROCESS, tid, std::min(current + kWorkerNice, kMaxNice));
#endif
}

TrainingStatus toStatus(const train::TrainProgress& p) {
  TrainingStatus s;
  switch (p.phase) {
    case train::TrainPhase::Paused: s.phase = TrainingStatus::Phase::Paused; break;
    case train::TrainPhase::Finished: s.phase = TrainingStatus::Phase::Finished; break;
    case train::TrainPhase::Preparing: s.phase = TrainingStatus::Phase::Preparing; break;
    default: s.phase = TrainingStatus::Phase::Training; break;
  }
  s.message = QString::fromStdString(p.message);
  s.step = p.step;
  s.totalSteps = p.total_steps;
  s.samples = p.samples;
  s.epoch = p.epoch;
  s.imagesPerS = p.images_per_s;
  s.etaS = p.eta_s;
  s.elapsedS = p.elapsed_s;
  s.batchLoss = p.batch_loss;
  return s;
}

// "step 20: train loss 1.3501 acc 0.3125 top5 1.0000 | test loss ...": each part's
// evaluated columns, whatever the objective logs.
QString describe(const TrainingMetrics& m) {
  QStringList parts;
  for (const char* part : {"train_", "test_"}) {
    QString text = QString::fromLatin1(part).chopped(1);
    bool any = false;
    for (const TrainingScalar& s : m.scalars) {
      if (!s.column.startsWith(QLatin1String(part)) || s.column.startsWith(QLatin1String(kBatchPrefix))) continue;
      text += QStringLiteral(" %1 %2").arg(s.column.mid(int(std::strlen(part)))).arg(s.value, 0, 'f', kLogDigits);
      any = true;
    }
    if (any) parts << text;
  }
  return QStringLiteral("step %1: %2").arg(m.step).arg(parts.join(QStringLiteral(" | ")));
}

}  // namespace

void TrainingWorker::run(const TrainingRequest& request) {
  if (!priorityLowered_) lowerThreadPriority();
  priorityLowered_ = true;
  TrainingOutcome outcome;
  outcome.runDir = request.runDir;
  Clock::time_point lastStatus;
  bool sentStatus = false;
  train::TrainPhase lastPhase = train::TrainPhase::Preparing;
  std::string lastMessage;
  const auto interval = std::chrono::milliseconds(kStatusIntervalMs);

  train::TrainOptions options;
  options.run_dir = request.runDir.toStdString();
  options.resume = request.resume;
  options.threads = request.threads;
  options.control = request.control.get();
  options.progress = [&](const train::TrainProgress& p) {
    switch (p.phase) {
      case train::TrainPhase::Evaluated:
        if (p.row) {
          const TrainingMetrics m = toTrainingMetrics(*p.row);
          emit evaluated(m);
          emit logLine(describe(m));
        }
        return;
      case train::TrainPhase::Checkpointed: {
        TrainingCheckpoint c;
        c.path = QString::fromStdString(p.checkpoint);
        c.name = QFileInfo(c.path).fileName();
        c.step = p.step;
        c.samples = p.samples;
        emit checkpointWritten(c);
        emit logLine(QStringLiteral("checkpoint %1").arg(c.name));
        return;
      }
      case train::TrainPhase::Preparing:
        // "evaluating" precedes every evaluation: log each message once in a row.
        if (!p.message.empty() && p.message != lastMessage) emit logLine(QString::fromStdString(p.message));
        lastMessage = p.message;
        break;
      default: break;
    }
    // Updates arrive every few milliseconds: send a phase change at once, otherwise at
    // most one status per interval (the GUI cannot show more).
    const auto now = Clock::now();
    if (sentStatus && p.phase == lastPhase && now - lastStatus < interval) return;
    sentStatus = true;
    lastStatus = now;
    lastPhase = p.phase;
    emit statusChanged(toStatus(p));
  };

  try {
    if (request.kind == TrainingRequest::Kind::Sae) {
      const sae::SaeTrainConfig config =
          request.resume ? sae::readSaeRunConfig(options.run_dir) : saeTrainConfig(request.sae);
      const auto& s = config.settings.sae;
      emit logLine(QStringLiteral("SAE on %1 of %2: d_in %3, d_sae %4")
                       .arg(QString::fromStdString(s.hook_name), QString::fromStdString(config.model))
                       .arg(s.d_in)
                       .arg(s.d_sae));
      const sae::SaeTrainResult r = sae::trainSae(config, options);
      outcome.stopReason = QString::fromStdString(r.loop.stop_reason);
      outcome.steps = r.loop.state.step;
    } else {
      const train::TrainResult r = train::train(request.config, options);
      outcome.stopReason = QString::fromStdString(r.stop_reason);
      outcome.steps = r.steps;
    }
  } catch (const std::exception& e) {
    outcome.error = QString::fromStdString(e.what());
  }
  emit finished(outcome);
}

void TrainingWorker::probe(const QString& modelSource) { emit probed(probeSaeModel(modelSource)); }

}  // namespace prisma::app
