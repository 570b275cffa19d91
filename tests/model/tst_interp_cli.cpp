// `prisma patch`, `prisma attention` and `prisma lens` as a user runs them, against the
// patching reference (../shared/fixtures/hf_vit_classifier/patching_reference.safetensors):
// the numbers must survive the command line and the file formats.

#include "Tolerances.h"
#include "CliProcess.h"
#include "TestUtil.h"

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
