// Sparse autoencoders (model/sae): ViT-Prisma's own SAE files reproduce every tensor its
// code computed (../shared/fixtures/prisma_sae, written by VisionSAETrainer), through the
// library and through `prisma sae encode`; the same weights in the SAELens layout and in
// ours give the same numbers; hostile pickles are refused with the global named and
// nothing run; splicing and TopK behave as their definitions say.

#include "Tolerances.h"
#include "CliProcess.h"
#include "ExpectError.h"
#include "TestUtil.h"
#include "TorchSaveWriter.h"

#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "datasets/DatasetRegistry.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeEvaluation.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeRun.h"
#include "model/sae/SaeSplice.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

using prisma::test::fixture;
using prisma::test::readText;
using prisma::test::writeText;
using prisma::test::kEngineTolerance;
using prisma::test::kGoldenTolerance;
using prisma::test::relL2;
namespace fs = std::filesystem;
namespace sae = prisma::sae;

namespace {
// Test images the shipped SAE is evaluated on: enough for its accuracy to mean something.
constexpr size_t kBundledEvalImages = 128;
}  // namespace

class TestSae : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  std::string saeDir() const { return fixture("prisma_sae"); }
  std::string modelDir() const { return fixture("hf_vit_classifier"); }
  std::string referencePath() const { return fixture("prisma_sae/reference.safetensors"); }
  torch::Tensor ref(const std::string& name) const {
    return prisma::io::SafeTensorsFile(referencePath()).tensor(name).clone();
  }
  std::string tmp(const std::string& name) const { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

  // The fixture's weights as a state dict.
  prisma::StateDict fixtureWeights() const {
    prisma::StateDict sd;
    for (const char* n : {"W_enc", "W_dec", "b_enc", "b_dec"}) sd[n] = ref(std::string("sae.") + n);
    return sd;
  }

  // Every stage of `loaded` on the reference pixels against the reference.
  void checkAgainstReference(const sae::LoadedSae& loaded, const std::string& what) {
    auto m = prisma::io::loadModel(modelDir());
    const auto r = sae::runSaeOnImages(*m.model, loaded.sae, ref("pixel_values"));
    const std::vector<std::pair<std::string, torch::Tensor>> pairs = {
        {"activations", r.activations}, {"sae_in", r.sae_in},   {"hidden_pre", r.hidden_pre},
        {"feature_acts", r.feature_acts}, {"sae_out", r.sae_out}, {"logits", r.logits},
        {"logits_with_sae", r.logits_with_sae}};
    for (const auto& [name, t] : pairs) {
      const double err = relL2(t, ref(name));
      QVERIFY2(err <= kGoldenTolerance, qPrintable(QString::fromStdString(what + " " + name) + QStringLiteral(" rel %1").arg(err)));
    }
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void loadsViTPrismaFolder() {
    const auto loaded = sae::loadSae(saeDir());
    QCOMPARE(QString::fromStdString(loaded.format), QStringLiteral("vit-prisma"));
    const auto& c = loaded.sae->cfg();
    QCOMPARE(c.d_in, int64_t(64));
    QCOMPARE(c.d_sae, int64_t(256));  // d_in x expansion_factor 4
    QCOMPARE(QString::fromStdString(c.hook_name), QStringLiteral("blocks.1.hook_resid_post"));
    QVERIFY(c.normalization == sae::Normalization::LayerNorm);
    QCOMPARE(c.l1_coefficient, 0.005);
    for (const char* n : {"W_enc", "W_dec", "b_enc", "b_dec"})
      QCOMPARE(relL2(loaded.sae->named_parameters()[n], ref(std::string("sae.") + n)), 0.0);
  }

  void reproducesReference() { checkAgainstReference(sae::loadSae(saeDir()), "folder"); }

  // l0, the MSE normalised by the batch-centred row norms, sparsity, L1 and the loss.
  void reproducesLossTerms() {
    const auto loaded = sae::loadSae(saeDir());
    const torch::Tensor x = ref("activations");
    torch::NoGradGuard no_grad;
    const sae::SaeForward f = loaded.sae->run(x);
    QVERIFY(torch::equal((f.feature_acts > 0).sum(1).to(torch::kFloat32), ref("l0").to(torch::kFloat32)));
    const sae::SaeLosses l = sae::prismaLosses(*loaded.sae, x, f);
    for (const auto& [name, t] : std::vector<std::pair<std::string, torch::Tensor>>{
             {"mse_loss", l.mse}, {"sparsity", l.sparsity}, {"l1_loss", l.l1}, {"loss", l.loss}}) {
      const double err = relL2(t.reshape({1}), ref(name));
      QVERIFY2(err <= kGoldenTolerance, qPrintable(QString::fromStdString(name) + QStringLiteral(" rel %1").arg(err)));
    }
  }

  // The .pt alone, and a bare state dict beside config.json (load_from_pretrained's other form).
  void loadsPtAndBareStateDict() {
    checkAgainstReference(sae::loadSae(saeDir() + "/n_images_1513.pt"), ".pt");
    const std::string dir = tmp("bare");
    fs::create_directories(dir);
    fs::copy_file(saeDir() + "/config.json", dir + "/config.json", fs::copy_options::overwrite_existing);
    prisma::test::writeStateDict(dir + "/n_images_7.pt", fixtureWeights(), false);
    checkAgainstReference(sae::loadSae(dir), "bare state dict");
  }

  void roundTripsOurLayout() {
    const auto loaded = sae::loadSae(saeDir());
    const std::string dir = tmp("ours");
    sae::saveSae(*loaded.sae, dir, nlohmann::json{{"steps", 201}});
    const auto again = sae::loadSae(dir);
    QCOMPARE(QString::fromStdString(again.format), QStringLiteral("prisma"));
    QCOMPARE(again.training.value("steps", 0), 201);
    QCOMPARE(QString::fromStdString(again.sae->cfg().hook_name), QStringLiteral("blocks.1.hook_resid_post"));
    checkAgainstReference(again, "ours");
  }

  void loadsSaeLensLayout() {
    const std::string dir = tmp("saelens");
    fs::create_directories(dir);
    const std::map<std::string, torch::Tensor> w = fixtureWeights();
    prisma::io::writeSafeTensors(dir + "/sae_weights.safetensors", w);
    // SAELens has no layer_norm-with-b_dec variant of its own beyond this flag set; the
    // fields are SAELens 3's.
    writeText(dir + "/cfg.json", R"({"architecture": "standard", "d_in": 64, "d_sae": 256,
      "activation_fn_str": "relu", "apply_b_dec_to_input": true, "normalize_activations": "layer_norm",
      "hook_name": "blocks.1.hook_resid_post", "hook_layer": 1, "hook_head_index": null,
      "model_name": "hf_vit_classifier", "dtype": "float32", "device": "cpu"})");
    const auto loaded = sae::loadSae(dir);
    QCOMPARE(QString::fromStdString(loaded.format), QStringLiteral("saelens"));
    checkAgainstReference(loaded, "saelens");
    writeText(dir + "/cfg.json", R"({"architecture": "jumprelu", "d_in": 64, "d_sae": 256, "hook_name": "x"})");
    prisma::test::expectError([&] { sae::loadSae(dir); }, "cfg.json", "architecture");
  }

  void refusesBadFiles_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("field");
    QTest::newRow("no d_in") << R"({"format": "prisma-sae", "version": 1, "d_sae": 256, "activation": "relu", "hook_name": "h"})"
                             << "d_in";
    QTest::newRow("bad activation")
        << R"({"format": "prisma-sae", "version": 1, "d_in": 64, "d_sae": 256, "activation": "gelu", "hook_name": "h"})"
        << "activation";
    QTest::newRow("topk without k")
        << R"({"format": "prisma-sae", "version": 1, "d_in": 64, "d_sae": 256, "activation": "topk", "hook_name": "h"})"
        << "k";
    QTest::newRow("wrong d_sae")
        << R"({"format": "prisma-sae", "version": 1, "d_in": 64, "d_sae": 128, "activation": "relu", "hook_name": "h"})"
        << "W_enc";
  }
  void refusesBadFiles() {
    QFETCH(QString, config);
    QFETCH(QString, field);
    const std::string dir = tmp("bad-" + field.toStdString());
    fs::create_directories(dir);
    const std::map<std::string, torch::Tensor> w = fixtureWeights();
    prisma::io::writeSafeTensors(dir + "/sae.safetensors", w);
    writeText(dir + "/sae.json", config.toStdString());
    prisma::test::expectError([&] { sae::loadSae(dir); }, "sae", field.toStdString());
  }

  // n_images_N.pt files whose pickle would run code: refused with the global named, and
  // the command never runs (the marker file is never created).
  void refusesHostilePickles_data() {
    QTest::addColumn<QString>("variant");
    QTest::addColumn<QString>("named");
    QTest::newRow("config state calls os.system") << "in-state" << "os.system";
    QTest::newRow("cfg is os.system(...)") << "as-cfg" << "os.system";
    QTest::newRow("other class as data") << "other-class" << "subprocess.Popen";
    QTest::newRow("config class with constructor args") << "with-args" << "constructor arguments";
  }
  void refusesHostilePickles() {
    QFETCH(QString, variant);
    QFETCH(QString, named);
    const std::string dir = tmp("hostile-" + variant.toStdString());
    fs::create_directories(dir);
    const std::string marker = dir + "/PWNED";
    const std::string command = "touch " + marker;
    prisma::test::PickleBytes p;
    p.op('}').mark().str("cfg");
    if (variant == "as-cfg") {
      p.global("os", "system").mark().str(command).tuple().op('R');
    } else {
      const bool other = variant == "other-class";
      p.global(other ? "subprocess" : "vit_prisma.sae.config", other ? "Popen" : "VisionModelSAERunnerConfig");
      if (variant == "with-args") p.mark().str(command).tuple();
      else p.op(')');
      p.op('\x81').op('}').mark().str("d_in").integer(64);
      if (variant == "in-state") p.str("model_name").global("os", "system").mark().str(command).tuple().op('R');
      p.op('u').op('b');
    }
    p.str("state_dict").global("collections", "OrderedDict").op(')').op('R').op('u');
    const std::string pt = dir + "/n_images_100.pt";
    prisma::test::writeArchive(pt, p.done());
    prisma::test::expectError([&] { sae::loadSae(dir); }, pt, named.toStdString());
    QVERIFY(!fs::exists(marker));
  }

  // With the error term added back, splicing changes nothing; ablating every feature
  // leaves only b_dec (un-normalised) at the hook.
  void spliceWithErrorTermIsIdentity() {
    const auto loaded = sae::loadSae(saeDir());
    auto m = prisma::io::loadModel(modelDir());
    torch::NoGradGuard no_grad;
    const torch::Tensor pixels = ref("pixel_values");
    const torch::Tensor clean = m.model->forward(pixels);
    {
      sae::SpliceOptions o;
      o.add_error = true;
      sae::SaeSplice splice(*m.model, loaded.sae, o);
      QVERIFY(relL2(m.model->forward(pixels), clean) <= kEngineTolerance);
    }
    QVERIFY(relL2(m.model->forward(pixels), clean) == 0.0);  // the splice's hook is gone
    sae::SpliceOptions zero;
    zero.edit_features = [](torch::Tensor& f) { f.zero_(); };
    torch::Tensor at_hook;
    {
      sae::SaeSplice splice(*m.model, loaded.sae, zero);
      auto run = m.model->run_with_cache(pixels, prisma::filters::exact({"blocks.2.hook_resid_pre"}));
      at_hook = run.cache["blocks.2.hook_resid_pre"].reshape({-1, 64});
    }
    const torch::Tensor x = ref("activations");
    const torch::Tensor mean = x.mean(-1, true), std = (x - mean).std(-1, true, true);
    QVERIFY(relL2(at_hook, loaded.sae->b_dec * std + mean) <= kEngineTolerance);
  }

  void topKKeepsTheKLargest() {
    sae::SaeConfig c;
    c.d_in = 8;
    c.d_sae = 32;
    c.activation = sae::Activation::TopK;
    c.k = 3;
    sae::SparseAutoencoder s(c);
    torch::manual_seed(3);
    torch::NoGradGuard no_grad;
    s->W_enc.normal_();
    s->W_dec.normal_();
    const torch::Tensor x = torch::randn({5, 8});
    const sae::SaeForward f = s->run(x);
    QVERIFY(((f.feature_acts > 0).sum(1) <= 3).all().item<bool>());
    const torch::Tensor kth = std::get<0>(f.hidden_pre.topk(3, -1)).select(-1, 2).unsqueeze(-1);
    const torch::Tensor expected = torch::where(f.hidden_pre >= kth, torch::relu(f.hidden_pre), torch::zeros_like(f.hidden_pre));
    QVERIFY(torch::equal(f.feature_acts, expected));
    QVERIFY(relL2(f.sae_out, f.feature_acts.matmul(s->W_dec) + s->b_dec) <= kEngineTolerance);
  }

  // The SAE shipped with the default mouse: found by name (also under $PRISMA_RESOURCES,
  // as an install's resources are), its feature database agrees with it, and it keeps the
  // README's figures on the first test images (all 656: accuracy 0.983 with the SAE spliced
  // in, the mouse's own 0.994; EV 0.967).
  void bundledSaeIsFoundAndWorks() {
    const sae::LoadedSae loaded = sae::loadSae("sae:induction-2L");
    const sae::SaeConfig& c = loaded.sae->cfg();
    QCOMPARE(QString::fromStdString(c.hook_name), QStringLiteral("blocks.1.hook_resid_pre"));
    QCOMPARE(QString::fromStdString(c.model_name), QStringLiteral("mouse:induction-2L"));
    QCOMPARE(c.d_in, int64_t(128));
    QCOMPARE(c.d_sae, int64_t(512));
    QVERIFY(c.activation == sae::Activation::TopK && c.k == 16);

    auto m = prisma::io::loadModel(c.model_name);
    auto dataset = prisma::datasets::makeDataset("induction", {});
    prisma::train::TrainingDataOptions topt;
    topt.n_classes = 4;
    prisma::train::TrainingData data(std::move(dataset), m.preprocess, topt);
    sae::SaeEvalOptions eo;
    eo.limit = kBundledEvalImages;
    const sae::SaeEvalResult r = sae::evaluateSae(*m.model, loaded.sae, data, eo);
    QCOMPARE(r.images, int64_t(kBundledEvalImages));
    QCOMPARE(r.l0, 16.0);
    QVERIFY2(r.explained_variance > 0.95, qPrintable(QString::number(r.explained_variance)));
    QVERIFY2(r.acc_sae >= 0.98 && r.acc_zero < 0.5, qPrintable(QStringLiteral("%1 %2").arg(r.acc_sae).arg(r.acc_zero)));

    // The database's best image of its densest feature, recomputed from the SAE.
    const sae::FeatureDatabase db = sae::loadFeatureDatabase("sae:induction-2L");
    QCOMPARE(db.density.size(0), c.d_sae);
    QCOMPARE(db.images, int64_t(656));
    const int64_t f = db.density.argmax().item<int64_t>();
    const int64_t position = db.top_images[f][0].item<int64_t>();
    const auto image = data.fetch(prisma::train::Part::Test, {position}).inputs;  // [1, 1, 32, 32]
    const sae::SaeRunResult run = sae::runSaeOnImages(*m.model, loaded.sae, image);
    const torch::Tensor acts = run.feature_acts.select(1, f);  // [tokens]
    QVERIFY(relL2(db.top_token_acts[f][0], acts) <= kEngineTolerance);
    const double peak = acts.max().item<double>();
    QVERIFY(std::abs(db.top_values[f][0].item<double>() - peak) <= kEngineTolerance * peak);

    prisma::test::expectError([] { sae::loadSae("sae:no-such-sae"); }, "sae:no-such-sae", "induction-2L");
    prisma::test::expectError([] { sae::loadSae("sae:../mice"); }, "sae:../mice", "not a bundled SAE name");

    // A resource folder named by $PRISMA_RESOURCES comes first, as for the mice.
    const fs::path root = tmp("resources"), mine = root / "sae" / "mine";
    fs::create_directories(mine);
    for (const char* file : {"sae.json", "sae.safetensors"})
      fs::copy_file(fs::path(sae::resolveSaePath("sae:induction-2L")) / file, mine / file);
    qputenv("PRISMA_RESOURCES", QByteArray::fromStdString(root.string()));
    const std::string found = sae::resolveSaePath("sae:mine");
    qunsetenv("PRISMA_RESOURCES");
    QCOMPARE(fs::canonical(found), fs::canonical(mine));
  }

  void cliEncodeAndInfo() {
    const QString out = tmp_.filePath("encode.safetensors");
    const QString input = QString::fromStdString(referencePath()) + ":pixel_values";
    static constexpr prisma::test::CliOptions kQuickStart{120'000, true};
    auto r = prisma::test::runPrisma({"sae", "encode", QString::fromStdString(saeDir()), "--model",
                                      QString::fromStdString(modelDir()), "--input", input, "--out", out},
                                     kQuickStart);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    for (const char* name : {"sae_in", "feature_acts", "sae_out", "logits_with_sae"}) {
      const double err = relL2(written.tensor(name), ref(name));
      QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("%1 rel %2").arg(name).arg(err)));
    }
    auto info = prisma::test::runPrisma({"sae", "info", QString::fromStdString(saeDir())}, kQuickStart);
    QVERIFY2(info.code == 0, qPrintable(info.err));
    QVERIFY2(info.out.contains("blocks.1.hook_resid_post") && info.out.contains("256"), qPrintable(info.out));
    auto bad = prisma::test::runPrisma({"sae", "info", tmp_.filePath("nothing-here")}, kQuickStart);
    QCOMPARE(bad.code, 1);
    QVERIFY(bad.err.contains("nothing-here"));
  }
};

QTEST_GUILESS_MAIN(TestSae)
#include "tst_sae.moc"
