// Training runs end to end on the induction preset (short runs): exact resume (2K steps in
// one go == K + resume + K, and == stop at an odd step + resume), checkpoint crash safety,
// logs (event file CRCs verified and its scalars equal to metrics.csv, also by the
// independent ../shared/tools/tfevents.py), the run folder (model card, curves, loadable
// final model and checkpoints), fine-tuning, and the `prisma train` command line.

#include "TestUtil.h"
#include "TrainTestMain.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"
#include "model/train/Checkpoint.h"
#include "model/train/EventFile.h"
#include "model/train/Presets.h"
#include "model/train/RunLog.h"
#include "model/train/Trainer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace prisma;
using namespace prisma::train;
using prisma::test::fixture;
using prisma::test::readText;
namespace fs = std::filesystem;

namespace {

constexpr int kK = 60;          // resume point; 2K = 120 crosses the epoch boundary at 92
constexpr int kStopAt = 37;     // an odd step that is neither a log nor a checkpoint step
constexpr int kProcessTimeoutMs = 300000;
constexpr int kChildTimeoutS = 120;

// The induction preset, shortened: evaluation on 2 batches every 20 updates.
Overrides shortRun(int maxSteps) {
  return {{"optimization.max_steps", maxSteps},
          {"logging.log_every", 20},
          {"logging.eval_batches", 2},
          {"logging.checkpoint_every", 50}};
}

std::map<std::string, torch::Tensor> weights(const HookedViT& m) { return prisma::stateDict(*m); }

bool sameWeights(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b,
                 QString* why) {
  if (a.size() != b.size()) return *why = "different parameter sets", false;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) return *why = QString::fromStdString(name) + " missing", false;
    if (!torch::equal(t, it->second))
      return *why = QString("%1 differs by up to %2")
                        .arg(QString::fromStdString(name))
                        .arg((t - it->second).abs().max().item<double>()),
             false;
  }
  return true;
}

std::string eventFileIn(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) return e.path().string();
  return {};
}

}  // namespace

class TestTrainRun : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  std::string runA_;  // 2K steps in one go

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

  // A small checkpoint's ingredients (a 1-layer mouse and a fake optimizer state).
  struct Ingredients {
    io::LoadedModel model;
    std::map<std::string, torch::Tensor> optimizer;
    TrainingState state;
  };
  Ingredients ingredients(uint64_t seed, int64_t step) {
    Ingredients in;
    TrainConfig cfg = loadPreset("induction");
    in.model.model = HookedViT(cfg.model);
    in.model.model->init_weights(seed);
    in.model.format = "prisma";
    in.model.name = "crash-test";
    in.model.preprocess = cfg.preprocess();
    in.optimizer["cls_token.exp_avg"] = torch::full({1, 1, 128}, double(seed));
    in.state.step = step;
    in.state.samples = step * 64;
    in.state.steps_per_epoch = 92;
    in.state.preset = nlohmann::json(cfg);
    return in;
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // First, while this process has started no worker threads that a fork could not copy.
  // A crash between writing a checkpoint and renaming it into place — simulated by a
  // child process that dies (_Exit, no clean-up) right before the rename — leaves nothing
  // under the final name, an older checkpoint of that name intact, and only a hidden
  // leftover that listing ignores and the next run removes.
  void crashBeforeRenameNeverLeavesAHalfCheckpoint() {
    const std::string run = dir("crash");
    const std::string final = (fs::path(run) / kCheckpointsDir / checkpointName(5, 320)).string();
    const std::string partial = (fs::path(run) / kCheckpointsDir / ".partial-").string() + checkpointName(5, 320);

    auto crashWhileWriting = [&](uint64_t seed) {
      const Ingredients in = ingredients(seed, 5);
      const pid_t pid = ::fork();
      if (pid == 0) {
        CheckpointHooks hooks;
        hooks.beforeCommit = [](const std::string&) { std::_Exit(0); };  // dies: no unwinding, no clean-up
        try {
          writeCheckpoint(final, in.model, in.optimizer, in.state, hooks);
        } catch (...) {
          std::_Exit(2);
        }
        std::_Exit(3);  // the rename happened: the hook did not run
      }
      QVERIFY(pid > 0);
      int status = -1;
      for (int i = 0; i < kChildTimeoutS * 10; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child did not die at the commit point");
    };

    crashWhileWriting(1);
    QVERIFY(!fs::exists(final));
    QVERIFY(fs::exists(fs::path(partial) / "model.safetensors"));  // written, not committed
    QVERIFY(listCheckpoints(run).empty());

    // A good checkpoint under that name, then a crash while replacing it: the old one
    // survives whole.
    const Ingredients good = ingredients(7, 5);
    writeCheckpoint(final, good.model, good.optimizer, good.state);
    QVERIFY(!fs::exists(partial));
    crashWhileWriting(8);
    QCOMPARE(listCheckpoints(run).size(), size_t(1));
    const auto loaded = io::loadModel(final);
    QString why;
    QVERIFY2(sameWeights(weights(loaded.model), weights(good.model.model), &why), qPrintable(why));
    QCOMPARE(io::SafeTensorsFile((fs::path(final) / kOptimizerStateFile).string()).tensor("cls_token.exp_avg")[0][0][0].item<float>(), 7.0f);
    QCOMPARE(readTrainingState(final).step, int64_t(5));

    // An exception at the same point (a full disk, say) behaves the same.
    CheckpointHooks throwing;
    throwing.beforeCommit = [](const std::string&) { throw std::runtime_error("disk full"); };
    const Ingredients other = ingredients(9, 5);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, writeCheckpoint(final, other.model, other.optimizer, other.state, throwing));
    QVERIFY(sameWeights(weights(io::loadModel(final).model), weights(good.model.model), &why));

    removePartialCheckpoints(run);
    QVERIFY(!fs::exists(partial));
    QCOMPARE(listCheckpoints(run).size(), size_t(1));
  }

  // 2K updates in one go, K + resume + K, and a stop at an odd step + resume: identical
  // weights, optimizer state and evaluations.
  void resumeIsBitIdentical() {
    const TrainConfig full = loadPreset("induction", shortRun(2 * kK));
    runA_ = dir("runA");
    TrainOptions oa;
    oa.run_dir = runA_;
    const TrainResult a = prisma::train::train(full, oa);
    QCOMPARE(a.steps, int64_t(2 * kK));
    QCOMPARE(a.stop_reason, std::string("max_steps"));

    const std::string runB = dir("runB");
    TrainOptions ob;
    ob.run_dir = runB;
    const TrainResult b1 = prisma::train::train(loadPreset("induction", shortRun(kK)), ob);
    QCOMPARE(b1.steps, int64_t(kK));
    ob.resume = true;
    const TrainResult b = prisma::train::train(resumeConfig(runB, {{"optimization.max_steps", 2 * kK}}), ob);
    QCOMPARE(b.steps, int64_t(2 * kK));

    const std::string runC = dir("runC");
    TrainControl control;
    TrainOptions oc;
    oc.run_dir = runC;
    oc.control = &control;
    oc.progress = [&](const TrainProgress& p) {
      if (p.phase == TrainPhase::Training && p.step >= kStopAt) control.requestStop();
    };
    const TrainResult c1 = prisma::train::train(full, oc);
    QCOMPARE(c1.steps, int64_t(kStopAt));
    QCOMPARE(c1.stop_reason, std::string("stopped"));
    TrainOptions oc2;
    oc2.run_dir = runC;
    oc2.resume = true;
    const TrainResult c = prisma::train::train(resumeConfig(runC), oc2);
    QCOMPARE(c.steps, int64_t(2 * kK));

    QString why;
    QVERIFY2(sameWeights(weights(a.model), weights(b.model), &why), qPrintable("K + resume + K: " + why));
    QVERIFY2(sameWeights(weights(a.model), weights(c.model), &why), qPrintable("stop + resume: " + why));
    // The saved final models and optimizer states agree too.
    const auto last = [](const std::string& run) { return listCheckpoints(run).back().path; };
    QVERIFY(sameWeights(weights(io::loadModel(runA_).model), weights(io::loadModel(runB).model), &why));
    io::SafeTensorsFile optA((fs::path(last(runA_)) / kOptimizerStateFile).string());
    io::SafeTensorsFile optB((fs::path(last(runB)) / kOptimizerStateFile).string());
    QCOMPARE(optA.names(), optB.names());
    for (const auto& n : optA.names()) QVERIFY2(torch::equal(optA.tensor(n), optB.tensor(n)), n.c_str());
    QCOMPARE(readTrainingState(last(runA_)).samples, readTrainingState(last(runB)).samples);

    // Evaluations at the same steps are equal, and the resumed logs hold each step once.
    std::map<int64_t, LogRow> rowsA;
    for (const auto& r : readMetricsCsv((fs::path(runA_) / RunLog::kCsvName).string())) rowsA[r.step] = r;
    const auto rowsB = readMetricsCsv((fs::path(runB) / RunLog::kCsvName).string());
    std::set<int64_t> stepsB;
    for (const auto& r : rowsB) {
      QVERIFY2(stepsB.insert(r.step).second, "a step logged twice after resuming");
      if (!rowsA.count(r.step)) continue;
      QCOMPARE(r.scalar("test_loss"), rowsA[r.step].scalar("test_loss"));
      QCOMPARE(r.scalar("train_acc"), rowsA[r.step].scalar("train_acc"));
      QCOMPARE(r.lr, rowsA[r.step].lr);
    }
    QVERIFY(stepsB.count(kK));  // the extra evaluation where the first session ended
    QCOMPARE(rowsA.rbegin()->second.scalar("test_loss"), rowsB.back().scalar("test_loss"));
  }

  // The event file parses back with every CRC verified; its scalars equal metrics.csv
  // (float32 of the CSV's doubles); tfevents.py, an independent reader, agrees.
  void eventFileMatchesMetricsCsv() {
    QVERIFY(!runA_.empty());
    const std::string events = eventFileIn(runA_);
    QVERIFY(!events.empty());
    const auto records = readEventFile(events);
    QCOMPARE(records.front().file_version, std::string("brain.Event:2"));
    std::map<std::pair<std::string, int64_t>, float> scalars;
    for (const auto& r : records)
      for (const auto& s : r.scalars) QVERIFY(scalars.emplace(std::pair{s.tag, r.step}, s.value).second);
    std::vector<std::string> columns;
    const auto rows = readMetricsCsv((fs::path(runA_) / RunLog::kCsvName).string(), &columns);
    QCOMPARE(rows.size(), size_t(2 * kK / 20 + 1));  // steps 0, 20, ..., 120
    // The classifier's columns, in the order metrics.csv has always had them.
    QCOMPARE(columns, (std::vector<std::string>{"train_loss", "train_acc", "train_top5", "test_loss", "test_acc",
                                                "test_top5"}));
    std::vector<ScalarColumn> all = loopColumns();
    for (const auto& c : columns) all.push_back({c, c.substr(0, c.find('_')) + "/" + c.substr(c.find('_') + 1)});
    size_t compared = 0;
    for (const auto& row : rows)
      for (size_t i = 0; i < all.size(); ++i) {
        const ScalarColumn& col = all[i];
        const double v = i < loopColumns().size() ? loopValue(row, i) : row.scalar(col.column);
        auto it = scalars.find({col.tag, row.step});
        if (std::isnan(v)) {
          QVERIFY2(it == scalars.end(), col.tag.c_str());
          continue;
        }
        QVERIFY2(it != scalars.end(),
                 qPrintable(QString("%1 @ %2 missing").arg(QString::fromStdString(col.tag)).arg(row.step)));
        QCOMPARE(it->second, static_cast<float>(v));
        ++compared;
      }
    QCOMPARE(compared, scalars.size());
    for (const char* tag : {"train/loss", "train/acc", "test/loss", "test/acc", "test/top5", "lr", "grad_norm"})
      QVERIFY2(scalars.count({tag, 2 * kK}), tag);

    if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("python3 not installed");
    QProcess py;
    py.start("python3", {QStringLiteral(PRISMA_SHARED_TOOLS_DIR "/tfevents.py"), QString::fromStdString(events)});
    QVERIFY(py.waitForFinished(kProcessTimeoutMs));
    const QString out = QString::fromUtf8(py.readAllStandardOutput() + py.readAllStandardError());
    QVERIFY2(py.exitCode() == 0, qPrintable(out));
    QVERIFY2(out.contains("CRCs ok") && out.contains("test/acc(7)") && out.contains("grad_norm(6)"), qPrintable(out));
  }

  void runFolderHoldsModelCardCurvesAndCheckpoints() {
    QVERIFY(!runA_.empty());
    // The final model loads with the project's loader and is the trained one.
    const auto loaded = io::loadModel(runA_);
    QCOMPARE(loaded.model->cfg().n_classes, 4);
    QCOMPARE(loaded.model->cfg().class_names.size(), size_t(4));
    // preset.json reads back as a preset.
    const TrainConfig saved = loadPreset((fs::path(runA_) / "preset.json").string());
    QCOMPARE(saved.optimization.max_steps, int64_t(2 * kK));

    // Checkpoints: log-spaced, every 50, and the final one, named by step and samples.
    std::vector<int64_t> steps;
    for (const auto& ck : listCheckpoints(runA_)) {
      steps.push_back(ck.step);
      const int64_t expectSamples = ck.step <= 91 ? ck.step * 64 : 5872 + (ck.step - 92) * 64;
      QCOMPARE(ck.samples, expectSamples);
      QCOMPARE(ck.name, checkpointName(ck.step, ck.samples));
      QVERIFY(fs::exists(fs::path(ck.path) / "config.json"));
      QVERIFY(fs::exists(fs::path(ck.path) / kOptimizerStateFile));
    }
    QCOMPARE(steps, (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 50, 64, 100, 120}));
    QCOMPARE(listCheckpoints(runA_).front().name, std::string("step_00000001-samples_64"));
    const auto ck = io::loadModel(listCheckpoints(runA_)[3].path);  // any checkpoint loads
    QCOMPARE(ck.model->cfg().d_model, 128);

    const std::string card = readText((fs::path(runA_) / "README.md").string());
    QVERIFY2(card.rfind("---\nlibrary_name: prisma-explorer\n", 0) == 0, card.substr(0, 200).c_str());
    for (const char* needle : {"\ntags:\n", "\ndatasets:\n- induction\n", "\nmetrics:\n- accuracy", "model-index:",
                               "data seed **0**", "AdamW", "WarmupThenStepLR", "BLAS:", "CPU:", "Wall time",
                               "step_00000120-samples_7664", "curves.png", "| test |"})
      QVERIFY2(card.find(needle) != std::string::npos, needle);
    const std::string png = readText((fs::path(runA_) / "curves.png").string());
    QVERIFY(png.size() > 2000);
    QCOMPARE(QByteArray::fromStdString(png.substr(1, 3)), QByteArray("PNG"));

    // A folder that holds a run is not silently overwritten.
    TrainOptions again;
    again.run_dir = runA_;
    QVERIFY_THROWS_EXCEPTION(Error, prisma::train::train(loadPreset("induction", shortRun(2)), again));
    // A resume may not change what the run is.
    QVERIFY_THROWS_EXCEPTION(Error, resumeConfig(runA_, {{"model.n_layers", 2}}));
    QVERIFY_THROWS_EXCEPTION(Error, resumeConfig(runA_, {{"optimization.batch_size", 32}}));
  }

  // Fine-tuning: from our own run (backbone frozen: only the head moves) and from a
  // Hugging Face ViT fixture (RGB, 10 classes) with a new 4-class head.
  void fineTuning() {
    QVERIFY(!runA_.empty());
    TrainConfig cfg = loadPreset("induction", {{"optimization.max_steps", 8},
                                               {"logging.log_every", 4},
                                               {"logging.eval_batches", 1},
                                               {"finetune.from", runA_},
                                               {"finetune.new_head", 4},
                                               {"finetune.freeze_backbone", true}});
    const auto base = weights(io::loadModel(runA_).model);
    const TrainResult r = prisma::train::train(cfg, {});
    const auto tuned = weights(r.model);
    for (const auto& [name, t] : base) {
      if (name.rfind("head.", 0) == 0) QVERIFY2(!torch::equal(t, tuned.at(name)), name.c_str());
      else QVERIFY2(torch::equal(t, tuned.at(name)), name.c_str());
    }

    TrainConfig hf = loadPreset("induction", {{"optimization.max_steps", 3},
                                              {"logging.log_every", 0},
                                              {"logging.eval_batches", 1},
                                              {"finetune.from", fixture("hf_vit_classifier")},
                                              {"finetune.new_head", 4}});
    const std::string run = dir("finetune-hf");
    TrainOptions o;
    o.run_dir = run;
    const TrainResult h = prisma::train::train(hf, o);
    QCOMPARE(h.model->cfg().n_channels, 3);
    QCOMPARE(h.model->cfg().n_classes, 4);
    QCOMPARE(h.config.dataset.mean.size(), size_t(3));  // the model's own preprocessing
    QCOMPARE(io::loadModel(run).model->cfg().n_classes, 4);
    // Without a new head, a class-count mismatch is an error that says what to do.
    hf.finetune.new_head = 0;
    try {
      prisma::train::train(hf, {});
      QFAIL("10-class model trained on 4 classes");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("new head"), e.what());
    }
  }

  // Early stopping: patience counted in evaluations, on test accuracy or (the original's
  // mode) train accuracy. An impossible min_delta makes the second evaluation stop it.
  void earlyStoppingAndPause() {
    for (const char* metric : {"test_acc", "train_acc"}) {
      const TrainConfig cfg = loadPreset("induction", {{"optimization.max_steps", 100},
                                                       {"optimization.early_stopping.metric", metric},
                                                       {"optimization.early_stopping.patience", 1},
                                                       {"optimization.early_stopping.min_delta", 1.0},
                                                       {"logging.log_every", 5},
                                                       {"logging.eval_batches", 1}});
      const TrainResult r = prisma::train::train(cfg, {});
      QCOMPARE(r.stop_reason, std::string("early_stopping"));
      QCOMPARE(r.steps, int64_t(10));
    }

    // every = epoch (ViT-Prisma's rule): evaluations only record the value; the patience ticks
    // at each epoch's end, so the same impossible min_delta stops it at the end of epoch 2.
    const TrainConfig perEpoch = loadPreset("induction", {{"optimization.epochs", 3},
                                                          {"optimization.batch_size", 256},
                                                          {"optimization.early_stopping.metric", "train_acc"},
                                                          {"optimization.early_stopping.patience", 1},
                                                          {"optimization.early_stopping.min_delta", 1.0},
                                                          {"optimization.early_stopping.every", "epoch"},
                                                          {"logging.log_every", 1},
                                                          {"logging.eval_batches", 1}});
    int64_t total = 0;
    TrainOptions counting;
    counting.progress = [&](const TrainProgress& p) { total = p.total_steps; };
    const TrainResult byEpoch = prisma::train::train(perEpoch, counting);
    QVERIFY(total > 3 && total % 3 == 0);
    QCOMPARE(byEpoch.stop_reason, std::string("early_stopping"));
    QCOMPARE(byEpoch.steps, 2 * total / 3);

    // A GUI pauses and resumes from another thread; the loop reports Paused meanwhile.
    TrainControl control;
    TrainOptions o;
    o.control = &control;
    int paused = 0;
    std::thread unpauser;
    o.progress = [&](const TrainProgress& p) {
      if (p.phase == TrainPhase::Training && p.step == 3 && !unpauser.joinable()) {
        control.setPaused(true);
        unpauser = std::thread([&control] {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          control.setPaused(false);
        });
      }
      if (p.phase == TrainPhase::Paused) ++paused;
    };
    const TrainResult r = prisma::train::train(loadPreset("induction", {{"optimization.max_steps", 6},
                                                                       {"logging.log_every", 0},
                                                                       {"logging.eval_batches", 1}}),
                                               o);
    unpauser.join();
    QCOMPARE(r.steps, int64_t(6));
    QVERIFY(paused > 0);
  }

  void commandLine() {
    const QString run = QString::fromStdString(dir("cli-run"));
    auto r = prisma({"train", "--preset", "induction", "--max-steps", "12", "--log-every", "6", "--out", run});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("test:") && r.out.contains("max_steps"), qPrintable(r.out));
    QVERIFY2(r.err.contains("ETA"), qPrintable(r.err));
    auto info = prisma({"info", run});
    QVERIFY2(info.code == 0 && info.out.contains("d_model 128"), qPrintable(info.out + info.err));
    auto more = prisma({"train", "--resume", run, "--max-steps", "16"});
    QVERIFY2(more.code == 0, qPrintable(more.err));
    QCOMPARE(listCheckpoints(run.toStdString()).back().step, int64_t(16));

    // 0 passes the command line's number check; the preset's validation refuses it.
    auto badLr = prisma({"train", "--preset", "induction", "--lr", "0", "--out", run + "-x"});
    QCOMPARE(badLr.code, 1);
    QVERIFY2(badLr.err.contains("optimization.lr"), qPrintable(badLr.err));
    auto badOption = prisma({"train", "--preset", "induction", "--bogus"});
    QCOMPARE(badOption.code, 2);
    auto noPreset = prisma({"train"});
    QCOMPARE(noPreset.code, 2);
    QVERIFY2(noPreset.err.contains("induction"), qPrintable(noPreset.err));  // lists the presets
    auto changeModel = prisma({"train", "--resume", run, "--layers", "2"});
    QCOMPARE(changeModel.code, 1);
    QVERIFY2(changeModel.err.contains("model"), qPrintable(changeModel.err));
    // A checkpoint that keeps weights only (a shipped mouse's series) cannot resume: the error
    // names the missing file and points at --from.
    const std::string latest = listCheckpoints(run.toStdString()).back().path;
    QVERIFY(fs::remove(fs::path(latest) / "optimizer.safetensors"));
    auto weightsOnly = prisma({"train", "--resume", run, "--max-steps", "20"});
    QCOMPARE(weightsOnly.code, 1);
    QVERIFY2(weightsOnly.err.contains("optimizer.safetensors") && weightsOnly.err.contains("--from"),
             qPrintable(weightsOnly.err));
  }
};

PRISMA_TRAIN_TEST_MAIN(TestTrainRun)
#include "tst_train_run.moc"
