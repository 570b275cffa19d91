// The Images panel's MNIST-missing message names a fetch command that exists for the copy
// that runs: <bin>/prisma-fetch-data beside the executable in an install, the source tree's
// scripts/fetch-data.sh in a build. Registered on its own (the build's branch) and run by
// test_install from a copy inside the installed bin/ (the install's branch).

#include "app/explorer/ImagesPanel.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

class TestInstalledFetchHint : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));  // the panel remembers its dataset
  }

  void mnistMissingNamesTheFetcherOfThisCopy() {
    QTemporaryDir empty;
    qputenv("PRISMA_DATA_DIR", empty.path().toUtf8());
    prisma::app::ImagesPanel panel;
    const bool shown = panel.showDataset(QStringLiteral("mnist"), QStringLiteral("test"));
    qunsetenv("PRISMA_DATA_DIR");
    QVERIFY(!shown);
    auto* message = panel.findChild<QLabel*>(QStringLiteral("datasetMessage"));
    QVERIFY(message);
    const QString text = message->toolTip();  // the text without the wrapping hints
    const QString installed = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("prisma-fetch-data"));
    const QRegularExpression command(QStringLiteral("Fetch it with:\\n(\\S+)"));
    const auto m = command.match(text);
    QVERIFY2(m.hasMatch(), qPrintable(text));
    const QString named = m.captured(1);
    QVERIFY2(QFileInfo(named).isAbsolute() && QFileInfo(named).isExecutable(), qPrintable(text));
    if (QFileInfo::exists(installed)) QCOMPARE(named, QDir::cleanPath(installed));
    else QVERIFY2(named.endsWith(QStringLiteral("scripts/fetch-data.sh")), qPrintable(text));
    QVERIFY2(text.contains(empty.path() + QStringLiteral("/mnist")), qPrintable(text));  // where the files go
  }
};

QTEST_MAIN(TestInstalledFetchHint)
#include "tst_installed_fetch_hint.moc"
