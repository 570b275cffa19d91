// Run folders that never lose or corrupt a run, on short induction runs:
//   - one trainer per folder: a second `prisma train --out D` (or train() call) fails at
//     once with a clear message while the first goes on unharmed (an flock on D/.lock);
//   - a run SIGKILLed after writing preset.json but before its first checkpoint can be
//     resumed (from step 0) or started afresh, and both equal an uninterrupted run;
//   - after a resume, the logged interval means (grad_norm, train_batch_loss) in
//     metrics.csv and the event file equal an uninterrupted run's, whether the run was
//     stopped mid-interval or killed after a checkpoint;
//   - a non-finite loss stops the run with an error naming the update and keeps the last
//     good checkpoint (and no NaN model), or is skipped when asked.

#include "TestUtil.h"
#include "TrainTestMain.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/NonFinite.h"
#include "model/train/Checkpoint.h"
#include "model/train/EventFile.h"
#include "model/train/Presets.h"
#include "model/train/RunLock.h"
#include "model/train/RunLog.h"
#include "model/train/Trainer.h"
#include "model/vit/StateDict.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <unistd.h>

using namespace prisma;
using namespace prisma::train;
namespace fs = std::filesystem;

namespace {

constexpr int kProcessTimeoutMs = 300000;
constexpr int kPollMs = 50;
constexpr int kSteps = 120;       // the uninterrupted run
constexpr int kStopAt = 57;       // mid-interval: neither a log step nor a checkpoint step
constexpr int kLastCheckpoint = 50;
constexpr double kHugeLr = 1e30;  // diverges at once: the second update's loss is not finite

Overrides shortRun(int maxSteps) {
  return {{"optimization.max_steps", maxSteps},
          {"logging.log_every", 20},
          {"logging.eval_batches", 2},
          {"logging.checkpoint_every", kLastCheckpoint},
          {"logging.log_spaced_checkpoints", false}};
}

int64_t lineCount(const std::string& path) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

std::vector<std::string> eventFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) out.push_back(e.path().string());
  return out;
}

// The interval means a run logged: metrics.csv rows and event-file scalars, by step.
struct Logged {
  std::map<int64_t, LogRow> rows;
  std::map<std::pair<std::string, int64_t>, float> events;
};

Logged logged(const std::string& dir) {
  Logged l;
  for (const auto& r : readMetricsCsv((fs::path(dir) / RunLog::kCsvName).string())) {
    if (l.rows.count(r.step)) throw std::runtime_error(dir + ": step " + std::to_string(r.step) + " logged twice");
    l.rows[r.step] = r;
  }
  const auto files = eventFiles(dir);
  if (files.size() != 1) throw std::runtime_error(dir + ": " + std::to_string(files.size()) + " event files");
  for (const auto& e : readEventFile(files.front()))
    for (const auto& s : e.scalars) l.events[{s.tag, e.step}] = s.value;
  return l;
}

}  // namespace

class TestTrainSafety : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  std::string dir(const char* name) const { return tmp_.filePath(name).toStdString(); }

  struct Proc {
    int code;
    QString out, err;
  };
  Proc prisma(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(PRISMA_CLI_PATH), args);
    if (!p.waitForFinished(kProcessTimeoutMs)) return {-1, {}, QStringLiteral("timed out")};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
  }
  // Polls until `ready` holds or the process ends; returns whether it held.
  template <typename Fn>
  static bool waitFor(QProcess& p, Fn&& ready) {
    for (int waited = 0; waited < kProcessTimeoutMs; waited += kPollMs) {
      if (ready()) return true;
      if (p.state() == QProcess::NotRunning) return ready();
      p.waitForFinished(kPollMs);
    }
    return false;
  }

  // A preset file (the induction preset, short) whose first checkpoint comes late: a kill
  // early in the run then finds preset.json and logs but no checkpoint.
  QString latePresetFile() {
    const std::string path = dir("late-checkpoint.json");
    TrainConfig cfg = loadPreset("induction", {{"logging.log_every", 2},
                                               {"logging.eval_batches", 1},
                                               {"logging.checkpoint_every", 1000},
                                               {"logging.log_spaced_checkpoints", false}});
    std::ofstream(path) << nlohmann::json(cfg).dump(2);
    return QString::fromStdString(path);
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // ---- one trainer per run folder ------------------------------------------------------------

  void lockedFolderIsRefusedAndLeftAlone() {
    const std::string run = dir("locked");
    {
      RunFolderLock held(run);
      TrainOptions o;
      o.run_dir = run;
      try {
        prisma::train::train(loadPreset("induction", shortRun(2)), o);
        QFAIL("trained in a folder another trainer holds");
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains("another training process"), e.what());
      }
      // The holder's pid is in the message of a second process too, and nothing was written.
      const Proc second = prisma({"train", "--preset", "induction", "--max-steps", "2", "--out",
                                  QString::fromStdString(run)});
      QCOMPARE(second.code, 1);
      QVERIFY2(second.err.contains("another training process (pid " + QString::number(::getpid()) + ")"),
               qPrintable(second.err));
      std::set<std::string> names;
      for (const auto& e : fs::directory_iterator(run)) names.insert(e.path().filename().string());
      QCOMPARE(names, (std::set<std::string>{RunFolderLock::kLockFile}));
    }
    // Released with its holder: the folder is usable.
    TrainOptions o;
    o.run_dir = run;
    QCOMPARE(prisma::train::train(loadPreset("induction", shortRun(2)), o).steps, int64_t(2));
  }

  // The case that once failed: both passed the "already holds a run" check, one died on rename,
  // leaving two event files and duplicate rows.
  void twoTrainersAtOnce() {
    const QString run = QString::fromStdString(dir("two"));
    QProcess first;
    first.start(QStringLiteral(PRISMA_CLI_PATH),
                {"train", "--preset", "induction", "--max-steps", "200", "--log-every", "50", "--out", run});
    QVERIFY(waitFor(first, [&] { return fs::exists(fs::path(run.toStdString()) / "preset.json"); }));
    QVERIFY2(first.state() != QProcess::NotRunning, "the first trainer ended before the second started");
    const Proc second = prisma({"train", "--preset", "induction", "--max-steps", "5", "--out", run});
    QCOMPARE(second.code, 1);
    QVERIFY2(second.err.contains("another training process"), qPrintable(second.err));
    QVERIFY(first.waitForFinished(kProcessTimeoutMs));
    QVERIFY2(first.exitCode() == 0, first.readAllStandardError().constData());
    const Logged l = logged(run.toStdString());  // one event file, each step once
    std::vector<int64_t> steps;
    for (const auto& [step, row] : l.rows) steps.push_back(step);
    QCOMPARE(steps, (std::vector<int64_t>{0, 50, 100, 150, 200}));
    QCOMPARE(listCheckpoints(run.toStdString()).back().step, int64_t(200));
  }

  // ---- killed before the first checkpoint --------------------------------------------------

  void killedBeforeFirstCheckpointStartsOver() {
    const QString preset = latePresetFile();
    const std::string run = dir("killed");
    QProcess p;
    p.start(QStringLiteral(PRISMA_CLI_PATH),
            {"train", "--preset", preset, "--max-steps", "400", "--out", QString::fromStdString(run)});
    const std::string csv = (fs::path(run) / RunLog::kCsvName).string();
    QVERIFY(waitFor(p, [&] { return lineCount(csv) >= 3; }));  // the header and two rows
    p.kill();                                                   // SIGKILL
    p.waitForFinished();
    QVERIFY(fs::exists(fs::path(run) / "preset.json"));
    QVERIFY2(listCheckpoints(run).empty(), "a checkpoint was written before the kill");
    const std::string copy = dir("killed-copy");
    fs::copy(run, copy, fs::copy_options::recursive);

    // Resumed: from step 0, as no checkpoint exists.
    const Proc resumed = prisma({"train", "--resume", QString::fromStdString(run), "--max-steps", "6"});
    QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
    QVERIFY2(resumed.err.contains("starts over from step 0"), qPrintable(resumed.err));
    // Started afresh in the same folder.
    const Proc fresh = prisma({"train", "--preset", preset, "--max-steps", "6", "--out", QString::fromStdString(copy)});
    QVERIFY2(fresh.code == 0, qPrintable(fresh.err));
    // And uninterrupted, elsewhere.
    const std::string clean = dir("never-killed");
    const Proc reference = prisma({"train", "--preset", preset, "--max-steps", "6", "--out", QString::fromStdString(clean)});
    QVERIFY2(reference.code == 0, qPrintable(reference.err));

    const auto want = prisma::stateDict(*io::loadModel(clean).model);
    const Logged ref = logged(clean);
    for (const std::string& d : {run, copy}) {
      const auto got = prisma::stateDict(*io::loadModel(d).model);
      for (const auto& [name, t] : want) QVERIFY2(torch::equal(t, got.at(name)), (d + ": " + name).c_str());
      const Logged l = logged(d);  // one event file, each step once: the stale logs are gone
      QCOMPARE(l.rows.size(), ref.rows.size());
      for (const auto& [step, row] : ref.rows) {
        QVERIFY(l.rows.count(step));
        QCOMPARE(l.rows.at(step).scalar("test_loss"), row.scalar("test_loss"));
        QCOMPARE(l.rows.at(step).grad_norm, row.grad_norm);
      }
      QCOMPARE(listCheckpoints(d).back().step, int64_t(6));
    }
  }

  // ---- logged values after a resume ---------------------------------------------------------

  void resumedLogsEqualUninterrupted() {
    const TrainConfig full = loadPreset("induction", shortRun(kSteps));
    const std::string runA = dir("logs-A");
    TrainOptions oa;
    oa.run_dir = runA;
    prisma::train::train(full, oa);

    // Stopped mid-interval (a checkpoint at the stop), or killed after the checkpoint at
    // kLastCheckpoint (the stop's checkpoint removed: what a SIGKILL at kStopAt leaves).
    for (const bool killed : {false, true}) {
      const std::string run = dir(killed ? "logs-killed" : "logs-stopped");
      TrainControl control;
      TrainOptions o;
      o.run_dir = run;
      o.control = &control;
      o.progress = [&](const TrainProgress& p) {
        if (p.phase == TrainPhase::Training && p.step >= kStopAt) control.requestStop();
      };
      QCOMPARE(prisma::train::train(full, o).steps, int64_t(kStopAt));
      if (killed) {
        for (const auto& ck : listCheckpoints(run))
          if (ck.step > kLastCheckpoint) fs::remove_all(ck.path);
        QCOMPARE(listCheckpoints(run).back().step, int64_t(kLastCheckpoint));
      }
      TrainOptions again;
      again.run_dir = run;
      again.resume = true;
      QCOMPARE(prisma::train::train(resumeConfig(run), again).steps, int64_t(kSteps));

      const Logged a = logged(runA), b = logged(run);
      int compared = 0;
      for (const auto& [step, rowA] : a.rows) {
        QVERIFY2(b.rows.count(step), qPrintable(QString("step %1 missing").arg(step)));
        const LogRow& rowB = b.rows.at(step);
        const QString where = QString("%1, step %2").arg(killed ? "killed" : "stopped").arg(step);
        QVERIFY2(rowB.grad_norm == rowA.grad_norm || (std::isnan(rowB.grad_norm) && std::isnan(rowA.grad_norm)),
                 qPrintable(where + QString(": grad_norm %1 vs %2").arg(rowB.grad_norm, 0, 'g', 17).arg(rowA.grad_norm, 0, 'g', 17)));
        QVERIFY2(rowB.batch_loss == rowA.batch_loss || (std::isnan(rowB.batch_loss) && std::isnan(rowA.batch_loss)),
                 qPrintable(where + ": train_batch_loss"));
        for (const char* tag : {"grad_norm", "train/batch_loss"}) {
          const auto key = std::pair<std::string, int64_t>{tag, step};
          QCOMPARE(b.events.count(key), a.events.count(key));
          if (a.events.count(key)) QVERIFY2(b.events.at(key) == a.events.at(key), qPrintable(where + ": event " + tag));
        }
        ++compared;
      }
      QCOMPARE(compared, kSteps / 20 + 1);
    }
  }

  // ---- non-finite loss ------------------------------------------------------------------------

  void nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() {
    const TrainConfig cfg = loadPreset("induction", {{"optimization.max_steps", 6},
                                                     {"optimization.lr", kHugeLr},
                                                     {"logging.log_every", 0},
                                                     {"logging.eval_batches", 1},
                                                     {"logging.checkpoint_every", 1}});
    const std::string run = dir("diverged");
    TrainOptions o;
    o.run_dir = run;
    QString message;
    try {
      prisma::train::train(cfg, o);
      QFAIL("a run with lr 1e30 finished");
    } catch (const Error& e) {
      message = e.what();
    }
    QVERIFY2(message.contains("non-finite") && message.contains("is kept"), qPrintable(message));
    const auto cks = listCheckpoints(run);
    QVERIFY(!cks.empty());
    QVERIFY2(message.contains(QString("update %1 ").arg(cks.back().step + 1)), qPrintable(message));
    QVERIFY2(message.contains(QString::fromStdString(cks.back().name)), qPrintable(message));
    QVERIFY(!fs::exists(fs::path(run) / "model.safetensors"));  // no NaN model saved
    for (const auto& n : io::loadModel(cks.back().path).notes)
      QVERIFY2(n.find("non-finite") == std::string::npos, n.c_str());

    // Skipping instead: the run ends, the skipped updates are counted, the weights finite.
    TrainOptions skip;
    skip.run_dir = dir("diverged-skip");
    skip.skip_nonfinite_steps = true;
    const TrainResult r = prisma::train::train(cfg, skip);
    QCOMPARE(r.steps, int64_t(6));
    QVERIFY(r.skipped_steps > 0);
    QCOMPARE(readTrainingState(listCheckpoints(skip.run_dir).back().path).skipped_steps, r.skipped_steps);
    QVERIFY(!io::describeNonFinite(prisma::stateDict(*r.model), "weights"));

    // The command line: exit 1 with the message; --skip-nonfinite finishes.
    const Proc cliStop = prisma({"train", "--preset", "induction", "--lr", "1e30", "--max-steps", "4", "--log-every", "0",
                                 "--out", QString::fromStdString(dir("diverged-cli"))});
    QCOMPARE(cliStop.code, 1);
    QVERIFY2(cliStop.err.contains("non-finite"), qPrintable(cliStop.err));
    const Proc cliSkip = prisma({"train", "--preset", "induction", "--lr", "1e30", "--max-steps", "4", "--log-every",
                                 "0", "--skip-nonfinite", "--out", QString::fromStdString(dir("diverged-cli-skip"))});
    QVERIFY2(cliSkip.code == 0, qPrintable(cliSkip.err));
    QVERIFY2(cliSkip.out.contains("skipped:"), qPrintable(cliSkip.out));
  }
};

PRISMA_TRAIN_TEST_MAIN(TestTrainSafety)
#include "tst_train_safety.moc"
