// The `prisma` command line as later tooling uses it: `run` writes every hook under its
// full name plus `output`, and `info` reports the model and the compute set-up. Written
// files are also checked by ../shared/tools/st.py, an independent reader.

#include "Tolerances.h"
#include "CliProcess.h"
#include "TestUtil.h"

#include "model/io/SafeTensors.h"

#include <QTemporaryDir>
#include <QtTest>

#include <set>

using prisma::test::fixture;
using prisma::test::relL2;

namespace {
using prisma::test::kGoldenTolerance;
}  // namespace

class TestCli : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  using Result = prisma::test::CliResult;
  Result run(const QString& program, const QStringList& args) { return prisma::test::runProcess(program, args); }
  Result prisma(const QStringList& args) { return prisma::test::runPrisma(args); }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void runWritesEveryHookAndOutput() {
    const QString out = tmp_.filePath("cache.safetensors");
    const QString model = QString::fromStdString(fixture("hf_vit_classifier"));
    const QString input = QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors")) + ":pixel_values";
    auto r = prisma({"run", model, "--input", input, "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));

    prisma::io::SafeTensorsFile written(out.toStdString());
    prisma::io::SafeTensorsFile ref(fixture("hf_vit_classifier/reference.safetensors"));
    const auto names = written.names();
    const std::set<std::string> keys(names.begin(), names.end());
    QVERIFY(keys.count("output"));
    QVERIFY(keys.count("blocks.2.attn.hook_pattern"));
    QVERIFY(keys.count("ln_final.hook_scale"));
    QVERIFY(relL2(written.tensor("output"), ref.tensor("logits")) <= kGoldenTolerance);
    QVERIFY(relL2(written.tensor("blocks.1.attn.hook_pattern"), ref.tensor("attentions.1")) <= kGoldenTolerance);

    // A second, independent reader of what we wrote.
    const QString st = QStringLiteral(PRISMA_SHARED_TOOLS_DIR "/st.py");
    if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("python3 not installed");
    auto cmp = run("python3", {st, "cmp", out, "blocks.0.attn.hook_pattern",
                               QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors")),
                               "attentions.0", "--rtol", "1e-5"});
    QVERIFY2(cmp.code == 0, qPrintable(cmp.out + cmp.err));
  }

  void runFiltersNamesAndPicksOneImage() {
    const QString out = tmp_.filePath("filtered.safetensors");
    const QString input = QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors")) + ":pixel_values:1";
    auto r = prisma({"run", QString::fromStdString(fixture("hf_vit_classifier")), "--input", input, "--out", out,
                     "--names", "hook_pattern$", "--names", "^blocks\\.0\\.hook_resid_pre$"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QCOMPARE(written.names().size(), size_t(3 + 1 + 1));
    prisma::io::SafeTensorsFile ref(fixture("hf_vit_classifier/reference.safetensors"));
    QVERIFY(relL2(written.tensor("output"), ref.tensor("logits").slice(0, 1, 2)) <= kGoldenTolerance);
  }

  void runWritesThePoolerOutputOfAViTModel() {
    const QString out = tmp_.filePath("pooler.safetensors");
    const QString ref = QString::fromStdString(fixture("hf_vit_model/reference.safetensors"));
    auto r = prisma({"run", QString::fromStdString(fixture("hf_vit_model")), "--input", ref + ":pixel_values", "--out",
                     out, "--names", "^$"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    prisma::io::SafeTensorsFile expected(ref.toStdString());
    QVERIFY(relL2(written.tensor("pooler_output"), expected.tensor("pooler_output")) <= kGoldenTolerance);
  }

  void runOnAnImageFile() {
    const QString out = tmp_.filePath("image.safetensors");
    auto r = prisma({"run", QString::fromStdString(fixture("hf_vit_classifier")), "--input",
                     QString::fromStdString(fixture("images/chelsea.png")), "--out", out, "--names", "^$"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    prisma::io::SafeTensorsFile written(out.toStdString());
    QCOMPARE(written.entry("output").shape, (std::vector<int64_t>{1, 10}));
  }

  // A pattern std::regex cannot compile is a usage error naming the option, not the
  // library's message alone.
  void runRefusesABadNamesPattern() {
    auto r = prisma({"run", QString::fromStdString(fixture("hf_vit_classifier")), "--input",
                     QString::fromStdString(fixture("images/chelsea.png")), "--out", tmp_.filePath("bad.safetensors"),
                     "--names", "blocks.(0"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--names") && r.err.contains("blocks.(0"), qPrintable(r.err));
  }

  void infoReportsModelAndRuntime() {
    auto r = prisma({"info", QString::fromStdString(fixture("hf_vit_classifier"))});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("hf-vit-classifier"));
    // The element count of every tensor in the fixture's model.safetensors.
    QVERIFY2(r.out.contains("Params:    114698"), qPrintable(r.out));
    QVERIFY(r.out.contains("LibTorch:"));
    QVERIFY(r.out.contains("BLAS:"));
    QVERIFY(r.out.contains("threads"));
  }

  void errorsNameTheFileAndExitNonZero() {
    auto r = prisma({"info", tmp_.filePath("missing-model")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("missing-model"), qPrintable(r.err));
    auto bad = prisma({"run", QString::fromStdString(fixture("hf_vit_classifier")), "--input",
                       QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors")) + ":nope",
                       "--out", tmp_.filePath("x.safetensors")});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("'nope'"), qPrintable(bad.err));
    auto usage = prisma({"run", "--frobnicate"});
    QCOMPARE(usage.code, 2);
  }

  // Every command answers --help on stdout with exit 0 (it once said "unknown option --help"),
  // and its help names an option the command really reads.
  void everyCommandAnswersHelp_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("info") << QStringList{"info", "--help"} << "--classes";
    QTest::newRow("run") << QStringList{"run", "--help"} << "--input";
    QTest::newRow("run, after a model") << QStringList{"run", "mouse:induction-2L", "--help"} << "--names";
    QTest::newRow("tokenize") << QStringList{"tokenize", "-h"} << "--context";
    QTest::newRow("bench") << QStringList{"bench", "--help"} << "sae-train";
    QTest::newRow("convert") << QStringList{"convert", "--help"} << "--storage";
    QTest::newRow("export") << QStringList{"export", "--help"} << "--format";
    QTest::newRow("patch") << QStringList{"patch", "--help"} << "--component";
    QTest::newRow("patch-dataset") << QStringList{"patch-dataset", "--help"} << "--pairs";
    QTest::newRow("attention") << QStringList{"attention", "--help"} << "--rollout";
    QTest::newRow("lens") << QStringList{"lens", "--help"} << "--image";
    QTest::newRow("zoo") << QStringList{"zoo", "--help"} << "--manifest";
    QTest::newRow("eval") << QStringList{"eval", "--help"} << "--split";
    QTest::newRow("train") << QStringList{"train", "--help"} << "--set";
    QTest::newRow("sae") << QStringList{"sae", "--help"} << "train";
    QTest::newRow("dataset") << QStringList{"dataset", "--help"} << "export";
  }
  void everyCommandAnswersHelp() {
    QFETCH(QStringList, args);
    QFETCH(QString, mentions);
    const auto r = prisma(args);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(mentions), qPrintable(r.out));
    const QString command = args.first() + " ";
    QVERIFY2(r.out.contains("  " + command) || r.out.contains("prisma " + command), qPrintable(r.out));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
