// The trainer's pieces against independent references: the learning-rate schedule against
// hand-computed values of ViT-Prisma's formula, LibTorch's AdamW (as the trainer drives it,
// with a per-step learning rate) against a hand-written AdamW in double precision, the
// optimizer-state round trip, presets (every field checked, nonsense rejected with the
// field named), and the TensorBoard encoder against a file PyTorch's SummaryWriter wrote.

#include "TestUtil.h"
#include "TrainTestMain.h"

#include "model/Error.h"
#include "model/io/SafeTensors.h"
#include "model/train/Crc32c.h"
#include "model/train/EventFile.h"
#include "model/train/LrSchedule.h"
#include "model/train/OptimizerState.h"
#include "model/train/Presets.h"
#include "model/train/TrainConfig.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace prisma;
using namespace prisma::train;
using prisma::test::fixture;
namespace fs = std::filesystem;

namespace {

constexpr double kExact = 1e-15;  // relative: formula values that must agree to rounding

bool close(double a, double b, double rel = kExact) { return std::fabs(a - b) <= rel * std::max(std::fabs(b), 1e-300); }

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string fixtureEventFile() {
  for (const auto& e : fs::directory_iterator(fixture("tensorboard")))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) return e.path().string();
  return {};
}

// Hand-written AdamW (Loshchilov & Hutter, as torch.optim.AdamW computes it), double.
struct ReferenceAdamW {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.01;
  std::vector<double> m, v;
  int64_t t = 0;
  void step(std::vector<double>& w, const std::vector<double>& g, double lr) {
    if (m.empty()) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0);
    ++t;
    const double bc1 = 1 - std::pow(beta1, double(t)), bc2 = 1 - std::pow(beta2, double(t));
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] *= 1 - lr * wd;
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + eps;
      w[i] -= lr / bc1 * m[i] / denom;
    }
  }
};

// Toy least squares: loss = sum((X w - y)^2), gradient 2 Xᵀ(X w - y).
struct Toy {
  torch::Tensor X = torch::tensor({1.0, 2.0, -1.0, 0.5, 3.0, -2.0}, torch::kFloat64).view({3, 2});
  torch::Tensor y = torch::tensor({1.0, -1.0, 2.0}, torch::kFloat64);
  std::vector<double> grad(const std::vector<double>& w) const {
    auto wt = torch::tensor(w, torch::kFloat64);
    auto r = torch::mv(X, wt) - y;
    auto g = 2 * torch::mv(X.t(), r);
    return std::vector<double>(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
  }
};

}  // namespace

class TestTrainBasics : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  template <typename Fn>
  void expectError(Fn&& fn, const std::string& field) {
    try {
      fn();
    } catch (const Error& e) {
      QVERIFY2(e.field() == field, qPrintable(QString("expected field %1, got: %2").arg(field.c_str(), e.what())));
      return;
    }
    QFAIL(qPrintable(QString("no prisma::Error for field %1").arg(field.c_str())));
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // ViT-Prisma's WarmupThenStepLR: lr·step/warmup while step < warmup, then
  // lr·γ^((step−warmup)//step_size), with the induction preset's numbers worked by hand.
  void warmupThenStepMatchesHandComputedValues() {
    ScheduleConfig c;
    c.type = ScheduleType::WarmupStep;
    c.warmup_steps = 10;
    c.step_size = 200;
    c.gamma = 0.8;
    LrSchedule s(c, 5e-4, 0);
    const std::pair<int64_t, double> expected[] = {
        {0, 0.0},        {1, 5e-5},       {5, 2.5e-4},      {9, 4.5e-4},   {10, 5e-4},
        {11, 5e-4},      {209, 5e-4},     {210, 4e-4},      {409, 4e-4},   {410, 3.2e-4},
        {610, 2.56e-4},  {1010, 1.6384e-4}, {2010, 5e-4 * 0.107374182400000} /* 0.8^10 */};
    for (const auto& [step, lr] : expected)
      QVERIFY2(close(s.lr(step), lr, 1e-12), qPrintable(QString("step %1: %2 vs %3").arg(step).arg(s.lr(step)).arg(lr)));
    // The same floating-point order as the Python original, hence bit-equal values.
    QCOMPARE(s.lr(3), 5e-4 * (3.0 / 10.0));
    QCOMPARE(s.lr(810), 5e-4 * std::pow(0.8, 4.0));
    // No warm-up: the first update already runs at full rate.
    c.warmup_steps = 0;
    QCOMPARE(LrSchedule(c, 1e-3, 0).lr(0), 1e-3);
  }

  void warmupCosineAndConstant() {
    ScheduleConfig c;
    c.type = ScheduleType::WarmupCosine;
    c.warmup_steps = 10;
    c.min_lr = 1e-5;
    LrSchedule s(c, 1e-3, 110);
    QVERIFY(close(s.lr(5), 5e-4));
    QVERIFY(close(s.lr(10), 1e-3));
    QVERIFY(close(s.lr(60), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-12));  // half way: cos(π/2) = 0
    QVERIFY(close(s.lr(110), 1e-5, 1e-12));
    QVERIFY(close(s.lr(500), 1e-5, 1e-12));  // past the horizon: stays at min_lr
    c.type = ScheduleType::Constant;
    QCOMPARE(LrSchedule(c, 1e-3, 0).lr(1000), 1e-3);
  }

  // LibTorch's AdamW, driven as the trainer does (a new learning rate set on the group
  // before every step), against the hand-written reference above, over 6 steps.
  void adamwMatchesHandComputedReference() {
    Toy toy;
    std::vector<double> wRef = {0.3, -0.7};
    torch::Tensor w = torch::tensor(wRef, torch::kFloat64).requires_grad_(true);
    torch::optim::AdamW opt({w}, torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
    ReferenceAdamW ref;
    const double lrs[] = {0.0, 1e-2, 5e-2, 3e-2, 3e-2, 1e-3};  // lr 0 first, as warm-up gives
    for (double lr : lrs) {
      static_cast<torch::optim::AdamWOptions&>(opt.param_groups()[0].options()).lr(lr);
      w.mutable_grad() = torch::Tensor();
      auto loss = (torch::mv(toy.X, w) - toy.y).pow(2).sum();
      loss.backward();
      opt.step();
      ref.step(wRef, toy.grad(wRef), lr);  // the gradient at its own weights, equal to LibTorch's
    }
    for (int i = 0; i < 2; ++i)
      QVERIFY2(close(w[i].item<double>(), wRef[i], 1e-12),
               qPrintable(QString("w[%1]: %2 vs %3").arg(i).arg(w[i].item<double>()).arg(wRef[i])));
  }

  // Saving AdamW's state by parameter name and loading it into a fresh optimizer
  // continues bit for bit like the uninterrupted optimizer.
  void optimizerStateRoundTripIsExact() {
    torch::manual_seed(3);
    auto makeParams = [] {
      NamedParameters p = {{"a.weight", torch::randn({4, 3})}, {"a.bias", torch::randn({3})}};
      for (auto& [n, t] : p) t.requires_grad_(true);
      return p;
    };
    torch::Tensor X = torch::randn({8, 4});
    auto stepOnce = [&](torch::optim::AdamW& opt, NamedParameters& p, double lr) {
      static_cast<torch::optim::AdamWOptions&>(opt.param_groups()[0].options()).lr(lr);
      for (auto& [n, t] : p) t.mutable_grad() = torch::Tensor();
      (torch::addmm(p[1].second, X, p[0].second).tanh().pow(2).sum()).backward();
      opt.step();
    };
    NamedParameters a = makeParams(), b;
    for (auto& [n, t] : a) b.emplace_back(n, t.detach().clone().requires_grad_(true));
    torch::optim::AdamW optA({a[0].second, a[1].second}, torch::optim::AdamWOptions(1e-2));
    torch::optim::AdamW optB({b[0].second, b[1].second}, torch::optim::AdamWOptions(1e-2));
    for (int i = 0; i < 3; ++i) {
      stepOnce(optA, a, 1e-2);
      stepOnce(optB, b, 1e-2);
    }
    const std::string file = tmp_.filePath("adamw.safetensors").toStdString();
    io::writeSafeTensors(file, adamwStateTensors(optB, b));
    torch::optim::AdamW optC({b[0].second, b[1].second}, torch::optim::AdamWOptions(1e-2));
    loadAdamWState(optC, b, io::SafeTensorsFile(file));
    for (int i = 0; i < 3; ++i) {
      stepOnce(optA, a, 5e-3);
      stepOnce(optC, b, 5e-3);
    }
    for (size_t i = 0; i < a.size(); ++i) QVERIFY(torch::equal(a[i].second, b[i].second));

    // State of a parameter the model does not have is an error naming it.
    NamedParameters other = {{"other.weight", b[0].second}, {"a.bias", b[1].second}};
    expectError([&] { loadAdamWState(optC, other, io::SafeTensorsFile(file)); }, "a.weight.exp_avg");
  }

  // Every preset loads, validates and carries ViT-Prisma's original hyperparameters.
  void presetsCarryTheOriginalHyperparameters() {
    const auto presets = listPresets();
    QStringList names;
    for (const auto& p : presets) names << QString::fromStdString(p.name);
    for (const char* n : {"induction", "induction-2L", "circle", "mnist", "fashion-mnist", "dsprites"})
      QVERIFY2(names.contains(n), qPrintable(names.join(", ")));
    for (const auto& p : presets) loadPreset(p.name);

    const TrainConfig ind = loadPreset("induction");
    QCOMPARE(ind.model.image_size, 32);
    QCOMPARE(ind.model.patch_size, 8);
    QCOMPARE(ind.model.d_model, 128);
    QCOMPARE(ind.model.n_heads, 4);
    QCOMPARE(ind.model.d_head, 32);
    QCOMPARE(ind.model.n_layers, 1);
    QVERIFY(ind.model.attn_only);
    QVERIFY(ind.model.normalization == Normalization::None);
    QCOMPARE(ind.model.n_classes, 4);
    QCOMPARE(ind.optimization.lr, 5e-4);
    QCOMPARE(ind.optimization.batch_size, 64);
    QCOMPARE(ind.optimization.weight_decay, 0.01);
    QCOMPARE(*ind.optimization.max_grad_norm, 1.0);
    QCOMPARE(ind.optimization.schedule.warmup_steps, int64_t(10));
    QCOMPARE(ind.optimization.schedule.step_size, int64_t(200));
    QCOMPARE(ind.optimization.schedule.gamma, 0.8);

    const TrainConfig mnist = loadPreset("mnist");
    QCOMPARE(mnist.model.image_size, 28);
    QCOMPARE(mnist.model.patch_size, 7);
    QCOMPARE(mnist.model.n_layers, 4);
    QCOMPARE(mnist.model.d_mlp, 512);
    QCOMPARE(mnist.optimization.weight_decay, 0.0);
    QVERIFY(!mnist.optimization.max_grad_norm);
    QCOMPARE(mnist.optimization.schedule.step_size, int64_t(1200));
    const TrainConfig fashion = loadPreset("fashion-mnist");  // "extends": "mnist"
    QCOMPARE(fashion.dataset.name, std::string("fashion-mnist"));
    QCOMPARE(fashion.model.n_layers, 4);
    QCOMPARE(fashion.optimization.schedule.step_size, int64_t(1200));
    const TrainConfig circle = loadPreset("circle");
    QCOMPARE(circle.model.patch_size, 1);
    QCOMPARE(circle.model.n_classes, 60);
    QCOMPARE(circle.optimization.batch_size, 128);
    const TrainConfig ds = loadPreset("dsprites");
    QCOMPARE(ds.model.d_model, 512);
    QCOMPARE(ds.model.n_heads, 8);
    QCOMPARE(ds.model.d_mlp, 2048);
    QCOMPARE(ds.optimization.batch_size, 512);
    QCOMPARE(ds.model.n_classes, 3);

    // Round trip: what a run folder stores reads back to the same document.
    const nlohmann::json j = ind;
    QCOMPARE(nlohmann::json(trainConfigFromJson(j, "roundtrip")), j);
  }

  void overridesReachEveryField() {
    const TrainConfig c = loadPreset("induction", {{"model.n_layers", 2},
                                                   {"model.d_model", 64},
                                                   {"optimization.lr", 1e-3},
                                                   {"optimization.schedule.type", "warmup_cosine"},
                                                   {"logging.log_every", 7},
                                                   {"dataset.test_fraction", 0.3}});
    QCOMPARE(c.model.n_layers, 2);
    QCOMPARE(c.model.d_head, 16);  // derived again from d_model / n_heads
    QCOMPARE(c.optimization.lr, 1e-3);
    QVERIFY(c.optimization.schedule.type == ScheduleType::WarmupCosine);
    QCOMPARE(c.logging.log_every, int64_t(7));
    QCOMPARE(c.dataset.test_fraction, 0.3);
  }

  // Nonsense never trains: each is a prisma::Error naming the field.
  void badPresetsAreRejectedWithTheField() {
    expectError([] { loadPreset("induction", {{"optimization.lr", -1.0}}); }, "optimization.lr");
    expectError([] { loadPreset("induction", {{"optimization.lr", "fast"}}); }, "optimization.lr");
    expectError([] { loadPreset("induction", {{"optimization.batch_size", 0}}); }, "optimization.batch_size");
    expectError([] { loadPreset("induction", {{"optimization.batch_size", 12.5}}); }, "optimization.batch_size");
    expectError([] { loadPreset("induction", {{"optimization.seed", -3}}); }, "optimization.seed");
    expectError([] { loadPreset("induction", {{"model.n_layer", 2}}); }, "model.n_layer");
    expectError([] { loadPreset("induction", {{"model.n_layers", 0}}); }, "model.n_layers");
    expectError([] { loadPreset("induction", {{"model.patch_size", 5}}); }, "model.patch_size");
    expectError([] { loadPreset("induction", {{"optimisation.lr", 1e-3}}); }, "optimisation");
    expectError([] { loadPreset("induction", {{"optimization.schedule.gamma", 1.5}}); },
                "optimization.schedule.gamma");
    expectError([] { loadPreset("induction", {{"optimization.schedule.type", "linear"}}); },
                "optimization.schedule.type");
    expectError([] { loadPreset("induction", {{"optimization.epochs", 0}, {"optimization.max_steps", 0}}); },
                "optimization.epochs");
    expectError([] { loadPreset("induction", {{"dataset.std", nlohmann::json::array({0.0})}}); }, "dataset.std");
    expectError([] { loadPreset("induction", {{"dataset.mean", nlohmann::json::array({0.0, 0.0})}}); },
                "dataset.mean");
    expectError([] { loadPreset("induction", {{"finetune.new_head", 3}}); }, "finetune.from");
    expectError([] { loadPreset("no-such-preset"); }, "preset");

    const std::string bad = tmp_.filePath("bad.json").toStdString();
    std::ofstream(bad) << "{ \"extends\": \"induction\", ";
    try {
      loadPreset(bad);
      QFAIL("truncated JSON accepted");
    } catch (const Error& e) {
      QCOMPARE(e.source(), bad);
    }
    const std::string loop = tmp_.filePath("loop.json").toStdString();
    std::ofstream(loop) << "{ \"extends\": \"loop.json\" }";
    expectError([&] { loadPreset(loop); }, "extends");
  }

  void crc32cKnownAnswer() {
    const char* text = "123456789";  // the check value of every CRC catalogue
    QCOMPARE(crc32c(text, 9), 0xE3069283u);
  }

  // The fixture was written by PyTorch's SummaryWriter: our encoder reproduces every
  // scalar record byte for byte, and our reader verifies and decodes all of them.
  void eventEncoderReproducesSummaryWriterBytes() {
    const std::string path = fixtureEventFile();
    QVERIFY(!path.empty());
    const std::string bytes = readBytes(path);
    const auto events = readEventFile(path);
    QCOMPARE(events.size(), size_t(11));
    QCOMPARE(events[0].file_version, std::string("brain.Event:2"));
    size_t offset = frameRecord(encodeEvent(events[0])).size();  // first: same fields, PyTorch's writer name
    QCOMPARE(offset, size_t(16 + 72));
    for (size_t i = 1; i < events.size(); ++i) {
      const auto& e = events[i];
      QCOMPARE(e.scalars.size(), size_t(1));
      const int64_t s = e.step;
      if (e.scalars[0].tag == "train/loss") QCOMPARE(e.scalars[0].value, float(1.0 / double(s + 1)));
      else QCOMPARE(e.scalars[0].value, float(0.001 * double(s)));
      const std::string record = frameRecord(encodeEvent(e));
      QCOMPARE(QByteArray::fromStdString(record), QByteArray::fromStdString(bytes.substr(offset, record.size())));
      offset += record.size();
    }
    QCOMPARE(offset, bytes.size());
  }

  void eventReaderRejectsCorruption() {
    const std::string path = tmp_.filePath("events.out.tfevents.1.test.1.0").toStdString();
    {
      EventFileWriter w(path, false, 1000.0);
      w.addScalar("train/loss", 1, 0.5f, 1001.0);
      w.addScalar("lr", 1, 1e-3f, 1001.0);
      w.flush();
    }
    std::string bytes = readBytes(path);
    QCOMPARE(readEventFile(path).size(), size_t(3));
    std::string corrupt = bytes;
    corrupt[corrupt.size() - 6] ^= 0x01;  // inside the last record's data
    std::ofstream(path, std::ios::binary) << corrupt;
    QVERIFY_THROWS_EXCEPTION(Error, readEventFile(path));
    QCOMPARE(readEventFile(path, true).size(), size_t(2));  // a torn tail is tolerated on request
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
    QVERIFY_THROWS_EXCEPTION(Error, readEventFile(path));
    // Truncation on resume keeps the file version and steps up to the given one.
    std::ofstream(path, std::ios::binary) << bytes;
    {
      EventFileWriter w(path, true);
      w.addScalar("lr", 2, 2e-3f, 1002.0);
    }
    truncateEventFile(path, 1);
    const auto kept = readEventFile(path);
    QCOMPARE(kept.size(), size_t(3));
    QCOMPARE(kept.back().step, int64_t(1));
  }
};

PRISMA_TRAIN_TEST_MAIN(TestTrainBasics)
#include "tst_train_basics.moc"
