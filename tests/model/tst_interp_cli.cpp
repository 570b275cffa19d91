// `prisma patch`, `prisma attention` and `prisma lens` as a user runs them, against the
// patching reference (../shared/fixtures/hf_vit_classifier/patching_reference.safetensors):
// the numbers must survive the command line and the file formats.

#include "Tolerances.h"
#include "CliProcess.h"
#include "TestUtil.h"

#include "model/clip/ClipModel.h"
#include "model/clip/ZeroShot.h"
#include "model/io/InputSpec.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"

#include <QFile>
#include <QImage>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using prisma::test::fixture;
using prisma::test::relL2;

namespace {
constexpr int kTimeoutMs = 120000;
// Patched and unpatched runs batch differently, so equal numbers agree to float rounding.
constexpr double kSameRunTolerance = 1e-5;
constexpr int kClipTokens = 17;    // open_clip_vit: CLS + 4x4 patches
constexpr int kDinoTokens = 21;    // dinov2_hub: CLS + 4 registers + 4x4 patches
constexpr int kFixtureLayers = 3;  // both fixtures
using prisma::test::kPatchTolerance;
constexpr int kExitUsage = 2;
}  // namespace

class TestInterpCli : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  QString model_, inputs_;

  using Result = prisma::test::CliResult;
  Result prisma(const QStringList& args) { return prisma::test::runPrisma(args); }

  QStringList pairArgs() const {
    return {"--clean", inputs_ + ":pixel_values:0", "--corrupt", inputs_ + ":pixel_values:1"};
  }

  static QString image(const char* name) {
    return QString::fromStdString(fixture(std::string("images/") + name));
  }

  static QString allPositions(int tokens) {
    QStringList all;
    for (int p = 0; p < tokens; ++p) all << QString::number(p);
    return all.join(',');
  }

  static double scalar(prisma::io::SafeTensorsFile& f, const char* name) { return f.float_tensor(name).item<double>(); }

  static QStringList readLines(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
    return QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  }

private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    model_ = QString::fromStdString(fixture("hf_vit_classifier"));
    inputs_ = QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors"));
  }

  void patchMatchesReference_data() {
    QTest::addColumn<QString>("component");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("reference");
    QTest::newRow("resid_pre exact") << "resid_pre" << "exact" << "resid_pre_patch";
    QTest::newRow("head_z exact") << "head_z" << "exact" << "head_z_patch";
    QTest::newRow("resid_pre attribution") << "resid_pre" << "attribution" << "resid_pre_attribution";
  }

  // Without --labels, A is the clean top class and B the corrupted one: the reference's [0, 3].
  void patchMatchesReference() {
    QFETCH(QString, component);
    QFETCH(QString, method);
    QFETCH(QString, reference);
    const QString out = tmp_.filePath(component + "_" + method + ".safetensors");
    auto r = prisma(QStringList{"patch", model_} + pairArgs() +
                    QStringList{"--component", component, "--method", method, "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    prisma::io::SafeTensorsFile ref(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const double err = relL2(written.tensor("result"), ref.tensor(reference.toStdString()));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    QVERIFY(relL2(written.tensor("clean_metric"), ref.tensor("clean_metric")) < kPatchTolerance);
    QVERIFY(relL2(written.tensor("corrupt_metric"), ref.tensor("corrupt_metric")) < kPatchTolerance);
    QVERIFY(torch::equal(written.tensor("labels"), ref.tensor("labels")));
    QCOMPARE(written.metadata().at("component"), component.toStdString());

    // A second, independent reader of what we wrote.
    if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("python3 not installed");
    QProcess cmp;
    cmp.start("python3", {QStringLiteral(PRISMA_SHARED_TOOLS_DIR "/st.py"), "cmp", out, "result",
                          QString::fromStdString(fixture("hf_vit_classifier/patching_reference.safetensors")),
                          reference, "--rtol", "1e-4"});
    QVERIFY(cmp.waitForFinished(kTimeoutMs));
    QVERIFY2(cmp.exitCode() == 0, qPrintable(QString::fromUtf8(cmp.readAll())));
  }

  void patchWritesOneCsvRowPerCell() {
    const QString out = tmp_.filePath("head_z_by_pos.csv");
    auto r = prisma(QStringList{"patch", model_} + pairArgs() +
                    QStringList{"--component", "head_z_by_pos", "--labels", "0,3", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = readLines(out);
    QCOMPARE(lines.size(), 1 + 3 * 17 * 4);
    QCOMPARE(lines[0], QStringLiteral("layer,pos,head,value"));
    QVERIFY(lines[1].startsWith("0,0,0,"));
    QVERIFY(lines.last().startsWith("2,16,3,"));
  }

  // --normalize: patching all positions of resid_pre at any layer restores the clean run (1).
  void patchNormalizedPositionSet() {
    const QString out = tmp_.filePath("all_positions.safetensors");
    QStringList all;
    for (int p = 0; p < 17; ++p) all << QString::number(p);
    auto r = prisma(QStringList{"patch", model_} + pairArgs() +
                    QStringList{"--component", "resid_pre", "--positions", all.join(','), "--normalize", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    const torch::Tensor result = written.tensor("result");
    QCOMPARE(result.sizes().vec(), std::vector<int64_t>{3});
    QVERIFY((result - 1).abs().max().item<double>() < 1e-4);
  }

  void patchUsageErrors_data() {
    QTest::addColumn<QStringList>("extra");
    QTest::newRow("unknown component") << QStringList{"--component", "resid", "--out", "x.safetensors"};
    QTest::newRow("bad extension") << QStringList{"--component", "resid_pre", "--out", "x.txt"};
    QTest::newRow("labels with prob") << QStringList{"--component", "resid_pre", "--metric", "prob", "--labels", "0,3", "--out", "x.csv"};
    QTest::newRow("class out of range") << QStringList{"--component", "resid_pre", "--labels", "0,10", "--out", "x.csv"};
    QTest::newRow("bad method") << QStringList{"--component", "resid_pre", "--method", "fast", "--out", "x.csv"};
  }

  void patchUsageErrors() {
    QFETCH(QStringList, extra);
    auto r = prisma(QStringList{"patch", model_} + pairArgs() + extra);
    QVERIFY2(r.code == kExitUsage || r.code == 1, qPrintable(r.err));
    QVERIFY(!r.err.isEmpty());
  }

  void patchRefusesABatch() {
    auto r = prisma({"patch", model_, "--clean", inputs_ + ":pixel_values", "--corrupt", inputs_ + ":pixel_values:1",
                "--component", "resid_pre", "--out", tmp_.filePath("x.csv")});
    QCOMPARE(r.code, kExitUsage);
  }

  void attentionRolloutMatchesReference() {
    const QString out = tmp_.filePath("rollout.safetensors"), png = tmp_.filePath("rollout.png");
    auto r = prisma({"attention", model_, "--image", inputs_ + ":pixel_values", "--rollout", "--out", out, "--png", png});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    prisma::io::SafeTensorsFile ref(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const double err = relL2(written.tensor("rollout"), ref.tensor("rollout"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    // The map is the CLS row over the 4x4 patches.
    const torch::Tensor map = written.tensor("map");
    QCOMPARE(map.sizes().vec(), (std::vector<int64_t>{2, 4, 4}));
    QVERIFY(torch::allclose(map.flatten(1), ref.tensor("rollout").select(1, 0).slice(1, 1), 1e-4, 1e-6));
    const QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() > image.height());  // the colour bar sits beside the heatmap
  }

  void attentionHeadAndGridPngs() {
    const QString one = tmp_.filePath("head.png"), grid = tmp_.filePath("grid.png");
    const QString csv = tmp_.filePath("head.csv");
    auto r = prisma({"attention", model_, "--image", inputs_ + ":pixel_values:0", "--layer", "1", "--head", "2",
                     "--query", "1,2", "--png", one, "--out", csv});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(!QImage(one).isNull());
    const QStringList lines = readLines(csv);
    QCOMPARE(lines.size(), 1 + 16);
    QCOMPARE(lines[0], QStringLiteral("image,row,col,value"));
    double sum = 0;
    for (int i = 1; i < lines.size(); ++i) sum += lines[i].section(',', 3, 3).toDouble();
    QVERIFY(sum > 0 && sum <= 1 + 1e-5);  // a distribution over the patches (less CLS's share)

    r = prisma({"attention", model_, "--image", inputs_ + ":pixel_values:0", "--grid", "--png", grid});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QImage g(grid);
    QVERIFY(!g.isNull());
    QVERIFY(g.width() > 4 * 96 && g.height() > 3 * 96);  // 3 layers x 4 heads of thumbnails

    r = prisma({"attention", model_, "--image", inputs_ + ":pixel_values:0", "--relevancy", "0", "--png",
                tmp_.filePath("relevancy.png")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = prisma({"attention", model_, "--image", inputs_ + ":pixel_values:0", "--rollout", "--grid", "--png", grid});
    QCOMPARE(r.code, kExitUsage);
  }

  // --- CLIP with zero-shot classes, and models without classes ----------------------------

  // The class metrics on a CLIP read its zero-shot head: the unpatched logit difference
  // equals the library's, i.e. CLIP's zeroShotLogits difference times the image
  // embedding's norm (ZeroShot.h); --labels may name the classes.
  void patchClipZeroShotClasses() {
    const QString classes = tmp_.filePath("classes.txt");
    {
      QFile f(classes);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("# the fixture photos\nastronaut\ncat\nrocket\ncoffee\n");
    }
    const QString tmpl = QStringLiteral("a picture of a {}");
    const QString out = tmp_.filePath("clip_logit_diff.safetensors");
    const QString model = QString::fromStdString(fixture("open_clip_vit"));
    auto r = prisma({"patch", model, "--clean", image("rocket.png"), "--corrupt", image("coffee.png"), "--component",
                     "resid_pre", "--positions", allPositions(kClipTokens), "--classes", classes, "--template", tmpl,
                     "--labels", "rocket,Coffee", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("logit_diff 2 (rocket),3 (coffee)"), qPrintable(r.out));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QVERIFY(torch::equal(written.tensor("labels"), torch::tensor({2.0f, 3.0f})));
    QCOMPARE(written.metadata().at("label_names"), std::string("rocket\ncoffee"));
    QCOMPARE(written.metadata().at("template"), tmpl.toStdString());

    prisma::clip::ClipModel clip = prisma::clip::loadClip(fixture("open_clip_vit"));
    const auto head = prisma::clip::buildZeroShotHead(clip, {"astronaut", "cat", "rocket", "coffee"}, tmpl.toStdString());
    auto diff = [&](const QString& path) {
      const torch::Tensor pixels = prisma::io::loadInput(path.toStdString(), clip.image);
      const torch::Tensor zs = prisma::clip::zeroShotLogits(clip, head, pixels)[0];  // [classes]
      const double norm = clip.encodeImage(pixels).norm().item<double>();
      return (zs[2] - zs[3]).item<double>() * norm;
    };
    const double clean = diff(image("rocket.png")), corrupt = diff(image("coffee.png"));
    QVERIFY2(std::abs(scalar(written, "clean_metric") - clean) <= kSameRunTolerance * (1 + std::abs(clean)),
             qPrintable(QStringLiteral("%1 vs %2").arg(scalar(written, "clean_metric")).arg(clean)));
    QVERIFY(std::abs(scalar(written, "corrupt_metric") - corrupt) <= kSameRunTolerance * (1 + std::abs(corrupt)));
    // Every position of the residual stream patched: the clean run, at every layer.
    const torch::Tensor result = written.float_tensor("result");
    QCOMPARE(result.sizes().vec(), std::vector<int64_t>{kFixtureLayers});
    QVERIFY((result - clean).abs().max().item<double>() <= kSameRunTolerance * (1 + std::abs(clean)));
  }

  // A model without classes (DINOv2) defaults to cosine_to_clean: the clean run scores 1,
  // the corrupted run cos(corrupt output, clean output), and patching every position of
  // resid_pre at any layer restores the clean output exactly.
  void patchDinoCosineToClean() {
    const QString out = tmp_.filePath("dino_cosine.safetensors");
    const QString model = QString::fromStdString(fixture("dinov2_hub"));
    auto r = prisma({"patch", model, "--clean", image("rocket.png"), "--corrupt", image("coffee.png"), "--component",
                     "resid_pre", "--positions", allPositions(kDinoTokens), "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QCOMPARE(written.metadata().at("metric"), std::string("cosine_to_clean"));
    QVERIFY(!written.contains("labels"));
    prisma::io::LoadedModel m = prisma::io::loadModel(fixture("dinov2_hub"));
    torch::NoGradGuard no_grad;
    const torch::Tensor clean = m.model->forward(prisma::io::loadInput(image("rocket.png").toStdString(), m));
    const torch::Tensor corrupt = m.model->forward(prisma::io::loadInput(image("coffee.png").toStdString(), m));
    const double cos = torch::cosine_similarity(corrupt, clean, 1).item<double>();
    QVERIFY(cos < 1 - 1e-3);  // the photos differ, so the metric has a range
    QVERIFY(std::abs(scalar(written, "clean_metric") - 1.0) < kSameRunTolerance);
    QVERIFY(std::abs(scalar(written, "corrupt_metric") - cos) < kSameRunTolerance);
    const torch::Tensor result = written.float_tensor("result");
    QCOMPARE(result.sizes().vec(), std::vector<int64_t>{kFixtureLayers});
    QVERIFY((result - 1).abs().max().item<double>() < kSameRunTolerance);

    // Normalised: (cos − cos_corrupt) / (1 − cos_corrupt); one position patched at layer 0
    // (CLS) checks the formula against the unnormalised sweep.
    const QString raw = tmp_.filePath("dino_cls.safetensors"), norm = tmp_.filePath("dino_cls_norm.safetensors");
    for (const QString& file : {raw, norm}) {
      QStringList args{"patch", model, "--clean", image("rocket.png"), "--corrupt", image("coffee.png"),
                       "--component", "resid_pre", "--positions", "0", "--metric", "cosine_to_clean", "--out", file};
      if (file == norm) args << "--normalize";
      r = prisma(args);
      QVERIFY2(r.code == 0, qPrintable(r.err));
    }
    const torch::Tensor a = prisma::io::SafeTensorsFile(raw.toStdString()).float_tensor("result");
    const torch::Tensor b = prisma::io::SafeTensorsFile(norm.toStdString()).float_tensor("result");
    QVERIFY(torch::allclose(b, (a - cos) / (1 - cos), 1e-4, 1e-5));
  }

  void patchWithoutClassesUsageErrors_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("needle");
    QTest::newRow("class metric on DINOv2") << "dinov2_hub" << QStringList{"--metric", "logit_diff"} << "cosine_to_clean";
    QTest::newRow("class metric on CLIP without classes") << "open_clip_vit" << QStringList{"--metric", "prob"} << "--classes";
    QTest::newRow("labels with cosine") << "dinov2_hub" << QStringList{"--labels", "0,1"} << "takes no";
    QTest::newRow("classes without a text tower") << "dinov2_hub" << QStringList{"--classes", "imagenet"} << "text tower";
    QTest::newRow("template without classes") << "open_clip_vit" << QStringList{"--template", "a {}"} << "--classes";
    QTest::newRow("unknown class name") << "open_clip_vit" << QStringList{"--classes", "imagenet", "--labels", "tench,unicorn"} << "unicorn";
  }

  void patchWithoutClassesUsageErrors() {
    QFETCH(QString, model);
    QFETCH(QStringList, extra);
    QFETCH(QString, needle);
    auto r = prisma(QStringList{"patch", QString::fromStdString(fixture(model.toStdString())), "--clean",
                                image("rocket.png"), "--corrupt", image("coffee.png"), "--component", "resid_pre",
                                "--out", tmp_.filePath("never.safetensors")} + extra);
    QCOMPARE(r.code, kExitUsage);
    QVERIFY2(r.err.contains(needle), qPrintable(r.err));
  }

  // patch-dataset shares the metric: a feature model's pairs are scored by cosine_to_clean.
  void patchDatasetCosineToClean() {
    const QString pairs = tmp_.filePath("pairs.csv");
    {
      QFile f(pairs);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write((image("rocket.png") + "," + image("coffee.png") + "\n" + image("chelsea.png") + "," +
               image("astronaut.png") + "\n").toUtf8());
    }
    const QString out = tmp_.filePath("dino_pairs.safetensors");
    auto r = prisma({"patch-dataset", QString::fromStdString(fixture("dinov2_hub")), "--pairs", pairs, "--component",
                     "resid_pre", "--positions", allPositions(kDinoTokens), "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QCOMPARE(written.metadata().at("metric"), std::string("cosine_to_clean"));
    QVERIFY((written.float_tensor("per_pair") - 1).abs().max().item<double>() < kSameRunTolerance);
    QVERIFY((written.float_tensor("clean_metric") - 1).abs().max().item<double>() < kSameRunTolerance);
  }

  // A dataset item named as the explorer names it (NAME/SPLIT/INDEX) is the same input as
  // that item exported to a PNG; an index past the split is an error naming the spec.
  void patchTakesDatasetItems() {
    const QString exported = tmp_.filePath("induction-items");
    auto r = prisma({"dataset", "export", "induction", "--split", "test", "--count", "8", "--out", exported});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto mouse = prisma::io::loadModel("mouse:induction-2L");
    const torch::Tensor fromItem = prisma::io::loadInput("induction/test/7", mouse);
    const torch::Tensor fromPng = prisma::io::loadInput((exported + "/test_000007.png").toStdString(), mouse);
    QVERIFY(torch::equal(fromItem, fromPng));
    QVERIFY(!torch::equal(fromItem, prisma::io::loadInput("induction/test/6", mouse)));

    const QString viaItems = tmp_.filePath("items.csv"), viaPngs = tmp_.filePath("pngs.csv");
    r = prisma({"patch", "mouse:induction-2L", "--clean", "induction/test/7", "--corrupt", "induction/test/6",
                "--component", "resid_pre", "--out", viaItems});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = prisma({"patch", "mouse:induction-2L", "--clean", exported + "/test_000007.png", "--corrupt",
                exported + "/test_000006.png", "--component", "resid_pre", "--out", viaPngs});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile a(viaItems), b(viaPngs);
    QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
    QCOMPARE(a.readAll(), b.readAll());

    r = prisma({"patch", "mouse:induction-2L", "--clean", "induction/test/99999", "--corrupt", "induction/test/6",
                "--component", "resid_pre", "--out", tmp_.filePath("never.csv")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("induction/test/99999") && r.err.contains("656"), qPrintable(r.err));
  }

  void lensWritesEveryPatchAndLayer() {
    const QString out = tmp_.filePath("lens.csv");
    auto r = prisma({"lens", model_, "--image", inputs_ + ":pixel_values", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = readLines(out);
    QCOMPARE(lines.size(), 1 + 2 * 4 * 17);  // images x (3 layers + final) x tokens
    QVERIFY(lines[0].startsWith("image,layer,stage,pos,row,col,top_class"));
    // The final stage's CLS row is the model's prediction: image 0 -> class 0, image 1 -> 3.
    for (const QString& line : lines) {
      const QStringList f = line.split(',');
      if (f[2] == "final_post" && f[3] == "0") QCOMPARE(f[6].toInt(), f[0] == "0" ? 0 : 3);
    }
  }
};

QTEST_GUILESS_MAIN(TestInterpCli)
#include "tst_interp_cli.moc"
