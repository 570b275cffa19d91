// Register and attention-pool ViTs against the tensors their own libraries computed
// (../shared/fixtures, README "Wave 2"): timm's SigLIP-style MAP head, timm's register +
// LayerScale + no_embed_class + dynamic_img_size ViT, and DINOv2's hub checkpoints with
// both position-interpolation rules, at the native size and at larger and non-square ones.

#include "CliProcess.h"
#include "ExpectError.h"
#include "TestUtil.h"
#include "Tolerances.h"

#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/vit/HookNames.h"
#include "model/vit/PosInterpolation.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
using prisma::test::kGoldenTolerance;
using prisma::test::relL2;
namespace fs = std::filesystem;

namespace {

constexpr int kLayers = 3;

void check(const torch::Tensor& got, const torch::Tensor& expected, const std::string& what) {
  QVERIFY2(got.sizes() == expected.sizes(), (what + ": shape differs").c_str());
  const double err = relL2(got, expected);
  QVERIFY2(err < kGoldenTolerance, (what + ": rel L2 " + std::to_string(err)).c_str());
}

}  // namespace

class TestRegisterVits : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void timmMap_data() {
    QTest::addColumn<QString>("weights");
    QTest::newRow("safetensors") << "timm_vit_map_siglip";
    QTest::newRow("pytorch .bin") << "timm_vit_map_siglip/pytorch_model.bin";
  }
  void timmMap() {
    QFETCH(QString, weights);
    io::LoadedModel m = io::loadModel(fixture(weights.toStdString()));
    QVERIFY(m.model->cfg().pooling == Pooling::Map);
    QVERIFY(!m.model->cfg().cls_token);
    io::SafeTensorsFile r(fixture("timm_vit_map_siglip/reference.safetensors"));
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(r.float_tensor("pixel_values"));
    for (int l = 0; l < kLayers; ++l) {
      const std::string s = std::to_string(l);
      check(run.cache[hookName(l, "hook_resid_post")], r.float_tensor("blocks." + s), "blocks." + s);
      check(run.cache[hookName(l, "attn.hook_pattern")], r.float_tensor("attentions." + s), "attentions." + s);
    }
    check(run.cache["hook_ln_final"], r.float_tensor("features"), "features");
    check(run.cache["attn_pool.hook_pattern"], r.float_tensor("map_attention"), "map_attention");
    check(run.cache["attn_pool.hook_z"].flatten(1), r.float_tensor("map_latent_out"), "map_latent_out");
    check(run.cache["attn_pool.hook_out"], r.float_tensor("pre_logits"), "pre_logits");
    check(run.output, r.float_tensor("logits"), "logits");
  }

  // timm's reg4 layout at 32x32 and, through dynamic_img_size, at 48x48 and 40x56.
  void timmRegisters_data() {
    QTest::addColumn<QString>("suffix");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::newRow("native") << "" << 4 << 4;
    QTest::newRow("large") << "_large" << 6 << 6;
    QTest::newRow("rect") << "_rect" << 5 << 7;
  }
  void timmRegisters() {
    QFETCH(QString, suffix);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const std::string sfx = suffix.toStdString();
    io::LoadedModel m = io::loadModel(fixture("timm_vit_reg_ls"));
    QCOMPARE(m.model->cfg().n_registers, 4);
    io::SafeTensorsFile r(fixture("timm_vit_reg_ls/reference.safetensors"));
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(r.float_tensor("pixel_values" + sfx));
    const std::string blocks = sfx.empty() ? "blocks." : "blocks" + sfx + ".";
    for (int l = 0; l < kLayers; ++l)
      check(run.cache[hookName(l, "hook_resid_post")], r.float_tensor(blocks + std::to_string(l)), blocks + std::to_string(l));
    if (sfx.empty())
      for (int l = 0; l < kLayers; ++l)
        check(run.cache[hookName(l, "attn.hook_pattern")], r.float_tensor("attentions." + std::to_string(l)), "attentions");
    check(run.cache["hook_ln_final"], r.float_tensor("features" + sfx), "features" + sfx);
    check(run.cache["hook_ln_final"].select(1, 0), r.float_tensor("pre_logits" + sfx), "pre_logits" + sfx);
    check(run.output, r.float_tensor("logits" + sfx), "logits" + sfx);
    if (!sfx.empty()) {  // the patch rows of the resized table (no_embed_class: patches only)
      const int prefix = m.model->cfg().n_prefix();
      const torch::Tensor table = interpolatePositions(m.model->pos_embed->W_pos, prefix, 4, rows, cols,
                                                       m.model->cfg().pos_interpolation);
      check(table.narrow(0, prefix, rows * cols).unsqueeze(0), r.float_tensor("pos_embed" + sfx), "pos_embed" + sfx);
    }
  }

  void dinov2_data() {
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("suffix");
    QTest::addColumn<int>("registers");
    QTest::addColumn<int>("native");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::newRow("reg native") << "dinov2_hub" << "" << 4 << 4 << 4 << 4;
    QTest::newRow("reg large") << "dinov2_hub" << "_large" << 4 << 4 << 6 << 6;
    QTest::newRow("reg rect") << "dinov2_hub" << "_rect" << 4 << 4 << 5 << 7;
    QTest::newRow("p14 native") << "dinov2_hub_p14" << "" << 0 << 2 << 2 << 2;
    QTest::newRow("p14 large") << "dinov2_hub_p14" << "_large" << 0 << 2 << 4 << 4;
    QTest::newRow("p14 rect") << "dinov2_hub_p14" << "_rect" << 0 << 2 << 3 << 5;
  }
  void dinov2() {
    QFETCH(QString, folder);
    QFETCH(QString, suffix);
    QFETCH(int, registers);
    QFETCH(int, native);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const std::string sfx = suffix.toStdString(), dir = folder.toStdString();
    io::LoadedModel m = io::loadModel(fixture(dir));
    QCOMPARE(QString::fromStdString(m.format), QStringLiteral("dinov2"));
    QCOMPARE(m.model->cfg().n_registers, registers);
    io::SafeTensorsFile r(fixture(dir + "/reference.safetensors"));
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(r.float_tensor("pixel_values" + sfx));
    const std::string blocks = sfx.empty() ? "blocks." : "blocks" + sfx + ".";
    for (int l = 0; l < kLayers; ++l)
      check(run.cache[hookName(l, "hook_resid_post")], r.float_tensor(blocks + std::to_string(l)), blocks + std::to_string(l));
    if (sfx.empty())
      for (int l = 0; l < kLayers; ++l)
        check(run.cache[hookName(l, "attn.hook_pattern")], r.float_tensor("attentions." + std::to_string(l)), "attentions");
    check(run.cache[hookName(kLayers - 1, "hook_resid_post")], r.float_tensor("x_prenorm" + sfx), "x_prenorm");
    const torch::Tensor normed = run.cache["hook_ln_final"];  // [B, 1 + registers + patches, D]
    check(run.output, r.float_tensor("x_norm_clstoken" + sfx), "x_norm_clstoken" + sfx);
    if (registers > 0) check(normed.narrow(1, 1, registers), r.float_tensor("x_norm_regtokens" + sfx), "x_norm_regtokens");
    check(normed.narrow(1, 1 + registers, rows * cols), r.float_tensor("x_norm_patchtokens" + sfx), "x_norm_patchtokens");
    if (!sfx.empty()) {  // DINOv2's table: CLS row, then the resized patch rows (no register rows)
      const int prefix = m.model->cfg().n_prefix();
      const torch::Tensor table = interpolatePositions(m.model->pos_embed->W_pos, prefix, native, rows, cols,
                                                       m.model->cfg().pos_interpolation);
      const torch::Tensor dino = torch::cat({table.narrow(0, 0, 1), table.narrow(0, prefix, rows * cols)}).unsqueeze(0);
      check(dino, r.float_tensor("pos_embed" + sfx), "pos_embed" + sfx);
    }
  }

  // A bare hub checkpoint (no config.json): the hub's rule picks the interpolation.
  void dinov2BareCheckpoint() {
    const std::string dir = tmp_.filePath("bare").toStdString();
    fs::create_directories(dir);
    fs::copy_file(fixture("dinov2_hub/dinov2_vits8_reg4_pretrain.pth"), dir + "/dinov2_vits8_reg4_pretrain.pth");
    io::LoadOptions options;
    options.n_heads = 4;
    io::LoadedModel m = io::loadModel(dir + "/dinov2_vits8_reg4_pretrain.pth", options);
    QVERIFY(m.model->cfg().pos_interpolation == PosInterpolation::BicubicAntialias);
    io::SafeTensorsFile r(fixture("dinov2_hub/reference.safetensors"));
    torch::NoGradGuard no_grad;
    check(m.model->forward(r.float_tensor("pixel_values_rect")), r.float_tensor("x_norm_clstoken_rect"), "bare rect");
  }

  void hostile() {
    const std::string dir = tmp_.filePath("hostile").toStdString();
    fs::create_directories(dir);
    // A config naming an interpolation the hub never used.
    std::ifstream in(fixture("dinov2_hub/config.json"));
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.replace(text.find("\"interpolate_offset\": 0.0"), 25, "\"interpolate_offset\": 0.3");
    std::ofstream(dir + "/config.json") << text;
    fs::create_symlink(fixture("dinov2_hub/dinov2_vits8_reg4_pretrain.pth"), dir + "/dinov2_vits8_reg4_pretrain.pth");
    expectError([&] { io::loadModel(dir); }, "config.json", "interpolate_offset");
    // A truncated checkpoint.
    std::ifstream w(fixture("dinov2_hub_p14/dinov2_vits14_pretrain.pth"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(w)), {});
    const std::string cut = tmp_.filePath("dinov2_vits14_pretrain.pth").toStdString();
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
    expectError([&] { io::loadModel(cut); }, "dinov2_vits14_pretrain.pth", "");
    // A model without interpolation refuses another size, naming the input.
    io::LoadedModel siglip = io::loadModel(fixture("timm_vit_map_siglip"));
    expectError([&] { siglip.model->forward(torch::zeros({1, 3, 48, 48})); }, "input", "pixel_values");
  }

  void cliInfo_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QStringList>("lines");
    QTest::newRow("dinov2") << "dinov2_hub"
                            << QStringList{"Family:    dinov2", "Registers: 4", "Interpolation: bicubic_antialias",
                                           "Zero-shot: none"};
    QTest::newRow("dinov2 p14") << "dinov2_hub_p14" << QStringList{"Registers: 0", "Interpolation: bicubic_offset"};
    QTest::newRow("siglip") << "timm_vit_map_siglip"
                            << QStringList{"Pooling:   map (attention-pool head)", "Interpolation: none"};
  }
  void cliInfo() {
    QFETCH(QString, model);
    QFETCH(QStringList, lines);
    const auto result = test::runPrisma({"info", QString::fromStdString(fixture(model.toStdString()))}, {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    for (const auto& l : lines) QVERIFY2(result.out.contains(l), qPrintable(l + " not in:\n" + result.out));
  }

  // A config whose sizes disagree with the MAP head's tensors names the file and the tensor.
  void mapWrongShape() {
    const std::string dir = tmp_.filePath("map_heads").toStdString();
    fs::create_directories(dir);
    std::ifstream in(fixture("timm_vit_map_siglip/config.json"));
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.replace(text.find("\"mlp_ratio\": 2.0"), 16, "\"mlp_ratio\": 3.0");
    std::ofstream(dir + "/config.json") << text;
    fs::create_symlink(fixture("timm_vit_map_siglip/model.safetensors"), dir + "/model.safetensors");
    expectError([&] { io::loadModel(dir); }, "model.safetensors", "blocks.0.mlp.fc2.weight");
  }

  void cliRunAtAnotherSize() {
    const std::string out = tmp_.filePath("dino_rect.safetensors").toStdString();
    const auto result = test::runPrisma(
        {"run", QString::fromStdString(fixture("dinov2_hub")), "--input",
         QString::fromStdString(fixture("dinov2_hub/reference.safetensors") + ":pixel_values_rect"), "--out",
         QString::fromStdString(out)},
        {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    io::SafeTensorsFile got(out), r(fixture("dinov2_hub/reference.safetensors"));
    check(got.float_tensor("output"), r.float_tensor("x_norm_clstoken_rect"), "cli x_norm_clstoken_rect");
    check(got.float_tensor(hookName(2, "hook_resid_post")), r.float_tensor("x_prenorm_rect"), "cli x_prenorm_rect");
  }
};

QTEST_GUILESS_MAIN(TestRegisterVits)
#include "tst_register_vits.moc"
