// The model-file commands as a user runs them: `prisma run` on every fixture format,
// `prisma convert` (reload gives the same outputs), `prisma export` (an upload-ready
// folder, or a refusal with the reason and nothing written). Written files are also read
// by ../shared/tools/st.py, an independent safetensors reader.

#include "Tolerances.h"
#include "CliProcess.h"
#include "TestUtil.h"

#include "model/io/SafeTensors.h"

#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using prisma::test::fixture;
using prisma::test::relL2;
namespace fs = std::filesystem;

using prisma::test::kGoldenTolerance;
using prisma::test::kPatchTolerance;
// Int8 blocks move each weight by up to half a step (max|block| / 254); through this
// random-init fixture, whose logits are small sums of cancelling terms, that is ~2.5 %.
constexpr double kInt8OutputTolerance = prisma::test::kReducedStorageTolerance;

class TestLoaderCli : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  using Result = prisma::test::CliResult;
  // These tests check files, not speed: no BLAS re-exec.
  static constexpr prisma::test::CliOptions kQuickStart{120'000, true};
  Result run(const QString& program, const QStringList& args) {
    return prisma::test::runProcess(program, args, kQuickStart);
  }
  Result prisma(const QStringList& args) { return run(QStringLiteral(PRISMA_CLI_PATH), args); }

  static QString fx(const std::string& relative) { return QString::fromStdString(fixture(relative)); }
  static QString referenceOf(const QString& model) {
    QString dir = model;
    if (dir.contains("/checkpoints/")) dir = dir.left(dir.indexOf("/checkpoints/"));
    else if (dir.endsWith(".bin") || dir.endsWith(".pth")) dir = dir.left(dir.lastIndexOf('/'));
    return fx(dir.toStdString() + "/reference.safetensors");
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void runOnEveryFixture_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("reference");  // compared with the run's `output`, "" = none
    QTest::newRow("hf classifier .bin") << "hf_vit_classifier/pytorch_model.bin" << "logits";
    QTest::newRow("hf ViTModel") << "hf_vit_model" << "";
    QTest::newRow("timm") << "timm_vit" << "logits";
    QTest::newRow("timm .bin") << "timm_vit/pytorch_model.bin" << "logits";
    QTest::newRow("timm avg pool") << "timm_vit_avgpool" << "logits";
    QTest::newRow("timm avg pool .bin") << "timm_vit_avgpool/pytorch_model.bin" << "logits";
    QTest::newRow("CLIP vision") << "hf_clip_vision" << "image_embeds";
    QTest::newRow("mouse 2L") << "legacy_mice/legacy_2L_full_LN" << "logits";
    QTest::newRow("mouse induction .pth") << "legacy_mice/legacy_induction_1L_attn_only_noLN/checkpoints/model_64.pth"
                                          << "logits";
  }

  void runOnEveryFixture() {
    QFETCH(QString, model);
    QFETCH(QString, reference);
    const QString out = tmp_.filePath("run-" + QString(model).replace('/', '_') + ".safetensors");
    auto r = prisma({"run", fx(model.toStdString()), "--input", referenceOf(model) + ":pixel_values", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QVERIFY(written.contains("blocks.0.attn.hook_pattern"));
    if (reference.isEmpty()) return;
    prisma::io::SafeTensorsFile ref(referenceOf(model).toStdString());
    const double err = relL2(written.tensor("output"), ref.tensor(reference.toStdString()));
    QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  void convertThenRunGivesTheSameOutput_data() {
    QTest::addColumn<QString>("model");
    // Every family's round trip is in test_loaders; here the command itself, on a pickled
    // file and on a legacy run folder.
    QTest::newRow("hf .bin") << "hf_vit_classifier/pytorch_model.bin";
    QTest::newRow("mouse") << "legacy_mice/legacy_2L_full_LN";
  }

  void convertThenRunGivesTheSameOutput() {
    QFETCH(QString, model);
    const QString name = QString(model).replace('/', '_');
    const QString dir = tmp_.filePath("converted-" + name);
    auto c = prisma({"convert", fx(model.toStdString()), dir});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QVERIFY2(c.out.contains("reloaded outputs identical"), qPrintable(c.out));
    const QString input = referenceOf(model) + ":pixel_values";
    const QString a = tmp_.filePath("orig-" + name + ".safetensors"), b = tmp_.filePath("conv-" + name + ".safetensors");
    QCOMPARE(prisma({"run", fx(model.toStdString()), "--input", input, "--out", a, "--names", "^$"}).code, 0);
    QCOMPARE(prisma({"run", dir, "--input", input, "--out", b, "--names", "^$"}).code, 0);
    prisma::io::SafeTensorsFile ta(a.toStdString()), tb(b.toStdString());
    QVERIFY(torch::equal(ta.tensor("output"), tb.tensor("output")));
    QVERIFY(fs::exists(fs::path(dir.toStdString()) / "README.md"));
  }

  // --storage int8 writes the blocks (readable by an independent reader as plain
  // safetensors), reports how far the outputs moved, and the folder runs; a bad value is a
  // usage error.
  void convertToInt8Storage() {
    const QString dir = tmp_.filePath("converted-int8");
    auto c = prisma({"convert", fx("hf_vit_classifier"), dir, "--storage", "int8"});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QVERIFY2(c.out.contains("int8 weights; reloaded outputs within relative L2"), qPrintable(c.out));
    prisma::io::SafeTensorsFile st((dir + "/model.safetensors").toStdString());
    QCOMPARE(st.entry("blocks.0.attn.W_Q").dtype, std::string("I8"));
    QCOMPARE(st.metadata().at("prisma.quantization"), std::string("int8_blocks"));
    const QString input = referenceOf("hf_vit_classifier") + ":pixel_values", out = tmp_.filePath("int8-run.safetensors");
    auto r = prisma({"run", dir, "--input", input, "--out", out, "--names", "^$"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile ref(referenceOf("hf_vit_classifier").toStdString());
    const double err = relL2(prisma::io::SafeTensorsFile(out.toStdString()).tensor("output"), ref.tensor("logits"));
    QVERIFY2(err > 0.0 && err < kInt8OutputTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    QCOMPARE(prisma({"convert", fx("hf_vit_classifier"), tmp_.filePath("x"), "--storage", "int4"}).code, 2);
  }

  // --fold-ln --center-writing-weights --fold-value-biases: the saved weights are the
  // processed ones (LayerNorm weights gone into the readers, so ln1.w is absent; every
  // W_O centred along d_model) and the folder still gives the reference logits.
  void convertWithWeightProcessing() {
    const QString dir = tmp_.filePath("converted-processed");
    auto c = prisma({"convert", fx("hf_vit_classifier"), dir, "--fold-ln", "--center-writing-weights",
                     "--fold-value-biases"});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QVERIFY2(c.out.contains("processed weights reproduce the original's outputs"), qPrintable(c.out));
    prisma::io::SafeTensorsFile st((dir + "/model.safetensors").toStdString());
    QVERIFY(!st.contains("blocks.0.ln1.w"));
    const torch::Tensor W_O = st.tensor("blocks.0.attn.W_O");  // [head, d_head, d_model]
    QVERIFY2(W_O.mean(-1).abs().max().item<double>() < 1e-5, "W_O is not centred along d_model");
    const QString input = referenceOf("hf_vit_classifier") + ":pixel_values", out = tmp_.filePath("processed-run.safetensors");
    auto r = prisma({"run", dir, "--input", input, "--out", out, "--names", "^$"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile ref(referenceOf("hf_vit_classifier").toStdString());
    const double err = relL2(prisma::io::SafeTensorsFile(out.toStdString()).tensor("output"), ref.tensor("logits"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    // A model whose function folding would change (post-LN blocks) is refused with the
    // reason, and nothing is written.
    auto bad = prisma({"convert", fx("legacy_mice/legacy_2L_full_LN"), tmp_.filePath("bad"), "--fold-ln"});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("pre-LN"), qPrintable(bad.err));
    QVERIFY2(!fs::exists(fs::path(tmp_.filePath("bad").toStdString()) / "model.safetensors"), "wrote a folder anyway");
  }

  void exportWritesAnUploadReadyFolder() {
    const QString dir = tmp_.filePath("export-hf");
    auto r = prisma({"export", fx("timm_vit"), dir, "--format", "hf"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    for (const char* f : {"config.json", "model.safetensors", "preprocessor_config.json", "README.md"})
      QVERIFY2(fs::exists(fs::path(dir.toStdString()) / f), f);
    if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("python3 not installed");
    auto keys = run("python3", {QStringLiteral(PRISMA_SHARED_TOOLS_DIR "/st.py"), "keys", dir + "/model.safetensors"});
    QVERIFY2(keys.code == 0, qPrintable(keys.err));
    QVERIFY2(keys.out.contains("vit.encoder.layer.2.attention.attention.query.weight"), qPrintable(keys.out));
  }

  void exportRefusesWithTheReason() {
    const QString dir = tmp_.filePath("export-refused");
    auto r = prisma({"export", fx("legacy_mice/legacy_2L_full_LN"), dir, "--format", "timm"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("post-LN"), qPrintable(r.err));
    QVERIFY(!fs::exists(dir.toStdString()));
    auto usage = prisma({"export", fx("timm_vit"), dir, "--format", "onnx"});
    QCOMPARE(usage.code, 2);
  }

  void forbiddenPickleIsAnError() {
    // A zip whose data.pkl calls os.system: refused by name, exit 1, nothing run.
    const QString marker = tmp_.filePath("pwned");
    const QString bin = tmp_.filePath("evil/pytorch_model.bin");
    fs::create_directories(tmp_.filePath("evil").toStdString());
    const QString script = QStringLiteral(
        "import zipfile,sys\n"
        "z=zipfile.ZipFile(sys.argv[1],'w')\n"
        "z.writestr('evil/data.pkl', b'\\x80\\x02cos\\nsystem\\nX' + len(sys.argv[2]).to_bytes(4,'little') + "
        "sys.argv[2].encode() + b'\\x85R.')\n"
        "z.writestr('evil/version', '3\\n')\n");
    if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("python3 not installed");
    auto w = run("python3", {"-c", script, bin, "touch " + marker});
    QVERIFY2(w.code == 0, qPrintable(w.err));
    auto r = prisma({"info", bin});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("os.system") && r.err.contains("pytorch_model.bin"), qPrintable(r.err));
    QVERIFY(!fs::exists(marker.toStdString()));
  }
};

QTEST_GUILESS_MAIN(TestLoaderCli)
#include "tst_loader_cli.moc"
