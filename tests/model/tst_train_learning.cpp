// The presets learn, with ViT-Prisma's original hyperparameters unchanged (only the run is
// shortened): the induction preset (1 layer, attention-only, no LayerNorm) gets clearly
// better than chance, and the 4-layer mnist preset learns digits in a short run.
// Figures measured on this project's 2-core machine are in the comments; the assertions
// leave a wide margin below them (a different BLAS kernel or thread count changes the
// rounding, hence the trajectory, a little).

#include "RequireData.h"
#include "TrainTestMain.h"

#include "model/train/Presets.h"
#include "model/train/Trainer.h"

#include "datasets/DatasetRegistry.h"

#include <QtTest>

#include <chrono>

using namespace prisma::train;

namespace {

// Induction, 2000 updates (~30-50 s here). Measured: test accuracy 0.335 on the whole test
// split (656 items; chance 0.25, one standard error at chance 0.017), test loss 1.228
// (ln 4 = 1.386). The original schedule halves the learning rate every ~600 updates
// (γ 0.8 per 200), so the preset plateaus early: 0.32 at 500 updates, 0.335 at 2000 and
// 0.332 at 3000. (The architecture can do more: a constant lr of 2e-3 reaches 0.43 by
// 1500 updates; that is not the preset, so not what this test checks.)
constexpr int kInductionSteps = 2000;
constexpr double kInductionAccBound = 0.29;   // ≥ 2.4 standard errors above chance
constexpr double kInductionLossBound = 1.30;  // clearly below ln 4
// MNIST, 300 updates (~25 s). Measured: test accuracy 0.391 on 2560 test items (chance
// 0.10). The same hyperparameters in plain PyTorch (bench/train_loop_pytorch.py's model,
// real MNIST) gave 0.357 after 300 updates: the original lr 1e-4 without LayerNorm
// starts slowly (0.65 after 1200 updates).
constexpr int kMnistSteps = 300;
constexpr double kMnistAccBound = 0.25;

}  // namespace

class TestTrainLearning : public QObject {
  Q_OBJECT

private slots:
  void inductionBeatsChance() {
    const auto t0 = std::chrono::steady_clock::now();
    const TrainConfig cfg = loadPreset("induction", {{"optimization.max_steps", kInductionSteps},
                                                     {"logging.log_every", kInductionSteps / 4},
                                                     {"logging.eval_batches", 0}});
    const TrainResult r = prisma::train::train(cfg, {});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const EvalMetrics test = classifierMetrics(r.final, Part::Test), train = classifierMetrics(r.final, Part::Train);
    qInfo("induction, %d updates: test acc %.4f (%lld items), train acc %.4f, %.1f s", kInductionSteps,
          test.top1, static_cast<long long>(test.count), train.top1, s);
    QCOMPARE(test.count, int64_t(656));  // the whole test split
    QVERIFY2(test.top1 > kInductionAccBound, qPrintable(QString::number(test.top1)));
    QVERIFY2(test.loss < kInductionLossBound, qPrintable(QString::number(test.loss)));
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
