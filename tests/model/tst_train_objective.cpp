// The training loop with an objective that is not a classifier: a linear regression on a
// tiny in-memory dataset (four pixels in, their sum out), written here in a few dozen lines
// the way a sparse-autoencoder trainer would write its own. It must learn, log its own
// named scalars into metrics.csv and the event file (a per-update mean, two evaluation
// statistics per part), save its model in checkpoints, and resume exactly: 2K updates in
// one go and K + resume + K give the same weights bit for bit.

#include "TrainTestMain.h"

#include "datasets/Dataset.h"
#include "model/io/SafeTensors.h"
#include "model/train/EventFile.h"
#include "model/train/Objective.h"
#include "model/train/RunFolderWriter.h"
#include "model/train/RunLog.h"
#include "model/train/TrainingLoop.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

using namespace prisma;
using namespace prisma::train;
namespace fs = std::filesystem;

namespace {

constexpr int kSide = 2;                  // images are kSide × kSide, one channel
constexpr int kPixels = kSide * kSide;
constexpr size_t kTrainItems = 48;
constexpr size_t kTestItems = 16;
constexpr int kBatch = 8;
constexpr int64_t kK = 30;                // resume point; 2K updates in all
constexpr int64_t kLogEvery = 10;
constexpr double kLr = 0.05;
constexpr double kInitStd = 0.1;
constexpr uint64_t kSeed = 7;
constexpr double kLearnedFactor = 0.1;    // the final test MSE is below this share of the first
constexpr double kSumTolerance = 1e-6;    // float32 batch sums against one float64 pass
constexpr const char* kWeightsFile = "toy.safetensors";

// Item i's pixels: a fixed pattern covering 0..255, so targets (pixel sums) spread.
class ToyDataset : public datasets::Dataset {
public:
  std::string name() const override { return "toy"; }
  size_t size(datasets::Split split) const override {
    return split == datasets::Split::Train ? kTrainItems : kTestItems;
  }
  std::vector<std::string> classNames() const override { return {"any"}; }
  datasets::ImageShape imageShape() const override { return {kSide, kSide, 1}; }
  datasets::Item item(datasets::Split split, size_t index) const override {
    datasets::checkIndex(*this, split, index);
    datasets::Item it;
    it.height = it.width = kSide;
    it.channels = 1;
    it.label = 0;
    const size_t offset = split == datasets::Split::Train ? 0 : kTrainItems;
    for (int k = 0; k < kPixels; ++k) it.pixels.push_back(static_cast<uint8_t>(((index + offset) * 37 + k * 91) % 256));
    return it;
  }
};

// y = w·x + b over the four pixels, trained towards their sum with the mean squared error.
class ToyRegression : public Objective {
public:
  ToyRegression() : linear_(torch::nn::LinearOptions(kPixels, 1)) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(kSeed);
    linear_->weight.normal_(0.0, kInitStd, gen);
    linear_->bias.zero_();
    params_ = {{"weight", linear_->weight}, {"bias", linear_->bias}};
  }

  std::vector<std::string> stepScalarNames() const override { return {"abs_err"}; }
  std::vector<std::string> evaluationScalarNames() const override { return {"mse", "mae"}; }
  const NamedParameters& trainedParameters() const override { return params_; }
  std::vector<torch::Tensor> replicatedState() const override { return {linear_->weight, linear_->bias}; }

  Step step(const BatchTensors& batch) override {
    const torch::Tensor err = error(batch.inputs);  // [N]
    return {err.pow(2).mean(), {err.abs().mean().item<double>()}};
  }
  void setEvaluating(bool) override {}
  size_t evaluationSumCount() const override { return 2; }
  std::vector<double> evaluationSums(const BatchTensors& batch) override {
    const torch::Tensor err = error(batch.inputs);
    return {err.pow(2).sum().item<double>(), err.abs().sum().item<double>()};
  }
  std::vector<double> evaluationScalars(const std::vector<double>& sums, int64_t items) const override {
    if (items == 0) return {LogRow::kMissing, LogRow::kMissing};
    return {sums[0] / double(items), sums[1] / double(items)};
  }
  void saveModel(const std::string& dir, const std::string& name) const override {
    fs::create_directories(dir);
    io::writeSafeTensors((fs::path(dir) / kWeightsFile).string(),
                         {{"weight", linear_->weight.detach()}, {"bias", linear_->bias.detach()}}, {{"name", name}});
  }

  void load(const std::string& dir) {
    io::SafeTensorsFile f((fs::path(dir) / kWeightsFile).string());
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : params_) t.copy_(f.tensor(name));
  }
  torch::Tensor error(const torch::Tensor& inputs) {
    const torch::Tensor x = inputs.flatten(1);  // [N, 4]
    return linear_->forward(x).squeeze(1) - x.sum(1);
  }
  const torch::nn::Linear& linear() const { return linear_; }

private:
  torch::nn::Linear linear_;
  NamedParameters params_;
};

struct ToyRun {
  LoopResult result;
  torch::Tensor weight, bias;
  double independentTestMse = 0.0;  // of the final weights, in float64 over the whole test part
};

// A toy trainer: what Trainer.cpp does for classifiers, in a dozen lines.
ToyRun trainToy(const std::string& runDir, int64_t steps, bool resume) {
  TrainOptions options;
  options.run_dir = runDir;
  options.resume = resume;
  const auto latest = openRunFolder(runDir, resume, true);
  datasets::Preprocess pre;
  pre.height = pre.width = kSide;
  pre.channels = 1;
  pre.mean = {0.0f};
  pre.std = {1.0f};
  TrainingDataOptions dopt;
  dopt.n_classes = 1;
  TrainingData data(std::make_shared<ToyDataset>(), pre, dopt);
  ToyRegression objective;
  if (latest) objective.load(latest->path);

  LoopSetup setup;
  setup.optimization.lr = kLr;
  setup.optimization.batch_size = kBatch;
  setup.optimization.epochs = 0;
  setup.optimization.max_steps = steps;
  setup.optimization.weight_decay = 0.0;
  setup.optimization.schedule.type = ScheduleType::Constant;
  setup.optimization.schedule.warmup_steps = 0;
  setup.optimization.early_stopping.metric = EarlyStopMetric::None;
  setup.logging.log_every = kLogEvery;
  setup.logging.eval_batches = 0;  // whole parts
  setup.logging.checkpoint_every = kK;
  setup.logging.log_spaced_checkpoints = false;
  setup.total_steps = steps;
  setup.preset = {{"toy", true}, {"max_steps", steps}};
  setup.run_name = "toy";
  setup.resume_from = latest;
  TrainingLoop loop(objective, data, setup, options);
  ToyRun run;
  run.result = loop.run();
  loop.finish(run.result);
  run.weight = objective.linear()->weight.detach().clone();
  run.bias = objective.linear()->bias.detach().clone();
  torch::NoGradGuard no_grad;
  std::vector<int64_t> all(kTestItems);
  for (size_t i = 0; i < kTestItems; ++i) all[i] = static_cast<int64_t>(i);
  const torch::Tensor err = objective.error(data.fetch(Part::Test, all).inputs).to(torch::kFloat64);
  run.independentTestMse = err.pow(2).mean().item<double>();
  return run;
}

}  // namespace

class TestTrainObjective : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void regressionLearnsLogsItsScalarsAndResumesExactly() {
    const std::string runA = tmp_.filePath("a").toStdString(), runB = tmp_.filePath("b").toStdString();
    const ToyRun a = trainToy(runA, 2 * kK, false);
    QCOMPARE(a.result.state.step, 2 * kK);
    QCOMPARE(a.result.stop_reason, std::string("max_steps"));

    // metrics.csv: the loop's columns, then the objective's, named after its scalars.
    std::vector<std::string> columns;
    const auto rows = readMetricsCsv((fs::path(runA) / RunLog::kCsvName).string(), &columns);
    QCOMPARE(columns, (std::vector<std::string>{"train_batch_abs_err", "train_mse", "train_mae", "test_mse",
                                                "test_mae"}));
    QCOMPARE(rows.size(), size_t(2 * kK / kLogEvery + 1));  // steps 0, 10, ..., 60
    QVERIFY(std::isnan(rows.front().scalar("train_batch_abs_err")));  // no update before step 0
    for (const auto& r : rows) {
      QCOMPARE(r.step % kLogEvery, int64_t(0));
      for (const char* c : {"train_mse", "train_mae", "test_mse", "test_mae"}) QVERIFY2(std::isfinite(r.scalar(c)), c);
      if (r.step > 0) QVERIFY(r.scalar("train_batch_abs_err") > 0.0);
      // Mean absolute error never exceeds the root of the mean squared one.
      QVERIFY(r.scalar("test_mae") <= std::sqrt(r.scalar("test_mse")) + kSumTolerance);
    }
    // The last row's test MSE is the final weights' MSE over the whole test part.
    const double logged = rows.back().scalar("test_mse");
    QVERIFY2(std::abs(logged - a.independentTestMse) <= kSumTolerance * std::max(1.0, a.independentTestMse),
             qPrintable(QString("logged %1, recomputed %2").arg(logged).arg(a.independentTestMse)));
    // It learned: the weights approach the target's (all ones, no bias).
    QVERIFY2(logged < kLearnedFactor * rows.front().scalar("test_mse"),
             qPrintable(QString("%1 -> %2").arg(rows.front().scalar("test_mse")).arg(logged)));

    // The event file carries the same scalars under their tags.
    std::string events;
    for (const auto& e : fs::directory_iterator(runA))
      if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events = e.path().string();
    std::set<std::string> tags;
    for (const auto& rec : readEventFile(events))
      for (const auto& s : rec.scalars)
        if (rec.step == 2 * kK) tags.insert(s.tag);
    for (const char* tag : {"train/batch_abs_err", "train/mse", "test/mse", "test/mae", "lr", "grad_norm"})
      QVERIFY2(tags.count(tag), tag);

    // Checkpoints hold the objective's model beside the loop's state.
    const auto cks = listCheckpoints(runA);
    QCOMPARE(cks.size(), size_t(2));
    QVERIFY(fs::exists(fs::path(cks.back().path) / kWeightsFile));
    QVERIFY(hasOptimizerState(cks.back().path));

    // K updates, then a resume to 2K: bit-identical weights and the same evaluations.
    trainToy(runB, kK, false);
    const ToyRun b = trainToy(runB, 2 * kK, true);
    QCOMPARE(b.result.state.sessions, 2);
    QVERIFY(torch::equal(a.weight, b.weight));
    QVERIFY(torch::equal(a.bias, b.bias));
    const auto rowsB = readMetricsCsv((fs::path(runB) / RunLog::kCsvName).string());
    QCOMPARE(rowsB.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      QCOMPARE(rowsB[i].step, rows[i].step);
      QCOMPARE(rowsB[i].scalar("test_mse"), rows[i].scalar("test_mse"));
    }
  }
};

PRISMA_TRAIN_TEST_MAIN(TestTrainObjective)
#include "tst_train_objective.moc"
