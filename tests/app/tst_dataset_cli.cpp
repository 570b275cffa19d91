// `prisma dataset`: the listing, per-class counts and PNG export later tooling reads.

#include "CliProcess.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

using prisma::test::runPrisma;

class TestDatasetCli : public QObject {
  Q_OBJECT

private slots:
  void listShowsSizes() {
    const auto r = runPrisma({"dataset", "list"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains(QRegularExpression(QStringLiteral("induction\\s+5872\\s+656\\s+4"))));
    QVERIFY(r.out.contains(QRegularExpression(QStringLiteral("circle\\s+885\\s+885\\s+60"))));
  }

  void infoCountsPerClass() {
    const auto r = runPrisma({"dataset", "info", "induction", "--split", "test"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("656"));
    QCOMPARE(r.out.count(QRegularExpression(QStringLiteral("\\s164\\n"))), 4);
  }

  void exportWritesPngsAndLabels() {
    QTemporaryDir dir;
    const auto r = runPrisma({"dataset", "export", "circle", "--split", "test", "--count", "4", "--out", dir.path()});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile csv(dir.filePath("labels.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 5);
    QCOMPARE(lines[0], QStringLiteral("file,label,class_name,a,b"));
    for (int i = 1; i < lines.size(); ++i) {
      const QStringList f = lines[i].split(',');
      QCOMPARE((f[3].toInt() + f[4].toInt()) % 60, f[1].toInt());  // label = (a + b) mod 60
      const QImage png(dir.filePath(f[0]));
      QCOMPARE(png.size(), QSize(32, 32));
    }
  }

  void unknownDatasetIsAnError() {
    const auto r = runPrisma({"dataset", "info", "no-such-set"});
    QVERIFY(r.code != 0);
    QVERIFY(r.err.contains("no-such-set"));
  }
};

QTEST_GUILESS_MAIN(TestDatasetCli)
#include "tst_dataset_cli.moc"
