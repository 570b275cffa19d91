// Training and evaluating SAEs (model/sae/SaeObjective, SaeTraining, SaeEvaluation) on the
// bundled induction mouse: the geometric median, the decoder-gradient projection, a short
// run on the generic loop that learns (explained variance rises) and logs the SAE's
// columns, resume, `prisma sae train|eval`.

#include "CliProcess.h"
#include "TestUtil.h"

#include "model/io/ModelLoader.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeEvaluation.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeObjective.h"
#include "model/sae/SaeTraining.h"
#include "model/train/RunLog.h"

#include "datasets/DatasetRegistry.h"
#include "datasets/Random.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

namespace sae = prisma::sae;
namespace fs = std::filesystem;

namespace {
constexpr const char* kMouse = "mouse:induction-2L";
constexpr const char* kHook = "blocks.0.hook_resid_post";
// A projected gradient keeps at most float rounding along each unit decoder row.
constexpr double kOrthogonalTolerance = 1e-5;
// Weiszfeld on {0, 1, 5} approaches the median 1 (the floor on distances stops it just short).
constexpr double kMedianTolerance = 1e-3;

std::string firstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}
}  // namespace

class TestSaeTrain : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  std::string tmp(const std::string& name) const { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

  static sae::SaeTrainConfig smallRun(int64_t steps) {
    sae::SaeTrainConfig c = sae::SaeTrainConfig::defaults();
    c.model = kMouse;
    c.dataset = "induction";
    c.settings.sae.hook_name = kHook;
    c.settings.sae.d_in = 128;
    c.settings.sae.d_sae = 512;
    c.settings.sae.l1_coefficient = 1e-5;  // the batch-normalised MSE is ~1e-3 on this mouse
    c.optimization.lr = 4e-3;
    c.optimization.batch_size = 16;
    c.optimization.max_steps = steps;
    c.optimization.epochs = 0;
    c.optimization.schedule.warmup_steps = 5;
    c.logging.log_every = 20;
    c.logging.eval_batches = 2;
    return c;
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void geometricMedianOfALine() {
    const torch::Tensor pts = torch::tensor({0.0f, 1.0f, 5.0f}).unsqueeze(1);  // [3, 1]
    const double m = sae::geometricMedian(pts).item<double>();
    QVERIFY2(std::abs(m - 1.0) < kMedianTolerance, qPrintable(QString::number(m)));
    // Symmetric points: their centre.
    const torch::Tensor sq = torch::tensor({{1.0f, 1.0f}, {-1.0f, 1.0f}, {1.0f, -1.0f}, {-1.0f, -1.0f}});
    QVERIFY(sae::geometricMedian(sq).abs().max().item<double>() < kMedianTolerance);
  }

  void decoderGradientIsOrthogonalToRows() {
    auto m = prisma::io::loadModel(kMouse);
    sae::SaeTrainSettings s;
    s.sae = smallRun(1).settings.sae;
    sae::SparseAutoencoder model(s.sae);
    sae::initializeSae(*model, 7);
    sae::SaeObjective objective(m.model, model, s);
    auto ds = prisma::datasets::makeDataset("induction");
    prisma::train::TrainingDataOptions o;
    o.n_classes = int(ds->classNames().size());
    prisma::train::TrainingData data(std::move(ds), m.preprocess, o);
    const auto batch = data.fetch(prisma::train::Part::Train, {0, 1, 2, 3});
    objective.prime(batch.inputs, 4, false);
    auto step = objective.step(batch);
    step.loss.backward();
    const torch::Tensor g = model->W_dec.grad();
    QVERIFY(g.defined() && g.abs().max().item<double>() > 0);
    const double along = (g * model->W_dec.detach()).sum(1).abs().max().item<double>();
    QVERIFY2(along < kOrthogonalTolerance * g.abs().max().item<double>() * 128, qPrintable(QString::number(along)));
    QCOMPARE(int(step.scalars.size()), 4);
  }

  // 60 updates on the induction mouse: the SAE learns, the loop logs the SAE's columns,
  // the run folder is an SAE, and resuming continues it.
  void trainsOnTheLoopAndResumes() {
    const std::string dir = tmp("run");
    prisma::train::TrainOptions options;
    options.run_dir = dir;
    const sae::SaeTrainResult r = sae::trainSae(smallRun(40), options);
    QCOMPARE(r.loop.state.step, int64_t(40));
    QVERIFY(r.rows_per_s > 0);
    const std::string header = firstLine(dir + "/metrics.csv");
    for (const char* column : {"train_batch_mse", "train_batch_l0", "train_batch_dead_fraction", "test_mse",
                               "test_explained_variance", "test_dead_fraction", "test_dense_fraction"})
      QVERIFY2(header.find(column) != std::string::npos, qPrintable(QString::fromStdString(header)));
    const auto& rows = r.loop.rows;
    QVERIFY(rows.size() >= 2);
    const double ev0 = rows.front().scalar("test_explained_variance");
    const double ev1 = rows.back().scalar("test_explained_variance");
    QVERIFY2(ev1 > ev0 && ev1 > 0.5, qPrintable(QStringLiteral("explained variance %1 -> %2").arg(ev0).arg(ev1)));

    const sae::LoadedSae saved = sae::loadSae(dir);
    QCOMPARE(QString::fromStdString(saved.sae->cfg().hook_name), QString(kHook));
    QCOMPARE(saved.training.value("steps", 0), 40);

    prisma::train::TrainOptions more;
    more.run_dir = dir;
    more.resume = true;
    sae::SaeTrainConfig c = sae::readSaeRunConfig(dir);
    c.optimization.max_steps = 60;
    const sae::SaeTrainResult again = sae::trainSae(c, more);
    QCOMPARE(again.loop.state.step, int64_t(60));
    QCOMPARE(sae::loadSae(dir).training.value("steps", 0), 60);

    // Evaluation: splicing the trained SAE keeps more of the model than deleting the hook.
    auto m = prisma::io::loadModel(kMouse);
    auto ds = prisma::datasets::makeDataset("induction");
    prisma::train::TrainingDataOptions o;
    o.n_classes = int(ds->classNames().size());
    prisma::train::TrainingData data(std::move(ds), m.preprocess, o);
    sae::SaeEvalOptions eo;
    eo.limit = 64;
    const sae::SaeEvalResult e = sae::evaluateSae(*m.model, again.sae, data, eo);
    QCOMPARE(e.images, int64_t(64));
    QVERIFY(e.ce_sae < e.ce_zero);
    QVERIFY(e.loss_recovered > 0.0 && e.loss_recovered <= 1.5);
    QVERIFY(e.l0 > 0 && e.l0 < 512);
  }

  void cliTrainAndEval() {
    const QString dir = tmp_.filePath("cli-run");
    static constexpr prisma::test::CliOptions kQuickStart{240'000, true};
    auto r = prisma::test::runPrisma({"sae", "train", "--model", kMouse, "--dataset", "induction", "--hook", kHook,
                                      "--out", dir, "--expansion", "2", "--activation", "topk", "--k", "8",
                                      "--max-steps", "15", "--batch", "8", "--log-every", "0", "--eval-batches", "1",
                                      "--warmup", "2"},
                                     kQuickStart);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("activations/s"), qPrintable(r.out));
    const sae::LoadedSae s = sae::loadSae(dir.toStdString());
    QVERIFY(s.sae->cfg().activation == sae::Activation::TopK);
    QCOMPARE(s.sae->cfg().k, int64_t(8));
    auto e = prisma::test::runPrisma({"sae", "eval", dir, "--dataset", "induction", "--limit", "32"}, kQuickStart);
    QVERIFY2(e.code == 0, qPrintable(e.err));
    QVERIFY2(e.out.contains("loss recovered") && e.out.contains("L0 "), qPrintable(e.out));

    // The feature database: each feature's best image, recomputed by the engine, gives the
    // stored activation; its token activations hold that maximum; `sae top` reads it.
    const QString db_dir = tmp_.filePath("features");
    auto f = prisma::test::runPrisma({"sae", "features", dir, "--dataset", "induction", "--limit", "48", "--top-k", "4",
                                      "--out", db_dir, "--batch", "16"},
                                     kQuickStart);
    QVERIFY2(f.code == 0, qPrintable(f.err));
    const sae::FeatureDatabase db = sae::loadFeatureDatabase(db_dir.toStdString());
    // It records what reopens the same images: the split's seed and the dataset's folder.
    QVERIFY(db.meta.contains("seed"));
    QCOMPARE(db.meta["seed"].get<uint64_t>(), uint64_t(prisma::datasets::kDefaultSeed));
    QVERIFY(db.meta.contains("dataset_path") && db.meta["dataset_path"].get<std::string>().empty());
    QCOMPARE(db.images, int64_t(48));
    QCOMPARE(db.top_values.size(1), int64_t(4));
    auto m = prisma::io::loadModel(kMouse);
    auto ds = prisma::datasets::makeDataset("induction");
    prisma::train::TrainingDataOptions o;
    o.n_classes = int(ds->classNames().size());
    prisma::train::TrainingData data(std::move(ds), m.preprocess, o);
    torch::NoGradGuard no_grad;
    const auto best = db.top_values.select(1, 0).argmax().item<int64_t>();  // the strongest feature
    const int64_t position = db.top_images[best][0].item<int64_t>();
    const auto images = data.fetch(prisma::train::Part::Test, {position}).inputs;
    auto run = m.model->run_with_cache(images, prisma::filters::exact({kHook}));
    const torch::Tensor acts = s.sae->encode(run.cache[kHook].reshape({-1, 128}));  // [tokens, d_sae]
    QVERIFY(prisma::test::relL2(acts.select(1, best), db.top_token_acts[best][0]) <= 1e-5);
    QVERIFY(std::abs(acts.select(1, best).max().item<double>() - db.top_values[best][0].item<double>()) <= 1e-5);
    QVERIFY((db.top_values.slice(1, 0, 3) >= db.top_values.slice(1, 1, 4)).all().item<bool>());
    QVERIFY(db.histogram.sum().item<int64_t>() <= (db.density.to(torch::kFloat64) * double(db.rows)).sum().item<double>() + 0.5);
    auto top = prisma::test::runPrisma({"sae", "top", db_dir, "--feature", QString::number(best)}, kQuickStart);
    QVERIFY2(top.code == 0 && top.out.contains("top classes"), qPrintable(top.err + top.out));

    auto bad = prisma::test::runPrisma({"sae", "train", "--model", kMouse, "--dataset", "induction", "--hook",
                                        "blocks.9.nothing", "--out", tmp_.filePath("bad")},
                                       kQuickStart);
    QCOMPARE(bad.code, 2);
    QVERIFY(bad.err.contains("blocks.9.nothing"));
  }
};

QTEST_GUILESS_MAIN(TestSaeTrain)
#include "tst_sae_train.moc"
