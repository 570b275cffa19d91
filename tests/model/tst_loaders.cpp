// Every model format a ViT researcher has on disk, against the outputs the original
// libraries computed (../shared/fixtures): Hugging Face ViT (safetensors and .bin, both
// naming schemes), ViTModel with its pooler, timm (two poolings, two file formats, with
// and without config), CLIP vision, ViT-Prisma state dicts and the legacy mice. Then the
// round trips (convert, export); the files that must be refused are in
// tst_hostile_model_files.cpp.

#include "Tolerances.h"
#include "ExpectError.h"
#include "LoaderFixture.h"
#include "TestUtil.h"
#include "TorchSaveWriter.h"

#include "datasets/ImageIO.h"
#include "datasets/Preprocess.h"
#include "model/Error.h"
#include "model/io/ImageNetClasses.h"
#include "model/io/ModelExport.h"
#include "model/io/ModelLoader.h"
#include "model/io/RestrictedUnpickler.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
using prisma::test::readText;
using prisma::test::writeText;
using prisma::test::relL2;
namespace fs = std::filesystem;

namespace {

using prisma::test::kGoldenTolerance;
using prisma::test::kPreprocessTolerance;
constexpr int kFixtureHeads = 4;


// The model's pre-logits (pooled, normalised): the same weights with return_type pre_logits.
torch::Tensor preLogits(HookedViTImpl& model, const torch::Tensor& x) {
  ViTConfig cfg = model.cfg();
  cfg.return_type = ReturnType::PreLogits;
  HookedViT twin(cfg);
  torch::NoGradGuard no_grad;
  prisma::loadStateDict(*twin, prisma::stateDict(model), "twin");
  return twin->forward(x);
}

}  // namespace

class TestLoaders : public prisma::test::LoaderFixture {
  Q_OBJECT

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // ---- golden outputs --------------------------------------------------------------
  void golden_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("reference");  // tensor in reference.safetensors
    QTest::addColumn<QString>("ours");       // output | pre_logits | pooler | hook name [| token0]
    auto add = [](const char* m, const QString& ref, const QString& ours) {
      QTest::newRow(qPrintable(QString(m) + " " + ref)) << QString(m) << ref << ours;
    };
    auto attentions = [&](const char* m) {
      for (int l = 0; l < 3; ++l)
        add(m, QStringLiteral("attentions.%1").arg(l), QStringLiteral("blocks.%1.attn.hook_pattern").arg(l));
    };
    for (const char* m : {"hf_vit_classifier", "hf_vit_classifier/pytorch_model.bin"}) {
      add(m, "logits", "output");
      add(m, "hidden_states.3", "blocks.2.hook_resid_post");
      attentions(m);
    }
    add("hf_vit_model", "last_hidden_state", "hook_ln_final");
    add("hf_vit_model", "pooler_output", "pooler");
    add("hf_vit_model", "blocks.1.mlp_post", "blocks.1.mlp.hook_post");
    attentions("hf_vit_model");
    for (const char* m : {"timm_vit", "timm_vit/pytorch_model.bin", "timm_vit_avgpool",
                          "timm_vit_avgpool/pytorch_model.bin"}) {
      add(m, "logits", "output");
      add(m, "pre_logits", "pre_logits");
      const bool avg = std::string(m).find("avgpool") != std::string::npos;
      add(m, "features", avg ? "blocks.2.hook_resid_post" : "hook_ln_final");
      attentions(m);
    }
    add("hf_clip_vision", "image_embeds", "output");
    add("hf_clip_vision", "last_hidden_state", "blocks.2.hook_resid_post");
    add("hf_clip_vision", "hidden_states.0", "blocks.0.hook_resid_pre");
    attentions("hf_clip_vision");
    for (const char* m : {"legacy_mice/legacy_2L_full_LN", "legacy_mice/legacy_induction_1L_attn_only_noLN",
                          "legacy_mice/legacy_2L_full_LN/checkpoints/model_64.pth"}) {
      add(m, "logits", "output");
      add(m, "pre_logits", "pre_logits");
    }
  }

  void golden() {
    QFETCH(QString, model);
    QFETCH(QString, reference);
    QFETCH(QString, ours);
    io::LoadedModel& m = this->model(model.toStdString());
    io::SafeTensorsFile ref(fixture(referenceOf(model.toStdString())));
    const torch::Tensor x = ref.float_tensor("pixel_values");
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(x);
    torch::Tensor got;
    if (ours == "output") got = run.output;
    else if (ours == "pre_logits") got = preLogits(*m.model, x);
    else if (ours == "pooler") {
      QVERIFY2(m.pooler.has_value(), "the ViTModel's pooler was not loaded");
      got = (*m.pooler)(run.output);
    } else got = run.cache[ours.toStdString()];
    const torch::Tensor expected = ref.float_tensor(reference.toStdString());
    QVERIFY2(got.sizes().equals(expected.sizes()), qPrintable(test::shapeOf(got) + " vs " + test::shapeOf(expected)));
    const double err = relL2(got, expected);
    QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // hf_vit_model outputs the CLS token after the final LayerNorm (HF's pre-logits).
  void vitModelOutputsClsAfterLayerNorm() {
    io::LoadedModel& m = model("hf_vit_model");
    io::SafeTensorsFile ref(fixture("hf_vit_model/reference.safetensors"));
    torch::NoGradGuard no_grad;
    const torch::Tensor out = m.model->forward(ref.float_tensor("pixel_values"));
    QCOMPARE(m.model->cfg().n_classes, 0);
    QVERIFY(relL2(out, ref.float_tensor("last_hidden_state").select(1, 0)) <= kGoldenTolerance);
  }

  // ---- detection and what each loader says it assumed ------------------------------
  void detection_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("note");  // a substring some note must contain ("" = none needed)
    QTest::newRow("HF classifier folder") << "hf_vit_classifier" << "hf-vit-classifier" << "";
    QTest::newRow("HF .bin, transformers-5 names") << "hf_vit_classifier/pytorch_model.bin" << "hf-vit-classifier"
                                                   << "transformers-5";
    QTest::newRow("HF ViTModel") << "hf_vit_model" << "hf-vit-model" << "pooler";
    QTest::newRow("timm folder") << "timm_vit" << "timm" << "crop_pct";
    QTest::newRow("timm .bin") << "timm_vit_avgpool/pytorch_model.bin" << "timm" << "";
    QTest::newRow("CLIP vision") << "hf_clip_vision" << "hf-clip-vision" << "image embedding";
    QTest::newRow("legacy run folder") << "legacy_mice/legacy_2L_full_LN" << "vit-prisma-legacy" << "model_64.pth";
    QTest::newRow("legacy checkpoint file") << "legacy_mice/legacy_induction_1L_attn_only_noLN/checkpoints/model_64.pth"
                                            << "vit-prisma-legacy" << "no LayerNorm";
    QTest::newRow("legacy wrapper entry") << "legacy_mice/legacy_2L_full_LN" << "vit-prisma-legacy"
                                          << "'model_state_dict'";
  }

  void detection() {
    QFETCH(QString, model);
    QFETCH(QString, format);
    QFETCH(QString, note);
    const io::LoadedModel& m = this->model(model.toStdString());
    QCOMPARE(QString::fromStdString(m.format), format);
    if (note.isEmpty()) return;
    std::string all;
    for (const auto& n : m.notes) all += n + "\n";
    QVERIFY2(all.find(note.toStdString()) != std::string::npos, all.c_str());
  }

  void legacyMiceArchitecture() {
    const ViTConfig& full = model("legacy_mice/legacy_2L_full_LN").model->cfg();
    QVERIFY(full.legacy_post_ln && full.mlp_hidden_norm && full.ln_pre && full.final_ln_after_pool);
    QCOMPARE(full.n_classes, 4);  // from head.weight: the config's classification is empty
    QVERIFY(!full.qkv_bias);
    const ViTConfig& noLn = model("legacy_mice/legacy_induction_1L_attn_only_noLN").model->cfg();
    QVERIFY(noLn.normalization == Normalization::None && noLn.attn_only);
    QVERIFY(!model("legacy_mice/legacy_2L_full_LN").training_json.empty());
  }

  // The count ViTConfig computes without building must be what HookedViT builds: loaders
  // refuse configs on its word.
  void parameterCountMatchesTheModel_data() {
    QTest::addColumn<QString>("model");
    for (const char* m : {"hf_vit_classifier", "hf_vit_model", "timm_vit", "timm_vit_avgpool", "hf_clip_vision",
                          "legacy_mice/legacy_2L_full_LN", "legacy_mice/legacy_induction_1L_attn_only_noLN"})
      QTest::newRow(m) << QString(m);
  }
  void parameterCountMatchesTheModel() {
    QFETCH(QString, model);
    const auto& m = this->model(model.toStdString());
    QCOMPARE(m.model->cfg().parameter_count(), m.model->parameter_count());
  }

  // A run folder with several checkpoints loads the one with the most samples seen.
  void legacyRunFolderTakesTheLatestCheckpoint() {
    const fs::path src = fixture("legacy_mice/legacy_2L_full_LN");
    const fs::path run = path("run-latest");
    fs::create_directories(run / "checkpoints");
    fs::copy_file(src / "config.json", run / "config.json", fs::copy_options::overwrite_existing);
    fs::copy_file(src / "checkpoints/model_64.pth", run / "checkpoints/model_64.pth", fs::copy_options::overwrite_existing);
    writeText((run / "checkpoints/model_8.pth").string(), "an older, broken checkpoint");
    QCOMPARE(fs::path(io::loadModel(run.string()).source).filename().string(), std::string("model_64.pth"));
    writeText((run / "checkpoints/model_128.pth").string(), "the newest, broken checkpoint");
    expectError([&] { io::loadModel(run.string()); }, "model_128.pth", "not a PyTorch archive");
  }

  void vitModelWithoutPooler() {
    io::SafeTensorsFile st(fixture("hf_vit_model/model.safetensors"));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& n : st.names())
      if (n.rfind("pooler.", 0) != 0) tensors[n] = st.tensor(n);
    const fs::path dir = path("vit-no-pooler");
    fs::create_directories(dir);
    io::writeSafeTensors((dir / "model.safetensors").string(), tensors);
    fs::copy_file(fixture("hf_vit_model/config.json"), dir / "config.json", fs::copy_options::overwrite_existing);
    io::LoadedModel m = io::loadModel(dir.string());
    QCOMPARE(m.format, std::string("hf-vit-model"));
    QVERIFY(!m.pooler.has_value());
    io::SafeTensorsFile ref(fixture("hf_vit_model/reference.safetensors"));
    torch::NoGradGuard no_grad;
    QVERIFY(relL2(m.model->forward(ref.float_tensor("pixel_values")),
                  ref.float_tensor("last_hidden_state").select(1, 0)) <= kGoldenTolerance);
  }

  // The vision tower of a whole CLIPModel: the text tower is skipped, the rest is the
  // CLIPVisionModelWithProjection fixture.
  void clipModelVisionTower() {
    io::SafeTensorsFile st(fixture("hf_clip_vision/model.safetensors"));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& n : st.names()) tensors[n] = st.tensor(n);
    tensors["text_model.embeddings.token_embedding.weight"] = torch::zeros({8, 16});
    tensors["text_projection.weight"] = torch::zeros({32, 16});
    tensors["logit_scale"] = torch::zeros({});
    const fs::path dir = path("clip-whole");
    fs::create_directories(dir);
    io::writeSafeTensors((dir / "model.safetensors").string(), tensors);
    nlohmann::json vision = nlohmann::json::parse(readText(fixture("hf_clip_vision/config.json")));
    nlohmann::json whole = {{"model_type", "clip"}, {"architectures", {"CLIPModel"}}, {"projection_dim", 32},
                            {"vision_config", vision}, {"text_config", {{"hidden_size", 16}}}};
    writeText((dir / "config.json").string(), whole.dump());
    io::LoadedModel m = io::loadModel(dir.string());
    io::SafeTensorsFile ref(fixture("hf_clip_vision/reference.safetensors"));
    torch::NoGradGuard no_grad;
    QVERIFY(relL2(m.model->forward(ref.float_tensor("pixel_values")), ref.float_tensor("image_embeds")) <=
            kGoldenTolerance);
  }

  // ---- files without a config --------------------------------------------------------
  void bareTimmFileIsInferred_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("safetensors, CLS") << "timm_vit/model.safetensors";
    QTest::newRow(".bin, avg pool") << "timm_vit_avgpool/pytorch_model.bin";
  }
  void bareTimmFileIsInferred() {
    QFETCH(QString, file);
    const fs::path src = fixture(file.toStdString());
    const fs::path dir = path("bare-" + src.parent_path().filename().string());
    fs::create_directories(dir);
    const fs::path bare = dir / src.filename();
    fs::copy_file(src, bare, fs::copy_options::overwrite_existing);

    // The tensors do not store the head count: the guess is said out loud...
    io::LoadedModel guessed = io::loadModel(bare.string());
    std::string notes;
    for (const auto& n : guessed.notes) notes += n + "\n";
    QVERIFY2(notes.find("inferred") != std::string::npos && notes.find("heads") != std::string::npos, notes.c_str());
    QCOMPARE(guessed.model->cfg().n_heads, 1);  // 64-wide heads of a d_model-64 model
    // ...and with the right count the model is the reference.
    io::LoadOptions options;
    options.n_heads = kFixtureHeads;
    io::LoadedModel m = io::loadModel(bare.string(), options);
    io::SafeTensorsFile ref(fixture(src.parent_path().filename().string() + "/reference.safetensors"));
    torch::NoGradGuard no_grad;
    const double err = relL2(m.model->forward(ref.float_tensor("pixel_values")), ref.float_tensor("logits"));
    QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // A HookedViT state dict (ViT-Prisma's names) alone, and beside ViT-Prisma's flat config.
  void vitPrismaStateDict() {
    io::LoadedModel& hf = model("hf_vit_classifier");
    const fs::path dir = path("vit-prisma");
    fs::create_directories(dir);
    io::writeSafeTensors((dir / "weights.safetensors").string(), prisma::stateDict(*hf.model));
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({2, 3, 32, 32});
    io::LoadedModel bare = io::loadModel((dir / "weights.safetensors").string());
    QCOMPARE(bare.format, std::string("vit-prisma"));
    // No config: eps is assumed (1e-6 vs HF's 1e-12), the rest is exact.
    QVERIFY(relL2(bare.model->forward(x), hf.model->forward(x)) < 1e-4);

    const ViTConfig& c = hf.model->cfg();
    nlohmann::json cfg = {{"n_layers", c.n_layers}, {"d_model", c.d_model}, {"d_head", c.d_head},
                          {"n_heads", c.n_heads},   {"d_mlp", c.d_mlp},     {"image_size", c.image_size},
                          {"patch_size", c.patch_size}, {"n_channels", c.n_channels}, {"n_classes", c.n_classes},
                          {"eps", c.eps}, {"normalization_type", "LN"}, {"activation_name", "gelu"},
                          {"classification_type", "cls"}, {"return_type", "class_logits"}};
    writeText((dir / "config.json").string(), cfg.dump());
    io::LoadedModel withConfig = io::loadModel(dir.string());
    QVERIFY(torch::equal(withConfig.model->forward(x), hf.model->forward(x)));
  }

  // ---- round trips -------------------------------------------------------------------
  void convertRoundTrip_data() {
    QTest::addColumn<QString>("model");
    for (const char* m : {"hf_vit_classifier", "hf_vit_classifier/pytorch_model.bin", "hf_vit_model", "timm_vit",
                          "timm_vit_avgpool/pytorch_model.bin", "hf_clip_vision", "legacy_mice/legacy_2L_full_LN",
                          "legacy_mice/legacy_induction_1L_attn_only_noLN"})
      QTest::newRow(m) << QString(m);
  }

  void convertRoundTrip() {
    QFETCH(QString, model);
    io::LoadedModel& m = this->model(model.toStdString());
    const std::string dir = path("converted-" + QString(model).replace('/', '_').toStdString());
    io::saveModel(m, dir);
    QVERIFY(fs::exists(fs::path(dir) / "README.md"));
    io::LoadedModel back = io::loadModel(dir);
    QCOMPARE(back.format, std::string("prisma"));
    QCOMPARE(back.pooler.has_value(), m.pooler.has_value());
    QCOMPARE(back.training_json.empty(), m.training_json.empty());
    QCOMPARE(back.preprocess.mean, m.preprocess.mean);
    io::SafeTensorsFile ref(fixture(referenceOf(model.toStdString())));
    const torch::Tensor x = ref.float_tensor("pixel_values");
    torch::NoGradGuard no_grad;
    QVERIFY(torch::equal(back.model->forward(x), m.model->forward(x)));
    if (m.pooler) QVERIFY(torch::equal((*back.pooler)(back.model->forward(x)), (*m.pooler)(m.model->forward(x))));
  }

  void exportRoundTrip_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("loadsAs");  // the format our loader detects, or "" when refused
    QTest::addColumn<QString>("reason");   // the refusal must say this
    QTest::newRow("HF classifier -> hf") << "hf_vit_classifier" << "hf" << "hf-vit-classifier" << "";
    QTest::newRow("HF ViTModel -> hf") << "hf_vit_model" << "hf" << "hf-vit-model" << "";
    QTest::newRow("timm CLS -> timm") << "timm_vit" << "timm" << "timm" << "";
    QTest::newRow("timm avg -> timm") << "timm_vit_avgpool" << "timm" << "timm" << "";
    QTest::newRow("timm CLS -> hf") << "timm_vit" << "hf" << "hf-vit-classifier" << "";
    QTest::newRow("HF classifier -> timm") << "hf_vit_classifier" << "timm" << "" << "eps";
    QTest::newRow("timm avg -> hf") << "timm_vit_avgpool" << "hf" << "" << "mean";
    QTest::newRow("CLIP -> hf") << "hf_clip_vision" << "hf" << "" << "pre_layrnorm";
    QTest::newRow("mouse post-LN -> hf") << "legacy_mice/legacy_2L_full_LN" << "hf" << "" << "post-LN";
    QTest::newRow("mouse without LN -> timm") << "legacy_mice/legacy_induction_1L_attn_only_noLN" << "timm" << ""
                                              << "no LayerNorm";
  }

  void exportRoundTrip() {
    QFETCH(QString, model);
    QFETCH(QString, format);
    QFETCH(QString, loadsAs);
    QFETCH(QString, reason);
    io::LoadedModel& m = this->model(model.toStdString());
    const std::string dir = path("export-" + format.toStdString() + "-" + QString(model).replace('/', '_').toStdString());
    const auto f = io::exportFormatFromString(format.toStdString());
    if (loadsAs.isEmpty()) {
      expectError([&] { io::exportModel(m, dir, f); }, m.source, reason.toStdString());
      QVERIFY2(!fs::exists(dir), "a refused export must not leave a folder behind");
      return;
    }
    io::exportModel(m, dir, f);
    for (const char* file : {"config.json", "model.safetensors", "README.md"}) QVERIFY(fs::exists(fs::path(dir) / file));
    io::LoadedModel back = io::loadModel(dir);
    QCOMPARE(QString::fromStdString(back.format), loadsAs);
    io::SafeTensorsFile ref(fixture(referenceOf(model.toStdString())));
    const torch::Tensor x = ref.float_tensor("pixel_values");
    torch::NoGradGuard no_grad;
    QVERIFY(torch::equal(back.model->forward(x), m.model->forward(x)));
    if (!m.model->cfg().class_names.empty()) QCOMPARE(back.model->cfg().class_names, m.model->cfg().class_names);
    if (m.pooler) QVERIFY(torch::equal(back.pooler->weight, m.pooler->weight));
  }

  // ---- preprocessing -----------------------------------------------------------------
  void preprocessMatchesViTImageProcessor_data() {
    QTest::addColumn<int>("size");
    QTest::newRow("224") << 224;
    QTest::newRow("32") << 32;
  }
  void preprocessMatchesViTImageProcessor() {
    QFETCH(int, size);
    datasets::Preprocess pre;  // ViTImageProcessor: PIL bilinear, rescale 1/255, mean = std = 0.5
    pre.height = pre.width = size;
    const cv::Mat image = datasets::readImage(fixture("preprocess/input.png"));
    std::vector<float> ours = datasets::toModelInput(image, pre);
    io::SafeTensorsFile ref(fixture("preprocess/reference.safetensors"));
    const torch::Tensor expected = ref.float_tensor("pixel_values_" + std::to_string(size)).reshape({-1});
    const torch::Tensor got = torch::from_blob(ours.data(), {static_cast<int64_t>(ours.size())}, torch::kFloat32);
    QCOMPARE(got.numel(), expected.numel());
    const double mad = (got - expected).abs().mean().item<double>();
    qInfo("mean absolute difference at %d: %.5f", size, mad);
    QVERIFY2(mad <= kPreprocessTolerance, qPrintable(QStringLiteral("mean absolute difference %1").arg(mad)));
  }

  // Any image OpenCV reads becomes the model's input: 16-bit grey, RGBA, odd sizes.
  void anyImageKindBecomesInput_data() {
    QTest::addColumn<int>("cvType");
    QTest::addColumn<int>("channels");  // of the model
    QTest::newRow("16-bit grey -> RGB model") << int(CV_16UC1) << 3;
    QTest::newRow("RGBA -> RGB model") << int(CV_8UC4) << 3;
    QTest::newRow("RGB -> grey mouse") << int(CV_8UC3) << 1;
  }
  void anyImageKindBecomesInput() {
    QFETCH(int, cvType);
    QFETCH(int, channels);
    cv::Mat img(37, 53, cvType);
    cv::randu(img, 0, CV_MAT_DEPTH(cvType) == CV_16U ? 65535 : 255);
    const std::string file = path("kind-" + std::to_string(cvType) + ".png");
    QVERIFY(cv::imwrite(file, img));
    datasets::Preprocess pre;
    pre.height = pre.width = 32;
    pre.channels = channels;
    pre.mean.assign(channels, 0.5f);
    pre.std.assign(channels, 0.5f);
    const auto input = datasets::toModelInput(datasets::readImage(file), pre);
    QCOMPARE(input.size(), size_t(channels * 32 * 32));
    for (float v : input) QVERIFY(v >= -1.0f - 1e-5f && v <= 1.0f + 1e-5f);
  }

  // ---- class names --------------------------------------------------------------------
  void imageNetNamesForUnnamed1000ClassModels() {
    const auto names = io::imageNetClassNames();
    QCOMPARE(int(names.size()), io::kImageNetClassCount);
    QCOMPARE(names.front(), std::string("tench, Tinca tinca"));
    QVERIFY(io::lacksClassNames({"LABEL_0", "LABEL_1"}));
    QVERIFY(!io::lacksClassNames({"cat", "dog"}));
    // A 1000-class HF classifier whose id2label holds only placeholders.
    ViTConfig c;
    c.image_size = 16; c.patch_size = 8; c.n_channels = 3; c.d_model = 16; c.n_heads = 2; c.d_head = 8;
    c.d_mlp = 32; c.n_layers = 1; c.n_classes = io::kImageNetClassCount; c.eps = 1e-12;
    io::LoadedModel m;
    m.model = HookedViT(c);
    m.model->init_weights(1);
    m.format = "test";
    m.preprocess = io::defaultPreprocess(c);
    const std::string dir = path("imagenet-1000");
    io::exportModel(m, dir, io::ExportFormat::HuggingFace);
    io::LoadedModel back = io::loadModel(dir);
    QCOMPARE(back.model->cfg().class_names.at(1), std::string("goldfish, Carassius auratus"));
  }
};

QTEST_GUILESS_MAIN(TestLoaders)
#include "tst_loaders.moc"
