#include "app/gui/MainWindow.h"

#include "app/explorer/AttentionView.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/ImagesPanel.h"
#include "app/explorer/LogitLensView.h"
#include "app/explorer/ModelsPanel.h"
#include "app/explorer/ZeroShotPanel.h"
#include "app/explorer/features/FeaturesView.h"
#include "app/explorer/jobs/ImageJobs.h"
#include "app/explorer/patching/PatchingBoard.h"
#include "app/explorer/training/TrainingView.h"

#include "widgets/AtomicSave.h"
#include "widgets/HeadGrid.h"
#include "widgets/HeatmapView.h"
#include "widgets/TopKBars.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeyEvent>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <memory>

namespace prisma::app {

namespace {
constexpr int kDefaultWidth = 1400;
constexpr int kDefaultHeight = 860;
constexpr int kBusyBarWidth = 120;
constexpr int kStatusTimeoutMs = 5000;
const char* const kSettingsLastModel = "session/model";
const char* const kSettingsLastImage = "session/image";
const char* const kSettingsLastDataset = "session/dataset";
const char* const kSettingsLastSplit = "session/split";
const char* const kSettingsLastRow = "session/row";
const char* const kDefaultDataset = "induction";
// The Prediction and Details docks never get narrower than this: "horizontal-different
// 99.7%" on one line, a few words per line of the details.
constexpr int kSideDockMinWidth = 200;
// Narrower than this, two side columns leave the tabs too little room (the head grid gets
// one column at 1024 px): the first start puts every dock in the left column.
constexpr int kCompactWidth = 1280;
constexpr int kCompactPredictionHeight = 140;  // the top four classes' bars
constexpr int kCropMargin = 6;     // px kept around an export's content
constexpr int kTitlePadding = 6;   // px around an export's title line

// A spec whose file exists, made absolute (FILE.safetensors:KEY keeps its key), so a
// session remembered from one folder opens from any other.
QString absoluteSpec(const QString& spec) {
  if (spec.isEmpty()) return spec;
  const int marker = spec.indexOf(QStringLiteral(".safetensors:"));
  const QString file = marker < 0 ? spec : spec.left(marker) + QStringLiteral(".safetensors");
  if (QDir::isAbsolutePath(file) || !QFileInfo::exists(file)) return spec;
  return QDir::cleanPath(QFileInfo(file).absoluteFilePath()) + spec.mid(file.size());
}

// The smallest rectangle holding every pixel that differs from `background`, or null.
QRect contentRect(const QImage& image, QRgb background) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
  int left = rgb.width(), right = -1, top = rgb.height(), bottom = -1;
  for (int y = 0; y < rgb.height(); ++y) {
    const auto* line = reinterpret_cast<const QRgb*>(rgb.constScanLine(y));
    for (int x = 0; x < rgb.width(); ++x) {
      if ((line[x] & RGB_MASK) == (background & RGB_MASK)) continue;
      left = std::min(left, x);
      right = std::max(right, x);
      top = std::min(top, y);
      bottom = std::max(bottom, y);
    }
  }
  return right < 0 ? QRect() : QRect(QPoint(left, top), QPoint(right, bottom));
}
}  // namespace

QString specFile(const QString& spec) {
  const int marker = spec.indexOf(QStringLiteral(".safetensors:"));
  return marker < 0 ? spec : spec.left(marker) + QStringLiteral(".safetensors");
}

bool looksLikeModel(const QString& path) {
  const QFileInfo info(path);
  if (info.isDir()) return true;
  const QString suffix = info.suffix().toLower();
  return suffix == QLatin1String("safetensors") || suffix == QLatin1String("bin") || suffix == QLatin1String("pth") ||
         suffix == QLatin1String("pt") || suffix == QLatin1String("json");
}

MainWindow::MainWindow(const RuntimeSummary& runtime, QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("MainWindow"));
  setAcceptDrops(true);
  controller_ = new ExplorerController(this);

  tabs_ = new QTabWidget(this);
  tabs_->setObjectName(QStringLiteral("centralTabs"));
  tabs_->setDocumentMode(true);
  attention_ = new AttentionView(this);
  tabs_->addTab(attention_, tr("Attention"));
  lens_ = new LogitLensView(this);
  tabs_->addTab(lens_, tr("Logit lens"));
  training_ = new TrainingView(this);
  tabs_->addTab(training_, tr("Training"));
  patching_ = new PatchingBoard(controller_, this);
  tabs_->addTab(patching_, tr("Patching"));
  features_ = new FeaturesView(controller_, this);
  tabs_->addTab(features_, tr("Features"));
  // Each page scrolls when the window is smaller than the page's layout needs, so no tab
  // sets a floor under the window's size (1185 px wide before): it works at 1024 x 700.
  for (int i = 0; i < tabs_->count(); ++i) {
    QWidget* page = tabs_->widget(i);
    const QString text = tabs_->tabText(i);
    auto* area = new QScrollArea;
    area->setObjectName(page->objectName() + QStringLiteral("Scroll"));
    area->setFrameShape(QFrame::NoFrame);
    area->setWidgetResizable(true);
    tabs_->removeTab(i);
    area->setWidget(page);
    tabs_->insertTab(i, area, text);
  }
  tabs_->setCurrentIndex(0);
  setCentralWidget(tabs_);

  createDocks();
  createActions();

  busyBar_ = new QProgressBar(this);
  busyBar_->setMaximumWidth(kBusyBarWidth);
  busyBar_->setRange(0, 0);  // indeterminate: the worker reports no fractions for single runs
  busyBar_->hide();
  statusBar()->addPermanentWidget(busyBar_);
  // What the model thread is doing and how much waits: a click during a long sweep runs
  // between its batches, and anything that must wait says so here.
  activityLabel_ = new QLabel(this);
  activityLabel_->setObjectName(QStringLiteral("activityLabel"));
  statusBar()->addPermanentWidget(activityLabel_);
  connect(controller_->queue(), &JobQueue::activityChanged, activityLabel_, &QLabel::setText);
  runtimeLabel_ = new QLabel(tr("%1 \u00d7 %2 threads").arg(runtime.blas).arg(runtime.threads), this);
  runtimeLabel_->setObjectName(QStringLiteral("runtimeLabel"));
  statusBar()->addPermanentWidget(runtimeLabel_);
  statusBar()->showMessage(tr("Ready"));

  connect(controller_, &ExplorerController::busyChanged, this, &MainWindow::setBusy);
  connect(controller_, &ExplorerController::modelLoaded, this, [this](const ModelSummary& s) {
    modelSource_ = s.source;
    modelName_ = s.name;
    models_->setLoaded(s);
    patching_->setModel(s);
    features_->setModel(s);
    training_->setCurrentModel(s.source);
    // Each note escaped on its own: escaping the joined text showed the separators as "<br>".
    QStringList notes;
    for (const QString& n : s.notes) notes << n.toHtmlEscaped();
    details_->setHtml(tr("<h3>%1</h3><p>%2</p><p>Format: %3<br>Source: %4</p><p>%5</p>")
                          .arg(s.name.toHtmlEscaped(), s.architecture, s.format, s.source.toHtmlEscaped(),
                               notes.join(QStringLiteral("<br>"))));
    if (!s.source.startsWith('(')) QSettings().setValue(kSettingsLastModel, s.source);
    statusBar()->showMessage(tr("Loaded %1").arg(s.name), kStatusTimeoutMs);
    updateTitle();
    if (havePending_) runImage(pendingImage_);
    else if (haveImage_) runImage(currentImage_);
  });
  connect(controller_, &ExplorerController::modelFailed, this, [this](const QString& message) {
    showError(tr("Could not open the model"), message);
  });
  connect(zeroShot_, &ZeroShotPanel::failed, this, [this](const QString& message) {
    showError(tr("No zero-shot head"), message);
  });
  connect(patching_, &PatchingBoard::failed, this, [this](const QString& message) {
    showError(tr("Patching failed"), message);
  });
  // A feature database build's progress and outcome.
  connect(features_, &FeaturesView::statusMessage, this, [this](const QString& m) { statusBar()->showMessage(m); });
  connect(models_, &ModelsPanel::modelChosen, this, &MainWindow::openModel);
  connect(models_, &ModelsPanel::openRequested, this, &MainWindow::chooseModel);
  // Weights are processed when a model loads: reload the current one with the new choice.
  connect(models_, &ModelsPanel::processWeightsChanged, this, [this] {
    if (hasModel() && !modelSource_.startsWith('(')) openModel(modelSource_);
  });
  connect(images_, &ImagesPanel::imageChosen, this, &MainWindow::openImage);
  connect(training_, &TrainingView::openModelRequested, this, &MainWindow::openModel);
  connect(training_, &TrainingView::statusMessage, this, [this](const QString& m) { statusBar()->showMessage(m); });
  // Closing during a run stops it first; the window closes once its checkpoint is written.
  connect(training_, &TrainingView::readyToClose, this, &QWidget::close);
  // SAEs: the Features tab's "Train one..." sets up a run here; a trained one opens there.
  connect(features_, &FeaturesView::trainSaeRequested, this, [this](const QString& model, const QString& hook) {
    training_->setUpSaeRun(model, hook);
    showPage(training_);
  });
  connect(training_, &TrainingView::openSaeRequested, this, [this](const QString& dir, const QString& model) {
    showPage(features_);
    if (hasModel() && (model.isEmpty() || model == modelSource_)) {
      features_->openSae(dir);
      return;
    }
    // The SAE reads a hook of its own model: that model loads first, then the SAE opens on it.
    auto loaded = std::make_shared<QMetaObject::Connection>();
    auto failed = std::make_shared<QMetaObject::Connection>();
    *loaded = connect(controller_, &ExplorerController::modelLoaded, this, [this, dir, loaded, failed](const ModelSummary&) {
      disconnect(*loaded);
      disconnect(*failed);
      features_->openSae(dir);
    });
    *failed = connect(controller_, &ExplorerController::modelFailed, this, [loaded, failed](const QString&) {
      disconnect(*loaded);
      disconnect(*failed);
    });
    openModel(model);
  });

  resize(kDefaultWidth, kDefaultHeight);
  QSettings settings;
  restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
  docksPlaced_ = restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
  updateTitle();
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  arrangeDocksForWidth();
}

void MainWindow::arrangeDocksForWidth() {
  if (docksPlaced_) return;
  docksPlaced_ = true;
  if (width() >= kCompactWidth) return;
  auto* models = findChild<QDockWidget*>(QStringLiteral("modelsDock"));
  auto* images = findChild<QDockWidget*>(QStringLiteral("imagesDock"));
  auto* prediction = findChild<QDockWidget*>(QStringLiteral("predictionDock"));
  auto* details = findChild<QDockWidget*>(QStringLiteral("detailsDock"));
  if (!models || !images || !prediction || !details) return;
  // Prediction stays in view under the images; Details, read once per model, shares a tab
  // with Models.
  addDockWidget(Qt::LeftDockWidgetArea, prediction);
  splitDockWidget(images, prediction, Qt::Vertical);
  tabifyDockWidget(models, details);
  models->raise();
  resizeDocks({prediction}, {kCompactPredictionHeight}, Qt::Vertical);
}

MainWindow::~MainWindow() = default;

void MainWindow::createDocks() {
  auto dock = [this](const QString& title, const QString& name, QWidget* content, Qt::DockWidgetArea area) {
    auto* d = new QDockWidget(title, this);
    d->setObjectName(name);
    d->setWidget(content);
    addDockWidget(area, d);
    return d;
  };
  models_ = new ModelsPanel(this);
  images_ = new ImagesPanel(this);
  prediction_ = new widgets::TopKBars(this);
  prediction_->setObjectName(QStringLiteral("prediction"));
  details_ = new QTextBrowser(this);
  details_->setObjectName(QStringLiteral("details"));
  prediction_->setMinimumWidth(kSideDockMinWidth);
  details_->setMinimumWidth(kSideDockMinWidth);
  auto* modelsDock = dock(tr("Models"), QStringLiteral("modelsDock"), models_, Qt::LeftDockWidgetArea);
  auto* imagesDock = dock(tr("Images"), QStringLiteral("imagesDock"), images_, Qt::LeftDockWidgetArea);
  splitDockWidget(modelsDock, imagesDock, Qt::Vertical);
  // Under the bars, a CLIP's zero-shot head: which classes, its build's progress, "Edit classes…".
  zeroShot_ = new ZeroShotPanel(controller_, this);
  auto* predictionBox = new QWidget(this);
  auto* predictionLayout = new QVBoxLayout(predictionBox);
  predictionLayout->setContentsMargins(0, 0, 0, 0);
  predictionLayout->addWidget(prediction_, 1);
  predictionLayout->addWidget(zeroShot_);
  auto* predictionDock = dock(tr("Prediction"), QStringLiteral("predictionDock"), predictionBox, Qt::RightDockWidgetArea);
  auto* detailsDock = dock(tr("Details"), QStringLiteral("detailsDock"), details_, Qt::RightDockWidgetArea);
  splitDockWidget(predictionDock, detailsDock, Qt::Vertical);
}

void MainWindow::createActions() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* openModel = file->addAction(tr("Open &Model…"), this, &MainWindow::chooseModel);
  openModel->setShortcut(QKeySequence::Open);
  file->addAction(tr("Open Model &File…"), this, [this] {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open Model File"), QString(),
        tr("Model files (*.safetensors *.bin *.pth *.pt);;All files (*)"));
    if (!path.isEmpty()) this->openModel(path);
  });
  QAction* openImage = file->addAction(tr("Open &Image…"), this, &MainWindow::chooseImage);
  openImage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
  QAction* paste = file->addAction(tr("&Paste Image"), this, &MainWindow::pasteImage);
  paste->setShortcut(QKeySequence::Paste);
  file->addAction(zeroShot_->editAction());  // Ctrl+Shift+L: a CLIP's zero-shot classes
  file->addSeparator();
  exportAction_ = file->addAction(tr("&Export View as PNG…"), this, &MainWindow::exportView);
  exportAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  copyAction_ = file->addAction(tr("&Copy View"), this, &MainWindow::copyView);
  copyAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
  // From a floating dock too; eventFilter keeps text fields from taking the keys.
  exportAction_->setShortcutContext(Qt::ApplicationShortcut);
  copyAction_->setShortcutContext(Qt::ApplicationShortcut);
  qApp->installEventFilter(this);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* d : findChildren<QDockWidget*>()) view->addAction(d->toggleViewAction());

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Prisma Explorer"), this, [this] {
    QMessageBox::about(this, tr("About Prisma Explorer"),
                       tr("<b>Prisma Explorer</b> %1<br>Mechanistic interpretability for Vision Transformers.")
                           .arg(QApplication::applicationVersion()));
  });
}

void MainWindow::openModel(const QString& path) {
  // Absolute, so the recent list and the session name it from any working folder.
  const QString model = absoluteModelPath(path);
  statusBar()->showMessage(tr("Loading %1…").arg(model));
  ModelLoadOptions options;
  options.processWeights = models_->processWeights();
  controller_->loadModel(model, options);
}

void MainWindow::showPatchingBoard() { showPage(patching_); }

void MainWindow::showFeaturesView() { showPage(features_); }

void MainWindow::openRandomModel(const QString& preset) { controller_->useRandomModel(preset); }

void MainWindow::showTrainingView() { showPage(training_); }

void MainWindow::showLogitLensView() { showPage(lens_); }

void MainWindow::showPage(QWidget* page) {
  for (int i = 0; i < tabs_->count(); ++i)
    if (auto* area = qobject_cast<QScrollArea*>(tabs_->widget(i)); area && area->widget() == page) tabs_->setCurrentIndex(i);
}

QWidget* MainWindow::currentPage() const {
  auto* area = qobject_cast<QScrollArea*>(tabs_->currentWidget());
  return area ? area->widget() : tabs_->currentWidget();
}

void MainWindow::openImage(const ImageRequest& request) {
  // Pending until it has run: only then does it become the current image (commitImage).
  pendingImage_ = request;
  pendingImage_.path = absoluteSpec(request.path);
  havePending_ = true;
  // Without a model yet, the image runs as soon as one has loaded.
  if (hasModel()) runImage(pendingImage_);
}

void MainWindow::commitImage(const ImageRequest& request) {
  const bool changed = !haveImage_ || request.path != currentImage_.path || request.row != currentImage_.row ||
                       request.title != currentImage_.title || request.dataset != currentImage_.dataset ||
                       request.pixels.cacheKey() != currentImage_.pixels.cacheKey();
  currentImage_ = request;
  haveImage_ = true;
  havePending_ = false;
  if (!changed) return;  // a rerun under a new model
  QSettings settings;
  settings.setValue(kSettingsLastImage, request.path);
  if (request.row >= 0) {
    settings.setValue(kSettingsLastDataset, request.dataset);
    settings.setValue(kSettingsLastSplit, request.split);
    settings.setValue(kSettingsLastRow, request.row);
  } else {
    // An image from elsewhere: no thumbnail stays highlighted (clicking it shows it again).
    images_->clearCurrent();
  }
  features_->setImage(request);
}

void MainWindow::runImage(const ImageRequest& request) {
  ModelJob<AttentionResult> job = jobs::computeImage(request);
  job.done = [this, request](quint64, const AttentionResult& r) {
    commitImage(request);
    attention_->setResult(r);
    lens_->setResult(r);
    prediction_->setScores(r.topk);
    updateTitle();
    // A CLIP's zero-shot head is on its way: the views settle when it is in.
    if (!zeroShot_->building()) emit viewsReady();
  };
  job.failed = [this, request](quint64, const QString& message) {
    // A failed open changes nothing: the current image (if any) stays, and the next model
    // reruns that one, not this.
    if (havePending_ && request.path == pendingImage_.path && request.title == pendingImage_.title) havePending_ = false;
    showError(tr("Could not run the image"), message);
  };
  controller_->post(this, std::move(job));
}

void MainWindow::restoreSession() {
  QSettings settings;
  QString model = settings.value(kSettingsLastModel).toString();
  if (model.isEmpty() || !QFileInfo::exists(model)) {
    model = defaultBundledModel();
  }
  const QString image = settings.value(kSettingsLastImage).toString();
  if (!image.isEmpty() && QFileInfo::exists(specFile(image))) {
    openImage(ImageRequest::file(image));
  } else if (images_->showDataset(settings.value(kSettingsLastDataset, QString::fromLatin1(kDefaultDataset)).toString(),
                                  settings.value(kSettingsLastSplit, QStringLiteral("test")).toString())) {
    images_->selectItem(settings.value(kSettingsLastRow, 0).toInt());
  }
  if (!model.isEmpty()) openModel(model);
}

void MainWindow::showError(const QString& title, const QString& message) {
  statusBar()->showMessage(title, kStatusTimeoutMs);
  // Window-modal and non-blocking: the views (and tests) keep running behind it.
  auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("errorBox"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
  emit errorShown(message);
}

void MainWindow::chooseModel() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Model Folder"));
  if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::chooseImage() {
  const QString file = QFileDialog::getOpenFileName(this, tr("Open Image"), QString(),
                                                    tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"));
  if (!file.isEmpty()) openImage(ImageRequest::file(file));
}

void MainWindow::pasteImage() {
  const QImage image = QApplication::clipboard()->image();
  if (image.isNull()) {
    statusBar()->showMessage(tr("The clipboard holds no image"), kStatusTimeoutMs);
    return;
  }
  openImage(ImageRequest::image(image, tr("pasted image")));
}

QString MainWindow::viewTitle() const {
  QStringList parts{tabs_->tabText(tabs_->currentIndex()).remove('&')};
  if (!modelName_.isEmpty()) parts << tr("model %1").arg(modelName_);
  if (haveImage_) parts << tr("image %1").arg(currentImage_.title);
  QWidget* tab = currentPage();
  if (tab == attention_) {
    const QPoint cell = attention_->headGrid()->selected();  // (column, row)
    const AttentionResult& r = attention_->result();
    if (cell.y() >= 0 && cell.y() < r.layers) parts << tr("layer %1, head %2").arg(cell.y()).arg(attention_->headAt(cell.y(), cell.x()));
    else if (cell.y() == r.layers) parts << tr("attention rollout");
    else if (cell.y() > r.layers) parts << tr("gradient relevancy");
    const std::optional<QPoint> q = attention_->query();
    parts << (q ? tr("query patch (row %1, col %2)").arg(q->y()).arg(q->x()) : tr("query CLS"));
  } else if (tab == lens_) {
    parts << tr("layer %1").arg(lens_->layer());
  } else if (tab == training_ && !training_->runDir().isEmpty()) {
    parts << tr("run %1").arg(QFileInfo(training_->runDir()).fileName());
  }
  return parts.join(QStringLiteral(" \u2014 "));
}

QImage MainWindow::titledCrop(const QImage& content, const QString& title) const {
  const QRgb background = palette().color(QPalette::Window).rgb();
  QRect box = contentRect(content, background);
  if (box.isNull()) box = content.rect();
  box = box.adjusted(-kCropMargin, -kCropMargin, kCropMargin, kCropMargin).intersected(content.rect());
  const QImage cropped = content.copy(box);
  const QFontMetrics fm(font());
  const int titleHeight = fm.height() + 2 * kTitlePadding;
  QImage out(std::max(cropped.width(), fm.horizontalAdvance(title) + 2 * kTitlePadding), cropped.height() + titleHeight,
             QImage::Format_RGB32);
  out.fill(background);
  {
    QPainter p(&out);
    p.setFont(font());
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(kTitlePadding, 0, out.width() - 2 * kTitlePadding, titleHeight), Qt::AlignLeft | Qt::AlignVCenter, title);
    p.drawImage(QPoint(0, titleHeight), cropped);
  }
  out.setText(QStringLiteral("Title"), title);
  return out;
}

QImage MainWindow::renderCurrentView() {
  QWidget* tab = currentPage();
  if (tab != attention_) return titledCrop(tab->grab().toImage(), viewTitle());
  auto* bar = attention_->findChild<QWidget*>(QStringLiteral("largeBar"));
  if (!attention_->largeView()->isVisible() || !bar) return titledCrop(attention_->renderLargeView(), viewTitle());
  // The map (cropped to the image it draws) and its colour bar, without the toolbar and
  // the empty sides of a wide panel.
  const QRgb background = palette().color(QPalette::Window).rgb();
  const QImage map = attention_->largeView()->grab().toImage();
  QRect box = contentRect(map, background);
  if (box.isNull()) box = map.rect();
  const QImage mapPart = map.copy(box);
  QImage barPart = bar->grab().toImage();
  // The bar spans the panel's height; beside a smaller map it is drawn at the map's.
  if (barPart.height() > mapPart.height() && mapPart.height() > 0)
    barPart = barPart.scaledToHeight(mapPart.height(), Qt::SmoothTransformation);
  QImage both(mapPart.width() + kCropMargin + barPart.width(), std::max(mapPart.height(), barPart.height()), QImage::Format_RGB32);
  both.fill(background);
  {
    QPainter p(&both);
    p.drawImage(QPoint(0, (both.height() - mapPart.height()) / 2), mapPart);
    p.drawImage(QPoint(mapPart.width() + kCropMargin, (both.height() - barPart.height()) / 2), barPart);
  }
  return titledCrop(both, viewTitle());
}

void MainWindow::exportView() {
  const QString name = tabs_->tabText(tabs_->currentIndex()).remove('&').toLower().replace(' ', '-');
  const QString file = QFileDialog::getSaveFileName(this, tr("Export View"), name + QStringLiteral(".png"),
                                                    tr("PNG images (*.png)"));
  if (file.isEmpty()) return;
  QString error;
  if (!widgets::saveImageAtomically(renderCurrentView(), file, &error)) {
    showError(tr("Could not export"), error);
    return;
  }
  if (currentPage() != attention_) {
    statusBar()->showMessage(tr("Exported %1").arg(file), kStatusTimeoutMs);
    return;
  }
  // The Attention tab's head grid goes beside it: the large view alone names one head.
  const QString gridFile = QFileInfo(file).path() + '/' + QFileInfo(file).completeBaseName() + QStringLiteral("-grid.png");
  if (!widgets::saveImageAtomically(titledCrop(attention_->renderGrid(), viewTitle()), gridFile, &error)) {
    showError(tr("Could not export"), error);
    return;
  }
  statusBar()->showMessage(tr("Exported %1 and %2").arg(file, gridFile), kStatusTimeoutMs);
}

void MainWindow::copyView() { QApplication::clipboard()->setImage(renderCurrentView()); }

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::ShortcutOverride && watched->isWidgetType()) {
    const auto* key = static_cast<QKeyEvent*>(event);
    const QKeySequence pressed(key->keyCombination());
    bool mine = false;
    for (const QObject* o = watched; o && !mine; o = o->parent()) mine = o == this;
    if (mine && (pressed == exportAction_->shortcut() || pressed == copyAction_->shortcut())) {
      event->ignore();  // not overridden: the shortcut map delivers it to the action
      return true;
    }
  }
  return QMainWindow::eventFilter(watched, event);
}

void MainWindow::setBusy(bool busy) { busyBar_->setVisible(busy); }

void MainWindow::updateTitle() {
  QString title = tr("Prisma Explorer");
  if (!modelName_.isEmpty()) title += tr(" \u2014 model: %1").arg(modelName_);
  if (haveImage_) title += tr(" \u2014 image: %1").arg(currentImage_.title);
  setWindowTitle(title);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!training_->confirmClose()) {
    event->ignore();
    return;
  }
  QSettings settings;
  settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("window/state"), saveState());
  event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls() || event->mimeData()->hasImage()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasImage() && !mime->hasUrls()) {
    openImage(ImageRequest::image(qvariant_cast<QImage>(mime->imageData()), tr("dropped image")));
  }
  for (const QUrl& url : mime->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (looksLikeModel(path)) openModel(path);
    else openImage(ImageRequest::file(path));
  }
  event->acceptProposedAction();
}

}  // namespace prisma::app
