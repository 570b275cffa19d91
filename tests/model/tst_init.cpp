// Initialisation schemes and no-bias configs. A fresh model's every parameter must have
// the spread its scheme's formula gives for that model's sizes: for vit_prisma_2023,
// ViT-Prisma 2023's BaseViT (Kaiming-normal std sqrt(2 / fan_in) for each Linear, where
// the fused q/k/v Linear's fan-in is d_model and the output projection's H·d_head; the
// patch convolution at PyTorch's default U(±1/sqrt(C·P·P)); position trunc-normal 0.02;
// CLS N(0, 1e-6)). The formulas are written out here again, independently of
// model/vit/Initialization.cpp. A parameter no formula covers fails the test.
//
// No-bias configs register no such parameters, so saved config and weights agree, and
// the Hugging Face and timm exports of such a model load back as the same function.

#include "TrainTestMain.h"

#include "model/Error.h"
#include "model/io/ModelExport.h"
#include "model/io/ModelLoader.h"
#include "model/train/Presets.h"
#include "model/train/Trainer.h"
#include "model/vit/HookedViT.h"
#include "model/vit/Initialization.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>

using namespace prisma;

namespace {

namespace fs = std::filesystem;

// A sample standard deviation is within this many standard errors of the true one.
constexpr double kStandardErrors = 5.0;
// Relative standard error of a sample std: 1/sqrt(2n) for a normal, sqrt(0.8/n)/2 for a
// uniform (kurtosis 1.8).
double normalRelSe(int64_t n) { return 1.0 / std::sqrt(2.0 * double(n)); }
double uniformRelSe(int64_t n) { return 0.5 * std::sqrt(0.8 / double(n)); }

struct Expected {
  enum Kind { Constant, Normal, Uniform, Unknown } kind = Unknown;
  double value = 0.0;  // the constant, the normal's std or the uniform's bound
};

// Population standard deviation (the sample's own spread, no Bessel correction).
double spread(const torch::Tensor& t) { return (t - t.mean()).pow(2).mean().sqrt().item<double>(); }

std::string leafOf(const std::string& name) { return name.substr(name.rfind('.') + 1); }
bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Expected expectedFor(const std::string& name, const ViTConfig& c, const InitScheme& s) {
  const std::string leaf = leafOf(name);
  if (s.kind != InitScheme::Kind::VitPrisma2023) {
    if (leaf == "w") return {Expected::Constant, 1.0};
    if (leaf[0] == 'b') return {Expected::Constant, 0.0};
    return {Expected::Normal, s.std};  // trunc_normal cuts at ±2: 100 std away for 0.02
  }
  const double D = c.d_model, H = c.n_heads, dh = c.d_head, M = c.d_mlp;
  const double fanInConv = double(c.n_channels) * c.patch_size * c.patch_size;
  if (name == "cls_token") return {Expected::Normal, 1e-6};
  if (name == "pos_embed.W_pos") return {Expected::Normal, 0.02};
  if (name == "embed.proj.weight" || name == "embed.proj.bias") return {Expected::Uniform, 1.0 / std::sqrt(fanInConv)};
  if (leaf == "w") return {Expected::Constant, 1.0};
  if (leaf[0] == 'b') return {Expected::Constant, 0.0};
  if (endsWith(name, "attn.W_Q") || endsWith(name, "attn.W_K") || endsWith(name, "attn.W_V"))
    return {Expected::Normal, std::sqrt(2.0 / D)};  // one Linear(d_model, 3·H·dh)
  if (endsWith(name, "attn.W_O")) return {Expected::Normal, std::sqrt(2.0 / (H * dh))};
  if (endsWith(name, "mlp.W_in")) return {Expected::Normal, std::sqrt(2.0 / D)};
  if (endsWith(name, "mlp.W_out")) return {Expected::Normal, std::sqrt(2.0 / M)};
  if (name == "head.W_H") return {Expected::Normal, std::sqrt(2.0 / D)};
  return {};
}

ViTConfig smallConfig(int D, int H, int dh, int M, int layers) {
  ViTConfig c;
  c.image_size = 32;
  c.patch_size = 8;
  c.n_channels = 1;
  c.d_model = D;
  c.n_heads = H;
  c.d_head = dh;
  c.d_mlp = M;
  c.n_layers = layers;
  c.n_classes = 4;
  c.normalization = Normalization::None;
  c.eps = 0.0;
  return c;
}

}  // namespace

class TestInit : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  std::string path(const std::string& name) const { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    at::set_num_threads(1);
  }

  // ---- schemes -----------------------------------------------------------------------
  void perParameterSpreadMatchesTheFormula_data() {
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<int>("dModel");
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("dHead");
    QTest::addColumn<int>("dMlp");
    QTest::addColumn<int>("channels");
    QTest::addColumn<bool>("biases");     // qkv_bias and patch_bias
    QTest::addColumn<bool>("layerNorm");  // LN everywhere (and the MLP's hidden one)
    // The original recipes' widths: Induction / Circle / MNIST 128, dSprites 512.
    QTest::newRow("vit_prisma_2023, 128 (Induction), no biases") << "vit_prisma_2023" << 128 << 4 << 32 << 512 << 1 << false << false;
    QTest::newRow("vit_prisma_2023, 512 (dSprites)") << "vit_prisma_2023" << 512 << 8 << 64 << 2048 << 1 << false << false;
    QTest::newRow("vit_prisma_2023, 32, biases, LN") << "vit_prisma_2023" << 32 << 2 << 16 << 64 << 3 << true << true;
    // H·d_head ≠ d_model: W_O's fan-in is H·d_head, W_Q's still d_model.
    QTest::newRow("vit_prisma_2023, 192, d_head 16") << "vit_prisma_2023" << 192 << 4 << 16 << 256 << 1 << true << false;
    QTest::newRow("normal(0.02), 128") << "normal(0.02)" << 128 << 4 << 32 << 512 << 1 << true << true;
    QTest::newRow("normal(0.05), 64") << "normal(0.05)" << 64 << 4 << 16 << 256 << 1 << false << false;
    QTest::newRow("trunc_normal(0.02), 128") << "trunc_normal(0.02)" << 128 << 4 << 32 << 512 << 1 << true << true;
    QTest::newRow("trunc_normal(0.02), 512") << "trunc_normal(0.02)" << 512 << 8 << 64 << 2048 << 1 << false << false;
  }

  void perParameterSpreadMatchesTheFormula() {
    QFETCH(QString, scheme);
    QFETCH(int, dModel);
    QFETCH(int, heads);
    QFETCH(int, dHead);
    QFETCH(int, dMlp);
    QFETCH(int, channels);
    QFETCH(bool, biases);
    QFETCH(bool, layerNorm);
    ViTConfig c = smallConfig(dModel, heads, dHead, dMlp, 2);
    c.n_channels = channels;
    c.qkv_bias = c.patch_bias = biases;
    if (layerNorm) {
      c.normalization = Normalization::LN;
      c.eps = 1e-5;
      c.legacy_post_ln = c.mlp_hidden_norm = true;
    }
    c.init = initSchemeFromString(scheme.toStdString(), "test", "init");
    HookedViT model(c);
    initialize(*model, c.init, 7);

    int checked = 0;
    for (const auto& item : model->named_parameters()) {
      const std::string& name = item.key();
      const torch::Tensor p = item.value().detach().to(torch::kFloat64);
      const int64_t n = p.numel();
      const Expected e = expectedFor(name, c, c.init);
      const QByteArray what = QByteArray::fromStdString(name);
      switch (e.kind) {
        case Expected::Constant:
          QVERIFY2(torch::all(p == e.value).item<bool>(), what.constData());
          break;
        case Expected::Normal: {
          const double sd = spread(p), mean = p.mean().item<double>();
          QVERIFY2(std::abs(sd / e.value - 1.0) <= kStandardErrors * normalRelSe(n),
                   qPrintable(QString("%1: std %2, formula %3").arg(what.constData()).arg(sd).arg(e.value)));
          QVERIFY2(std::abs(mean) <= kStandardErrors * e.value / std::sqrt(double(n)),
                   qPrintable(QString("%1: mean %2").arg(what.constData()).arg(mean)));
          if (c.init.kind == InitScheme::Kind::TruncNormal) QVERIFY(p.abs().max().item<double>() <= 2.0);
          break;
        }
        case Expected::Uniform: {
          const double sd = spread(p), uniformSd = e.value / std::sqrt(3.0);
          QVERIFY2(p.abs().max().item<double>() <= e.value, what.constData());
          QVERIFY2(std::abs(sd / uniformSd - 1.0) <= kStandardErrors * uniformRelSe(n),
                   qPrintable(QString("%1: std %2, formula %3").arg(what.constData()).arg(sd).arg(uniformSd)));
          break;
        }
        case Expected::Unknown:
          QFAIL(qPrintable("no formula for " + what));
      }
      ++checked;
    }
    QCOMPARE(int64_t(checked), int64_t(model->named_parameters().size()));
  }

  // BaseViT's figures for the 128-wide Induction mouse (Kaiming-normal on the fan-in): ≈ 0.125 for the
  // 128-fan-in Linears, 0.0625 for the MLP's output.
  void vitPrismaInductionFigures() {
    ViTConfig c = smallConfig(128, 4, 32, 512, 2);
    HookedViT model(c);
    initialize(*model, InitScheme::vitPrisma2023(), 0);
    const auto& b = model->block(1);
    QVERIFY(std::abs(spread(b.attn->W_Q.detach()) - 0.125) < 0.0035);
    QVERIFY(std::abs(spread(b.mlp->W_in.detach()) - 0.125) < 0.002);
    QVERIFY(std::abs(spread(b.mlp->W_out.detach()) - 0.0625) < 0.001);
  }

  void initializeIsDeterministic() {
    ViTConfig c = smallConfig(64, 4, 16, 128, 1);
    for (const auto& s : {InitScheme::vitPrisma2023(), InitScheme::normal(0.02), InitScheme::truncNormal(0.02)}) {
      HookedViT a(c), b(c), other(c);
      initialize(*a, s, 3);
      initialize(*b, s, 3);
      initialize(*other, s, 4);
      QVERIFY(torch::equal(a->block(0).attn->W_K, b->block(0).attn->W_K));
      QVERIFY(!torch::equal(a->block(0).attn->W_K, other->block(0).attn->W_K));
    }
  }

  // normal(0.02) is what fresh models got before schemes existed: the same numbers.
  void normalIsTheOldInitWeights() {
    ViTConfig c = smallConfig(64, 4, 16, 128, 2);
    HookedViT a(c), b(c);
    a->init_weights(11);
    initialize(*b, InitScheme::normal(0.02), 11);
    for (const auto& item : a->named_parameters())
      QVERIFY2(torch::equal(item.value(), b->named_parameters()[item.key()]), item.key().c_str());
  }

  void schemeNamesRoundTrip_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("canonical");  // "" = refused
    QTest::newRow("vit_prisma_2023") << "vit_prisma_2023" << "vit_prisma_2023";
    QTest::newRow("normal(0.02)") << "normal(0.02)" << "normal(0.02)";
    QTest::newRow("normal") << "normal" << "normal(0.02)";
    QTest::newRow("trunc_normal(1e-3)") << "trunc_normal(1e-3)" << "trunc_normal(0.001)";
    QTest::newRow("unknown") << "xavier" << "";
    QTest::newRow("negative std") << "normal(-1)" << "";
    QTest::newRow("not a number") << "normal(abc)" << "";
    QTest::newRow("unclosed") << "normal(0.02" << "";
  }
  void schemeNamesRoundTrip() {
    QFETCH(QString, text);
    QFETCH(QString, canonical);
    if (canonical.isEmpty()) {
      try {
        initSchemeFromString(text.toStdString(), "file.json", "model.init");
        QFAIL("accepted");
      } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.field()), QString("model.init"));
        QVERIFY2(QString(e.what()).contains("vit_prisma_2023"), e.what());  // lists the schemes
      }
      return;
    }
    const InitScheme s = initSchemeFromString(text.toStdString(), "file.json", "model.init");
    QCOMPARE(QString::fromStdString(toString(s)), canonical);
    QVERIFY(initSchemeFromString(toString(s), "", "") == s);
  }

  // Configs written before the field load as before: normal(0.02).
  void configJsonKeepsTheScheme() {
    nlohmann::json j = smallConfig(32, 2, 16, 64, 1);
    QCOMPARE(QString::fromStdString(j.at("init").get<std::string>()), QString("normal(0.02)"));
    j.erase("init");
    QVERIFY(configFromJson(j, "old.json").init == InitScheme::normal(0.02));
    j["init"] = "vit_prisma_2023";
    QVERIFY(configFromJson(j, "new.json").init == InitScheme::vitPrisma2023());
    j["init"] = "he";
    try {
      configFromJson(j, "bad.json");
      QFAIL("accepted");
    } catch (const Error& e) {
      QCOMPARE(QString::fromStdString(e.field()), QString("init"));
    }
  }

  // The original-recipe presets start from BaseViT's weights, without its missing biases.
  void originalPresetsUseVitPrisma2023_data() {
    QTest::addColumn<QString>("preset");
    for (const char* p : {"induction", "circle", "mnist", "dsprites", "fashion-mnist"}) QTest::newRow(p) << p;
  }
  void originalPresetsUseVitPrisma2023() {
    QFETCH(QString, preset);
    const auto cfg = train::loadPreset(preset.toStdString());
    QVERIFY(cfg.model.init == InitScheme::vitPrisma2023());
    QVERIFY(!cfg.model.qkv_bias);
    QVERIFY(!cfg.model.patch_bias);
  }

  // ---- no-bias configs ----------------------------------------------------------------
  void noBiasConfigsRegisterNoBiases() {
    ViTConfig c = smallConfig(32, 2, 16, 64, 2);
    c.qkv_bias = c.patch_bias = false;
    HookedViT model(c);
    const auto params = model->named_parameters();
    for (const auto& item : params) {
      const std::string leaf = leafOf(item.key());
      QVERIFY2(leaf != "b_Q" && leaf != "b_K" && leaf != "b_V" && item.key() != "embed.proj.bias", item.key().c_str());
    }
    QCOMPARE(model->parameter_count(), c.parameter_count());

    // The same function as a biased model whose biases are zero.
    ViTConfig biased = c;
    biased.qkv_bias = biased.patch_bias = true;
    HookedViT a(c), b(biased);
    initialize(*a, InitScheme::vitPrisma2023(), 1);
    {
      torch::NoGradGuard no_grad;
      auto pb = b->named_parameters();
      for (auto& item : pb) item.value().zero_();
      for (const auto& item : a->named_parameters()) pb[item.key()].copy_(item.value());
    }
    QCOMPARE(b->parameter_count() - a->parameter_count(), int64_t(2 * (3 * 2 * 16) + 32));
    const torch::Tensor x = torch::randn({3, 1, 32, 32});
    torch::NoGradGuard no_grad;
    QVERIFY(torch::allclose(a->forward(x), b->forward(x), 1e-5, 1e-6));
  }

  // Saved and reloaded, exported to Hugging Face and timm and loaded back: still no
  // biases, and the same outputs.
  void noBiasModelsSaveAndExport_data() {
    QTest::addColumn<QString>("format");  // "" = the project's own
    QTest::newRow("prisma") << "";
    QTest::newRow("hf") << "hf";
    QTest::newRow("timm") << "timm";
  }
  void noBiasModelsSaveAndExport() {
    QFETCH(QString, format);
    ViTConfig c = smallConfig(32, 2, 16, 64, 2);
    c.n_channels = 3;
    c.qkv_bias = c.patch_bias = false;
    c.normalization = Normalization::LN;
    c.eps = 1e-6;  // timm's
    io::LoadedModel m;
    m.model = HookedViT(c);
    initialize(*m.model, InitScheme::truncNormal(0.02), 2);
    m.format = "test";
    m.preprocess = io::defaultPreprocess(c);
    const std::string dir = path("no-bias-" + (format.isEmpty() ? std::string("prisma") : format.toStdString()));
    if (format.isEmpty()) io::saveModel(m, dir);
    else io::exportModel(m, dir, io::exportFormatFromString(format.toStdString()));
    io::LoadedModel back = io::loadModel(dir);
    QVERIFY(!back.model->cfg().qkv_bias);
    for (const auto& item : back.model->named_parameters())
      QVERIFY2(leafOf(item.key()) != "b_Q", item.key().c_str());
    const torch::Tensor x = torch::randn({2, 3, 32, 32});
    torch::NoGradGuard no_grad;
    QVERIFY(torch::allclose(back.model->forward(x), m.model->forward(x), 1e-5, 1e-6));
  }

  // A trained no-bias model: its run folder's config and weights agree, and training
  // started from the preset's scheme (CLS at N(0, 1e-6), not 0.02: two AdamW updates at
  // lr 5e-4 move it by at most about 1e-3).
  void trainedNoBiasModelHasNoBiases() {
    const std::string run = path("run");
    train::TrainOptions o;
    o.run_dir = run;
    const auto cfg = train::loadPreset("induction", {{"optimization.max_steps", 2},
                                                     {"logging.log_every", 0},
                                                     {"logging.eval_batches", 1}});
    QVERIFY(!cfg.model.qkv_bias);
    const train::TrainResult r = train::train(cfg, o);
    const io::LoadedModel back = io::loadModel(run);
    QVERIFY(!back.model->cfg().qkv_bias && !back.model->cfg().patch_bias);
    QVERIFY(back.model->cfg().init == InitScheme::vitPrisma2023());
    QCOMPARE(back.model->named_parameters().size(), r.model->named_parameters().size());
    QVERIFY2(spread(back.model->cls_token.detach()) < 0.005, qPrintable(QString::number(spread(back.model->cls_token.detach()))));
    for (const auto& item : back.model->named_parameters())
      QVERIFY2(item.key().find(".b_Q") == std::string::npos && item.key() != "embed.proj.bias", item.key().c_str());
  }
};

PRISMA_TRAIN_TEST_MAIN(TestInit)
#include "tst_init.moc"
