// The explorer on a CLIP (offscreen): the open_clip fixture loads, its zero-shot head is
// built from the user's class list on the job queue, and the Prediction dock then shows
// exactly CLIP's zero-shot prediction -- top-1 and probability equal to the softmax of the
// library's zeroShotLogits for the same image. A feature model (DINOv2) shows none, and
// the patching board offers it cosine_to_clean.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/clip/ClipModel.h"
#include "model/clip/ZeroShot.h"
#include "model/io/InputSpec.h"

#include <torch/torch.h>

#include "app/explorer/ClassListDialog.h"
#include "app/explorer/ZeroShotPanel.h"
#include "app/explorer/patching/PatchingBoard.h"
#include "app/gui/MainWindow.h"
#include "widgets/TopKBars.h"

#include <QAction>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QPushButton>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTextBrowser>
#include <QTimer>
#include <QtTest>

using namespace prisma;
using prisma::app::ImageRequest;
using prisma::app::MainWindow;

namespace {
constexpr int kWaitMs = 60000;
// The dock shows probabilities computed from the same float32 tensors as the reference.
constexpr double kProbTolerance = 1e-5;
const QString kFixtures = QStringLiteral(PRISMA_FIXTURES_DIR);
const QString kClip = kFixtures + QStringLiteral("/open_clip_vit");
const QString kDino = kFixtures + QStringLiteral("/dinov2_hub");
const QString kImage = kFixtures + QStringLiteral("/images/rocket.png");
const QStringList kClasses = {QStringLiteral("astronaut"), QStringLiteral("cat"), QStringLiteral("rocket"),
                              QStringLiteral("coffee cup"), QStringLiteral("dog")};
const QString kTemplate = QStringLiteral("a photo of a {}.");
}  // namespace

class TestZeroShotPanel : public QObject {
  Q_OBJECT

private:
  static bool waitReady(MainWindow& w) {
    QSignalSpy ready(&w, &MainWindow::viewsReady);
    return ready.wait(kWaitMs);
  }

  // softmax(zeroShotLogits) of the image, computed by the library alone: [classes].
  static torch::Tensor referenceProbs(const QStringList& classes, const QString& tmpl) {
    clip::ClipModel model = clip::loadClip(kClip.toStdString());
    std::vector<std::string> names;
    for (const QString& c : classes) names.push_back(c.toStdString());
    const clip::ZeroShotHead head = clip::buildZeroShotHead(model, names, tmpl.toStdString());
    const torch::Tensor pixels = io::loadInput(kImage.toStdString(), model.image);
    return torch::softmax(clip::zeroShotLogits(model, head, pixels)[0], -1);
  }

private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
    QSettings().clear();
  }
  void cleanupTestCase() { QSettings().clear(); }

  void userClassListDrivesThePrediction() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    app::ZeroShotPanel* panel = w.zeroShotPanel();
    QVERIFY(panel);
    QVERIFY(!panel->editAction()->isEnabled());  // no CLIP yet
    panel->setClasses(kClasses, kTemplate);
    w.openModel(kClip);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    QVERIFY(!panel->building());
    QVERIFY(panel->isVisible());
    QVERIFY(panel->editAction()->isEnabled());

    const torch::Tensor probs = referenceProbs(kClasses, kTemplate);
    const auto top = probs.max(0);
    const auto scores = w.predictionBars()->scores();
    QCOMPARE(scores.size(), kClasses.size());
    QCOMPARE(scores.first().name, kClasses[std::get<1>(top).item<int>()]);
    QVERIFY2(std::abs(scores.first().probability - std::get<0>(top).item<double>()) < kProbTolerance,
             qPrintable(QStringLiteral("%1 vs %2").arg(scores.first().probability).arg(std::get<0>(top).item<double>())));
    // The list is remembered, and the Details panel says which head is installed.
    QCOMPARE(QSettings().value(QStringLiteral("zeroShot/classes")).toStringList(), kClasses);
    const QString details = w.findChild<QTextBrowser*>(QStringLiteral("details"))->toPlainText();
    QVERIFY2(details.contains(QStringLiteral("Zero-shot head: 5 classes, template 'a photo of a {}.'")), qPrintable(details));
    QVERIFY2(details.contains(QStringLiteral("towers: image + text (CLIP)")), qPrintable(details));
    // The patching board's metric is about classes again.
    QCOMPARE(w.patchingBoard()->findChild<QComboBox*>(QStringLiteral("metricBox"))->currentIndex(), 0);

    // Another list and template through the dialog: a new head, a new prediction.
    const QStringList other = {QStringLiteral("rocket"), QStringLiteral("cat")};
    QTimer::singleShot(0, &w, [&w, other] {
      auto* dialog = w.findChild<app::ClassListDialog*>(QStringLiteral("classListDialog"));
      QVERIFY(dialog);
      dialog->findChild<QPlainTextEdit*>(QStringLiteral("classesEdit"))->setPlainText(other.join('\n') + "\n\n");
      dialog->findChild<QLineEdit*>(QStringLiteral("templateEdit"))->setText(QStringLiteral("{}"));
      dialog->accept();
    });
    panel->editAction()->trigger();
    QVERIFY(waitReady(w));
    const torch::Tensor probs2 = referenceProbs(other, QStringLiteral("{}"));
    const auto scores2 = w.predictionBars()->scores();
    QCOMPARE(scores2.size(), 2);
    const int top2 = probs2.argmax().item<int>();
    QCOMPARE(scores2.first().name, other[top2]);
    QVERIFY(std::abs(scores2.first().probability - probs2[top2].item<double>()) < kProbTolerance);
  }

  // No list: ImageNet-1k's 1,000 prompts, built with progress; a head built once comes from
  // the cache (no progress) when its list comes back; a cancelled build changes nothing.
  void imageNetHeadIsCachedAndABuildCancels() {
    QSettings().clear();
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    app::ZeroShotPanel* panel = w.zeroShotPanel();
    QSignalSpy progressed(panel, &app::ZeroShotPanel::progressed);
    w.openModel(kClip);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    QVERIFY(progressed.count() > 0);
    QCOMPARE(progressed.last().at(1).toInt(), 1000);
    const auto imagenet = w.predictionBars()->scores();
    QCOMPARE(imagenet.size(), 5);  // the top 5 of 1,000
    QStringList names;
    for (const auto& c : clip::imageNetPromptClasses()) names << QString::fromStdString(c);
    const torch::Tensor probs = referenceProbs(names, kTemplate);
    const int top = probs.argmax().item<int>();
    QCOMPARE(imagenet.first().name, names[top]);
    QVERIFY(std::abs(imagenet.first().probability - probs[top].item<double>()) < kProbTolerance);

    panel->setClasses(kClasses, kTemplate);
    QVERIFY(waitReady(w));
    QCOMPARE(w.predictionBars()->scores().size(), kClasses.size());
    progressed.clear();
    panel->setClasses({}, kTemplate);  // back to ImageNet-1k: cached
    QVERIFY(waitReady(w));
    QCOMPARE(progressed.count(), 0);
    QCOMPARE(w.predictionBars()->scores().first().name, imagenet.first().name);

    panel->setClasses({QStringLiteral("unicorn"), QStringLiteral("dragon")}, kTemplate);
    QVERIFY(panel->building());
    progressed.clear();
    panel->cancel();  // back to ImageNet-1k's list, its head re-installed from the cache
    QVERIFY(panel->classes().isEmpty());
    QVERIFY(QSettings().value(QStringLiteral("zeroShot/classes")).toStringList().isEmpty());
    QVERIFY(waitReady(w));
    QCOMPARE(progressed.count(), 0);
    QCOMPARE(w.predictionBars()->scores().size(), 5);  // still ImageNet-1k's head
    QCOMPARE(w.predictionBars()->scores().first().name, imagenet.first().name);
    QSettings().clear();
  }

  // A model without classes: no prediction, no zero-shot panel, cosine_to_clean on the board.
  void featureModelShowsNoClasses() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    w.openModel(kDino);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    QVERIFY(w.predictionBars()->scores().isEmpty());
    QVERIFY(!w.zeroShotPanel()->isVisible());
    const auto* metric = w.patchingBoard()->findChild<QComboBox*>(QStringLiteral("metricBox"));
    QCOMPARE(metric->currentText(), QStringLiteral("cosine to the clean output"));
  }

  void dialogNeedsAPlaceholder() {
    app::ClassListDialog dialog;
    dialog.setClasses({QStringLiteral("cat"), QStringLiteral("dog")});
    dialog.setTemplate(QStringLiteral("a photo"));
    auto* edit = dialog.findChild<QLineEdit*>(QStringLiteral("templateEdit"));
    QTest::keyClicks(edit, QStringLiteral(" of a {}"));
    QCOMPARE(dialog.templateText(), QStringLiteral("a photo of a {}"));
    QVERIFY(dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->isEnabled());
    edit->setText(QStringLiteral("a photo"));  // every class would get the same prompt
    QVERIFY(!dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->isEnabled());
    QCOMPARE(dialog.classes(), (QStringList{QStringLiteral("cat"), QStringLiteral("dog")}));
  }
};

QTEST_MAIN(TestZeroShotPanel)
#include "tst_zero_shot_panel.moc"
