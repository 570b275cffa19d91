// The presets learn with ViT-Prisma's original recipes: its hyperparameters and its
// initialisation (BaseViT's, `vit_prisma_2023`). The headline: the Induction recipe with 2
// layers of attention + MLP, `prisma train --preset induction --set model.n_layers=2 --set
// model.attn_only=false --max-steps 1500`, reaches 0.99 test accuracy at its last
// evaluation in metrics.csv, as ViT-Prisma's own 2023 code does (0.99 by update 1,200).
// That is the `induction-2L` preset the explorer's Training tab opens on.
// Figures measured on this project's 2-core machine are in the comments; the bounds sit a
// few items below them (a different BLAS kernel or thread count changes the rounding,
// hence the trajectory, a little).

#include "RequireData.h"
#include "TrainTestMain.h"

#include "model/train/Presets.h"
#include "model/train/RunLog.h"
#include "model/train/Trainer.h"

#include "datasets/DatasetRegistry.h"

#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <filesystem>

using namespace prisma::train;

namespace {

// Induction, 2 layers, attention + MLP, no LayerNorm, 1,500 updates (~2 min here, load 3).
// Measured test accuracy on the whole test split (656 items) by update:
//   300: 0.492   600: 0.875   900: 0.928   1,200: 0.974   1,500: 0.991 (650 / 656)
// (3 layers: 0.899 at 300, 0.998 at 1,200.) With N(0, 0.02) weights instead -- what this
// project used before -- the same recipe stayed at 0.47 by update 1,200: without LayerNorm
// the initial scale of the weights sets the size of the signal, and at 0.02 the initial
// logits barely differ between images. The step decay and weight decay 0.01 are not what
// held it back.
constexpr int kInductionSteps = 1500;
constexpr double kInductionAccBound = 0.985;  // 646 / 656: 4 items below the measured 650
// MNIST, 4 layers, 300 updates (~1.5 min), pixels normalised as ViT-Prisma's MNIST script
// did (mean 0.5, std 0.5). Measured: test accuracy 0.318 on 2,560 test items (chance 0.10).
// BaseViT's He initialisation through 4 residual blocks without LayerNorm starts with large
// logits (test loss 150 before the first update) and lr 1e-4 takes a while to shrink them.
constexpr int kMnistSteps = 300;
constexpr double kMnistAccBound = 0.30;  // 768 / 2,560: 47 items below the measured 815

}  // namespace

class TestTrainLearning : public QObject {
  Q_OBJECT

private slots:
  void inductionTwoLayersReachTheOriginalFigure() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string run = tmp.filePath("run").toStdString();
    const auto t0 = std::chrono::steady_clock::now();
    // The Training tab's default preset, induction-2L, is exactly the command line in the
    // header comment: the GUI's default run is the one measured here.
    const TrainConfig cfg = loadPreset("induction-2L");
    const TrainConfig commandLine = loadPreset("induction", {{"model.n_layers", 2},
                                                             {"model.attn_only", false},
                                                             {"optimization.max_steps", kInductionSteps}});
    nlohmann::json preset = cfg, overridden = commandLine;
    for (const char* label : {"name", "description"}) {
      preset.erase(label);
      overridden.erase(label);
    }
    QCOMPARE(QString::fromStdString(preset.dump()), QString::fromStdString(overridden.dump()));
    TrainOptions o;
    o.run_dir = run;
    prisma::train::train(cfg, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto rows = readMetricsCsv((std::filesystem::path(run) / "metrics.csv").string());
    QVERIFY(!rows.empty());
    const LogRow& last = rows.back();
    const double acc = last.scalar("test_acc");
    qInfo("induction 2L, %d updates: test acc %.4f, %.1f s", kInductionSteps, acc, s);
    QCOMPARE(last.step, int64_t(kInductionSteps));
    // The preset evaluates 40 batches of 64: more than the whole test split.
    QVERIFY2(acc >= kInductionAccBound, qPrintable(QString::number(acc)));
  }

  void mnistLearns() {
    try {
      prisma::datasets::makeDataset("mnist");
    } catch (const std::exception& e) {
      PRISMA_SKIP_WITHOUT_DATA(QString("MNIST not available: ") + e.what());
    }
    const auto t0 = std::chrono::steady_clock::now();
    const TrainConfig cfg = loadPreset("mnist", {{"optimization.max_steps", kMnistSteps},
                                                 {"logging.log_every", 0},
                                                 {"logging.eval_batches", 40}});
    const TrainResult r = prisma::train::train(cfg, {});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const EvalMetrics test = classifierMetrics(r.final, Part::Test);
    qInfo("mnist, %d updates: test acc %.4f (%lld items), %.1f s", kMnistSteps, test.top1,
          static_cast<long long>(test.count), s);
    QVERIFY2(test.top1 > kMnistAccBound, qPrintable(QString::number(test.top1)));
  }
};

PRISMA_TRAIN_TEST_MAIN(TestTrainLearning)
#include "tst_train_learning.moc"
