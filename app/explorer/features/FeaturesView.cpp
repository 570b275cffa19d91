#include "app/explorer/features/FeaturesView.h"

#include "app/explorer/ExplorerController.h"
#include "app/explorer/patching/PatchSourceSlot.h"
#include "app/explorer/DatasetThumbnailModel.h"

#include "widgets/ColorMap.h"
#include "widgets/HeatmapView.h"
#include "widgets/TopKBars.h"

#include "datasets/Random.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QCryptographicHash>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QResizeEvent>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <limits>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

namespace prisma::app {

namespace {
constexpr int kListedFeatures = 50;     // rows of the ranked list
constexpr int kThumbnails = 12;         // top images rendered per feature
constexpr int kThumbnailSize = 96;      // pixels
constexpr double kThumbnailHeatOpacity = 0.65;
constexpr int kRecentSaes = 8;
constexpr double kScaleLimit = 50.0;    // |scale| of an edit
constexpr double kScaleStep = 0.5;
constexpr int kHistogramHeight = 140;
constexpr int kBarsHeight = 120;
constexpr int kBusyBarWidth = 80;
constexpr int kComboChars = 12;         // the SAE list's minimum width, in characters
constexpr int kDefaultTopK = 16;        // as `prisma sae features --top-k`
constexpr int kMaxTopK = 256;
constexpr int kDefaultBatch = 64;       // as `prisma sae features --batch`
constexpr int kKeyHashChars = 8;        // of a user database folder's SAE hash
const char* const kSettingsRecent = "features/recentSaes";
const char* const kSettingsByModel = "features/saeByModel";
const char* const kSettingsDatabaseBySae = "features/databaseBySae";
const char* const kSettingsBuildTopK = "features/build/topK";
const char* const kSettingsBuildLimit = "features/build/limit";
const char* const kSettingsBuildSplit = "features/build/split";
const char* const kUserDatabaseFolder = "feature-databases";
enum Column { ColFeature, ColActivation, ColDensity };
enum Page { PagePlaceholder, PageContent };

QString densityText(float density) {
  if (std::isnan(density)) return QStringLiteral("\u2013");
  return QStringLiteral("%1 %").arg(100.0 * density, 0, 'g', 3);
}

// A dataset image with a feature's per-patch activation laid over it, on a shared range so
// that thumbnails compare.
QImage thumbnail(const QImage& image, const widgets::PatchGridValues& heat, double high) {
  QImage out(kThumbnailSize, kThumbnailSize, QImage::Format_ARGB32_Premultiplied);
  out.fill(QColor(64, 64, 64));
  QPainter p(&out);
  if (!image.isNull()) p.drawImage(out.rect(), image.scaled(kThumbnailSize, kThumbnailSize, Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
  if (heat.isEmpty() || high <= 0.0) return out;
  const widgets::ColorMap map(widgets::ColorMap::Kind::Magma);
  for (int r = 0; r < heat.rows; ++r)
    for (int c = 0; c < heat.cols; ++c) {
      const float v = heat.at(r, c);
      if (!(v > 0.0f)) continue;
      QColor color = map.map(v, 0.0, high);
      color.setAlphaF(kThumbnailHeatOpacity * std::min(1.0, v / high));
      const int x0 = c * kThumbnailSize / heat.cols, x1 = (c + 1) * kThumbnailSize / heat.cols;
      const int y0 = r * kThumbnailSize / heat.rows, y1 = (r + 1) * kThumbnailSize / heat.rows;
      p.fillRect(QRect(x0, y0, x1 - x0, y1 - y0), color);
    }
  return out;
}

QString modelKey(const QString& source) { return QFileInfo(source).exists() ? QFileInfo(source).canonicalFilePath() : source; }
QString saeKey(const QString& source) { return modelKey(source); }

// A word-wrapped label outside the splitter would make the tab's layout height-for-width,
// and a scroll area then sizes the tab by its preferred height (a 480 px heatmap and all):
// it would scroll vertically in any window. This one says it is not height-for-width and
// asks instead for the height its text takes at its current width (updated when the width
// changes), so the tab fills the window and scrolls only below its minimum height. (QLabel
// turns its size policy's height-for-width back on with every text, so the policy cannot
// say it.)
class WrappedLabel : public QLabel {
public:
  explicit WrappedLabel(QWidget* parent) : QLabel(parent) { setWordWrap(true); }
  bool hasHeightForWidth() const override { return false; }
  QSize sizeHint() const override { return atWidth(QLabel::sizeHint()); }
  QSize minimumSizeHint() const override { return atWidth(QLabel::minimumSizeHint()); }

protected:
  void resizeEvent(QResizeEvent* event) override {
    QLabel::resizeEvent(event);
    if (event->size().width() != event->oldSize().width()) updateGeometry();
  }

private:
  QSize atWidth(QSize hint) const {
    if (width() > 0 && !text().isEmpty()) hint.setHeight(heightForWidth(width()));
    return hint;
  }
};

}  // namespace

FeaturesView::FeaturesView(ExplorerController* controller, QWidget* parent) : QWidget(parent), controller_(controller) {
  setAcceptDrops(true);

  saeCombo_ = new QComboBox(this);
  saeCombo_->setObjectName(QStringLiteral("saeCombo"));
  saeCombo_->setMinimumContentsLength(kComboChars);
  saeCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  saeCombo_->setToolTip(tr("SAEs opened before"));
  openButton_ = new QPushButton(tr("Open SAE\u2026"), this);
  openButton_->setObjectName(QStringLiteral("openSae"));
  openButton_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  openButton_->setToolTip(tr("A folder or file in Prisma's, SAELens' or ViT-Prisma's layout (Ctrl+Shift+E)"));
  databaseButton_ = new QPushButton(tr("Database\u2026"), this);
  databaseButton_->setObjectName(QStringLiteral("openDatabase"));
  databaseButton_->setToolTip(tr("A feature database written by `prisma sae features` or Build database\u2026 (features.json)"));
  buildButton_ = new QPushButton(tr("Build database\u2026"), this);
  buildButton_->setObjectName(QStringLiteral("buildDatabase"));
  buildButton_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
  buildButton_->setToolTip(tr("One pass of the SAE over a dataset split: each feature's top images, density, histogram "
                              "and classes, as `prisma sae features` writes them (Ctrl+Shift+B)"));
  // A click trains on the open SAE's hook; the arrow picks another hook of the model.
  trainButton_ = new QToolButton(this);
  trainButton_->setObjectName(QStringLiteral("trainSae"));
  trainButton_->setText(tr("Train one\u2026"));
  trainButton_->setPopupMode(QToolButton::MenuButtonPopup);
  trainButton_->setToolButtonStyle(Qt::ToolButtonTextOnly);
  trainMenu_ = new QMenu(trainButton_);
  trainMenu_->setObjectName(QStringLiteral("trainSaeHooks"));
  trainButton_->setMenu(trainMenu_);
  saeLabel_ = new WrappedLabel(this);
  saeLabel_->setObjectName(QStringLiteral("saeLabel"));
  saeLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("SAE:"), this));
  bar->addWidget(saeCombo_, 1);
  bar->addWidget(openButton_);
  bar->addWidget(databaseButton_);
  bar->addWidget(buildButton_);
  bar->addWidget(trainButton_);
  // What the tab waits for on the model thread (the status bar names it), a build's
  // progress, and a way out -- on their own row, so the buttons above keep their room.
  busyBar_ = new QProgressBar(this);
  busyBar_->setObjectName(QStringLiteral("featuresBusy"));
  busyBar_->setRange(0, 0);
  busyBar_->setMaximumWidth(kBusyBarWidth);
  buildBar_ = new QProgressBar(this);
  buildBar_->setObjectName(QStringLiteral("databaseProgress"));
  buildBar_->setFormat(tr("database: %v / %m images"));
  buildBar_->setRange(0, 1);
  buildBar_->setValue(0);
  cancelButton_ = new QPushButton(tr("Cancel"), this);
  cancelButton_->setObjectName(QStringLiteral("featuresCancel"));
  messageLabel_ = new WrappedLabel(this);
  messageLabel_->setObjectName(QStringLiteral("featuresMessage"));
  auto* statusRow = new QHBoxLayout;
  statusRow->addWidget(busyBar_);
  statusRow->addWidget(buildBar_, 1);
  statusRow->addWidget(cancelButton_);

  placeholder_ = new WrappedLabel(this);
  placeholder_->setObjectName(QStringLiteral("featuresPlaceholder"));
  placeholder_->setAlignment(Qt::AlignCenter);
  placeholder_->setMargin(24);

  image_ = new widgets::HeatmapView(this);
  image_->setObjectName(QStringLiteral("featureHeatmap"));
  image_->setColorMap(widgets::ColorMap(widgets::ColorMap::Kind::Magma));
  listTitle_ = new QLabel(this);
  listTitle_->setWordWrap(true);  // long titles wrap rather than widen the tab (1024 px windows)
  list_ = new QTreeWidget(this);
  list_->setObjectName(QStringLiteral("featureList"));
  list_->setColumnCount(3);
  list_->setHeaderLabels({tr("Feature"), tr("Activation"), tr("Density")});
  list_->setRootIsDecorated(false);
  list_->setUniformRowHeights(true);
  list_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
  auto* listBox = new QWidget(this);
  auto* listLayout = new QVBoxLayout(listBox);
  listLayout->setContentsMargins(0, 0, 0, 0);
  listLayout->addWidget(listTitle_);
  listLayout->addWidget(list_, 1);

  featureTitle_ = new QLabel(this);
  featureTitle_->setObjectName(QStringLiteral("featureTitle"));
  featureTitle_->setWordWrap(true);
  histogram_ = new QCustomPlot(this);
  histogram_->setObjectName(QStringLiteral("featureHistogram"));
  histogram_->setMinimumHeight(kHistogramHeight);
  histogram_->addGraph();
  histogram_->graph(0)->setLineStyle(QCPGraph::lsStepLeft);
  histogram_->graph(0)->setBrush(QColor(230, 120, 60, 120));
  histogram_->graph(0)->setPen(QPen(QColor(200, 90, 40)));
  histogram_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  histogram_->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  histogram_->xAxis->setLabel(tr("activation (when firing)"));
  histogram_->yAxis->setLabel(tr("tokens"));
  topImages_ = new QListWidget(this);
  topImages_->setObjectName(QStringLiteral("topImages"));
  topImages_->setViewMode(QListView::IconMode);
  topImages_->setIconSize(QSize(kThumbnailSize, kThumbnailSize));
  topImages_->setResizeMode(QListView::Adjust);
  topImages_->setMovement(QListView::Static);
  topImages_->setWrapping(true);
  topNote_ = new QLabel(this);
  topNote_->setWordWrap(true);

  scale_ = new QDoubleSpinBox(this);
  scale_->setObjectName(QStringLiteral("featureScale"));
  scale_->setRange(-kScaleLimit, kScaleLimit);
  scale_->setSingleStep(kScaleStep);
  scale_->setDecimals(2);
  scale_->setValue(0.0);
  scale_->setPrefix(QStringLiteral("\u00d7 "));
  scale_->setToolTip(tr("Multiply the feature by this at every token the SAE reads (0 ablates it)"));
  ablateButton_ = new QPushButton(tr("Ablate"), this);
  ablateButton_->setObjectName(QStringLiteral("ablateFeature"));
  ablateButton_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  applyButton_ = new QPushButton(tr("Apply"), this);
  applyButton_->setObjectName(QStringLiteral("applyScale"));
  cleanBars_ = new widgets::TopKBars(this);
  cleanBars_->setObjectName(QStringLiteral("cleanBars"));
  cleanBars_->setMinimumHeight(kBarsHeight);
  editedBars_ = new widgets::TopKBars(this);
  editedBars_->setObjectName(QStringLiteral("editedBars"));
  editedBars_->setMinimumHeight(kBarsHeight);
  editNote_ = new QLabel(this);
  editNote_->setWordWrap(true);
  auto* editRow = new QHBoxLayout;
  editRow->addWidget(new QLabel(tr("Edit the feature:"), this));
  editRow->addWidget(scale_);
  editRow->addWidget(ablateButton_);
  editRow->addWidget(applyButton_);
  editRow->addStretch(1);
  auto* barsGrid = new QGridLayout;
  barsGrid->addWidget(new QLabel(tr("Clean"), this), 0, 0);
  auto* editedTitle = new QLabel(tr("Edited (SAE spliced in, error kept)"), this);
  editedTitle->setWordWrap(true);
  barsGrid->addWidget(editedTitle, 0, 1);
  barsGrid->addWidget(cleanBars_, 1, 0);
  barsGrid->addWidget(editedBars_, 1, 1);

  auto* featureBox = new QWidget(this);
  auto* featureLayout = new QVBoxLayout(featureBox);
  featureLayout->setContentsMargins(0, 0, 0, 0);
  featureLayout->addWidget(featureTitle_);
  featureLayout->addWidget(histogram_);
  auto* topTitle = new QLabel(tr("Top images in the database (feature over their patches):"), this);
  topTitle->setWordWrap(true);
  featureLayout->addWidget(topTitle);
  featureLayout->addWidget(topImages_, 1);
  featureLayout->addWidget(topNote_);
  featureLayout->addLayout(editRow);
  featureLayout->addLayout(barsGrid);
  featureLayout->addWidget(editNote_);

  auto* left = new QSplitter(Qt::Vertical, this);
  left->addWidget(image_);
  left->addWidget(listBox);
  left->setStretchFactor(0, 3);
  left->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(left);
  split->addWidget(featureBox);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);

  stack_ = new QStackedWidget(this);
  stack_->addWidget(placeholder_);
  stack_->addWidget(split);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(bar);
  layout->addWidget(saeLabel_);
  layout->addLayout(statusRow);
  layout->addWidget(messageLabel_);
  layout->addWidget(stack_, 1);

  connect(openButton_, &QPushButton::clicked, this, &FeaturesView::chooseSae);
  connect(databaseButton_, &QPushButton::clicked, this, &FeaturesView::chooseDatabase);
  connect(buildButton_, &QPushButton::clicked, this, &FeaturesView::showBuildDialog);
  connect(trainButton_, &QToolButton::clicked, this, [this] { requestTraining(); });
  connect(cancelButton_, &QPushButton::clicked, this, &FeaturesView::cancel);
  connect(saeCombo_, QOverload<int>::of(&QComboBox::activated), this, [this](int index) {
    const QString path = saeCombo_->itemData(index).toString();
    if (!path.isEmpty() && (!haveSae_ || path != sae_.source)) openSae(path);
  });
  connect(image_, &widgets::HeatmapView::patchHovered, this, &FeaturesView::hoverPatch);
  connect(image_, &widgets::HeatmapView::patchClicked, this, [this](int row, int col) {
    const QPoint p(col, row);
    pinPatch(pinned_ == p ? std::nullopt : std::optional<QPoint>(p));
  });
  connect(list_, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem* item) {
    if (item) selectFeature(item->data(ColFeature, Qt::UserRole).toInt());
  });
  connect(list_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
    if (item) selectFeature(item->data(ColFeature, Qt::UserRole).toInt());
  });
  connect(ablateButton_, &QPushButton::clicked, this, [this] { setScale(0.0); });
  connect(applyButton_, &QPushButton::clicked, this, &FeaturesView::runEdit);
  connect(scale_, &QDoubleSpinBox::editingFinished, this, &FeaturesView::runEdit);
  connect(controller_->queue(), &JobQueue::finished, this, &FeaturesView::finished);
  updateTrainMenu();

  for (const QString& path : recentSaes()) saeCombo_->addItem(QFileInfo(path).fileName(), path);
  saeCombo_->setCurrentIndex(-1);
  updatePlaceholder();
}

FeaturesView::~FeaturesView() = default;

QStringList FeaturesView::recentSaes() { return QSettings().value(kSettingsRecent).toStringList(); }

template <class R>
void FeaturesView::post(ModelJob<R, R> job, std::function<void(const R&)> done) {
  job.done = [this, done = std::move(done)](quint64, const R& r) { done(r); };
  job.failed = [this](quint64 id, const QString& m) { fail(id, m); };
  pending_.insert(controller_->post(this, std::move(job)));
  updatePlaceholder();
}

void FeaturesView::finished(quint64 id, JobQueue::End end) {
  if (id != 0 && id == buildJob_) {
    buildJob_ = 0;
    if (end == JobQueue::End::Cancelled) {
      setMessage(tr("Database build cancelled; nothing was written."));
      emit statusMessage(message_);
    }
    updatePlaceholder();
    emit databaseBuildEnded();
    return;
  }
  // Called after the job's done/failed, which may already have posted the next job.
  if (pending_.erase(id) == 0) return;
  updatePlaceholder();
  if (pending_.empty() && encoding_.isValid()) emit settled();
}

void FeaturesView::fail(quint64, const QString& message) {
  setMessage(message, true);
  emit failed(message);
}

void FeaturesView::cancelPending() {
  for (quint64 id : pending_) controller_->cancel(id);
  pending_.clear();
}

void FeaturesView::cancel() {
  // A cancelled build says so once its job has stopped (finished()); its staged folder is
  // removed on the model thread.
  if (buildJob_ != 0) controller_->cancel(buildJob_);
  if (pending_.empty()) return;
  cancelPending();
  setMessage(tr("Cancelled."));
  updatePlaceholder();
}

void FeaturesView::resetResults() {
  encoding_ = {};
  details_ = {};
  edit_ = {};
  listed_.clear();
  listedPatch_.reset();
  image_->setImage(QImage());
  image_->setHeat({});
  list_->clear();
  featureTitle_->clear();
  histogram_->graph(0)->data()->clear();
  histogram_->replot();
  topImages_->clear();
  topNote_->clear();
  cleanBars_->setScores({});
  editedBars_->setScores({});
  editNote_->clear();
}

void FeaturesView::setModel(const ModelSummary& model) {
  cancelPending();
  // A build reads the previous model's SAE: its database would be of another model's.
  if (buildJob_ != 0) controller_->cancel(buildJob_);
  hooks_.clear();
  updateTrainMenu();
  resetResults();
  model_ = model;
  haveModel_ = true;
  haveSae_ = false;
  sae_ = {};
  selected_ = -1;
  pinned_.reset();
  saeLabel_->clear();
  setMessage(QString());
  // What to open: an explicit choice, the SAE bundled with this mouse, the one last used
  // with this model.
  QString sae = saeOverride_, database = databaseOverride_;
  if (sae.isEmpty()) {
    const jobs::BundledSae bundled = jobs::bundledSaeFor(model.source);
    sae = bundled.sae;
    // A database built from the tab for the bundled SAE (in the user's folder) wins.
    if (!sae.isEmpty()) database = rememberedDatabase(sae).isEmpty() ? bundled.database : QString();
  }
  if (sae.isEmpty()) {
    const QString last = QSettings().value(kSettingsByModel).toMap().value(modelKey(model.source)).toString();
    if (!last.isEmpty() && QFileInfo::exists(last)) sae = last;
  }
  if (!sae.isEmpty()) openSae(sae, database);
  // Not one of the tab's pending jobs: opening an SAE or an image does not cancel it.
  ModelJob<QStringList> hooks = jobs::trainableHooks();
  hooks.done = [this](quint64, const QStringList& names) {
    hooks_ = names;
    updateTrainMenu();
  };
  controller_->post(this, std::move(hooks));
  updatePlaceholder();
}

void FeaturesView::setSaeOverride(const QString& saePath, const QString& databasePath) {
  saeOverride_ = saePath;
  databaseOverride_ = databasePath;
}

void FeaturesView::openSae(const QString& saePath, const QString& databasePath) {
  if (!haveModel_) {
    setMessage(tr("Open a model first: an SAE reads one of its hooks."), true);
    return;
  }
  cancelPending();
  // A build belongs to the SAE it reads; reopening the same one (with its new database)
  // keeps it.
  if (buildJob_ != 0 && saeKey(saePath) != saeKey(sae_.source)) controller_->cancel(buildJob_);
  resetResults();
  haveSae_ = false;
  selected_ = -1;
  QString database = databasePath.isEmpty() ? rememberedDatabase(saePath) : databasePath;
  if (database.isEmpty()) database = jobs::databaseBeside(saePath);
  setMessage(tr("Opening %1\u2026").arg(QDir::toNativeSeparators(saePath)));
  post<SaeSummary>(jobs::openSae(saePath, database, databasePath.isEmpty()), [this](const SaeSummary& s) {
    sae_ = s;
    haveSae_ = true;
    rememberSae(s.source);
    QString text = tr("%1 \u2014 %2 features on %3 (%4 tokens, %5, d_in %6)")
                       .arg(QFileInfo(s.source).fileName(), QString::number(s.dSae), s.hook, s.tokens, s.activation)
                       .arg(s.dIn);
    text += s.hasDatabase() ? tr(" \u00b7 database: %1 images of %2/%3").arg(s.databaseImages).arg(s.databaseDataset, s.databaseSplit)
                            : tr(" \u00b7 no feature database (Build database\u2026 makes one)");
    if (!s.notes.isEmpty()) text += tr(" \u00b7 %n note(s) in the tooltip", nullptr, int(s.notes.size()));
    saeLabel_->setText(text);
    saeLabel_->setToolTip(s.notes.join('\n'));
    // A database found beside the SAE but not fitting it is worth saying out loud.
    const QStringList ignored = s.notes.filter(QStringLiteral("feature database beside it"));
    setMessage(ignored.value(0));
    updateTrainMenu();
    emit saeOpened(s);
    encode();
  });
}

void FeaturesView::setImage(const ImageRequest& request) {
  request_ = request;
  haveImage_ = true;
  // Results of the previous image are dropped; the selected feature stays (same SAE). An
  // SAE still opening stays pending: it encodes the image when it is open.
  if (haveSae_) cancelPending();
  resetResults();
  pinned_.reset();
  encode();
}

void FeaturesView::encode() {
  updatePlaceholder();
  if (!haveSae_ || !haveImage_) return;
  post<FeatureEncoding>(jobs::encodeImage(request_), [this](const FeatureEncoding& e) {
    encoding_ = e;
    image_->setImage(e.input);
    image_->setQueryPatch(pinned_);
    if (e.topk.isEmpty()) cleanBars_->setScores({});
    else cleanBars_->setScores(e.topk);
    showList();
    emit imageEncoded();
    int feature = selected_;
    if (initialFeature_ >= 0 && initialFeature_ < e.dSae) feature = std::exchange(initialFeature_, -1);
    if (feature < 0) {
      const auto strongest = e.strongest(1);
      if (!strongest.isEmpty()) feature = strongest.first().feature;
    }
    if (feature >= 0) selectFeature(feature);
    updatePlaceholder();
  });
}

void FeaturesView::hoverPatch(int row, int col) {
  hovered_ = row < 0 || col < 0 ? std::nullopt : std::optional<QPoint>(QPoint(col, row));
  showList();
}

void FeaturesView::pinPatch(std::optional<QPoint> patch) {
  pinned_ = patch;
  image_->setQueryPatch(patch);
  showList();
}

void FeaturesView::showList() {
  if (!encoding_.isValid()) return;
  // A pinned patch wins over the mouse, so the list can be reached without losing it.
  listedPatch_ = pinned_ ? pinned_ : hovered_;
  const int token = listedPatch_ ? encoding_.rowOfPatch(listedPatch_->y(), listedPatch_->x()) : -1;
  if (listedPatch_ && token >= 0) {
    listed_ = encoding_.activeAt(token, kListedFeatures);
    listTitle_->setText(tr("Features at patch (%1, %2)%3, strongest first:")
                            .arg(listedPatch_->y())
                            .arg(listedPatch_->x())
                            .arg(pinned_ ? tr(" (pinned; click it again to unpin)") : QString()));
  } else {
    listedPatch_.reset();
    listed_ = encoding_.strongest(kListedFeatures);
    listTitle_->setText(encoding_.firstPatch < 0 ? tr("Features on the CLS token, strongest first:")
                                                 : tr("Strongest features over the image's patches (hover a patch for its own):"));
  }
  const QSignalBlocker block(list_);
  list_->clear();
  for (const ActiveFeature& a : listed_) {
    auto* item = new QTreeWidgetItem(list_);
    item->setText(ColFeature, QString::number(a.feature));
    item->setData(ColFeature, Qt::UserRole, a.feature);
    item->setText(ColActivation, QString::number(a.activation, 'g', 4));
    item->setText(ColDensity, densityText(sae_.densityOf(a.feature)));
    item->setTextAlignment(ColActivation, Qt::AlignRight | Qt::AlignVCenter);
    item->setTextAlignment(ColDensity, Qt::AlignRight | Qt::AlignVCenter);
    if (a.feature == selected_) list_->setCurrentItem(item);
  }
  if (listed_.isEmpty()) {
    auto* item = new QTreeWidgetItem(list_);
    item->setText(ColFeature, tr("no feature fires here"));
    item->setFlags(Qt::NoItemFlags);
  }
}

void FeaturesView::selectFeature(int feature) {
  if (!haveSae_ || feature < 0 || feature >= sae_.dSae) return;
  selected_ = feature;
  details_ = {};
  edit_ = {};
  topImages_->clear();
  topNote_->clear();
  showFeature();
  showList();
  post<FeatureDetails>(jobs::featureDetails(feature, kThumbnails), [this](const FeatureDetails& d) {
    if (d.feature != selected_) return;
    details_ = d;
    showDetails();
    emit detailsReady();
  });
  runEdit();
}

void FeaturesView::showFeature() {
  const widgets::PatchGridValues heat = encoding_.heat(selected_);
  image_->setHeat(heat);
  const double high = heat.isEmpty() ? 0.0 : heat.maxValue();
  // A feature silent on the image still gets a visible (empty) range.
  image_->setRange(0.0, high > 0.0 ? high : 1.0);
  QString text = tr("<b>Feature %1</b>").arg(selected_);
  if (encoding_.firstPatch < 0) text += tr(" \u2014 the SAE reads only the CLS token: %1").arg(encoding_.at(0, selected_), 0, 'g', 4);
  else {
    text += tr(" \u2014 on this image: max %1 over the patches").arg(high, 0, 'g', 4);
    // Rows before the first patch are the CLS (and register) tokens the SAE also reads.
    if (encoding_.firstPatch > 0) text += tr(", %1 on CLS").arg(encoding_.at(0, selected_), 0, 'g', 4);
  }
  if (details_.hasDatabase)
    text += tr(" \u00b7 density %1, mean when firing %2").arg(densityText(float(details_.density))).arg(details_.meanWhenFiring, 0, 'g', 4);
  if (!details_.topClasses.isEmpty()) text += tr("<br>Fires most on: %1").arg(details_.topClasses.join(QStringLiteral(", ")));
  featureTitle_->setText(text);
}

void FeaturesView::showDetails() {
  showFeature();
  auto* graph = histogram_->graph(0);
  graph->data()->clear();
  topImages_->clear();
  if (!details_.hasDatabase) {
    topNote_->setText(tr("No feature database: its density, histogram and top images come from one "
                         "(Build database\u2026, Database\u2026, or `prisma sae features`)."));
    histogram_->replot();
    return;
  }
  const int bins = details_.histogramCounts.size();
  if (bins > 0 && details_.histogramEdges.size() == bins + 1) {
    QVector<double> keys = details_.histogramEdges, values = details_.histogramCounts;
    values.push_back(values.back());  // the step plot's last edge
    graph->setData(keys, values, true);
    int first = bins, last = -1;
    for (int i = 0; i < bins; ++i)
      if (details_.histogramCounts[i] > 0) first = std::min(first, i), last = i;
    if (last >= 0) histogram_->xAxis->setRange(keys[std::max(0, first - 1)], keys[std::min(bins, last + 2)]);
    else histogram_->xAxis->setRange(keys.front(), keys.back());
    histogram_->yAxis->setRange(0.0, std::max(1.0, *std::max_element(values.begin(), values.end())) * 1.05);
  }
  histogram_->replot();
  const double high = details_.top.isEmpty() ? 0.0 : details_.top.first().value;
  for (const FeatureTopImage& t : details_.top) {
    auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(thumbnail(t.image, t.heat, high))),
                                     QStringLiteral("#%1 \u00b7 %2").arg(t.position).arg(t.value, 0, 'g', 3), topImages_);
    item->setData(Qt::UserRole, t.position);
    item->setToolTip(tr("Image %1 of %2/%3%4: max activation %5")
                         .arg(t.position)
                         .arg(sae_.databaseDataset, sae_.databaseSplit,
                              t.label.isEmpty() ? QString() : tr(" (%1)").arg(t.label))
                         .arg(t.value, 0, 'g', 4));
  }
  topNote_->setText(details_.top.isEmpty() ? tr("The feature never fired in the database.") : details_.note);
}

double FeaturesView::scale() const { return scale_->value(); }

void FeaturesView::setScale(double scale) {
  scale_->setValue(scale);
  runEdit();
}

void FeaturesView::runEdit() {
  if (!haveSae_ || !haveImage_ || selected_ < 0 || !encoding_.isValid() || encoding_.topk.isEmpty()) return;
  const int feature = selected_;
  const double s = scale_->value();
  post<FeatureEditResult>(jobs::editFeature(request_, feature, s), [this](const FeatureEditResult& r) {
    if (r.feature != selected_) return;
    edit_ = r;
    showEdit();
    emit editReady();
  });
}

void FeaturesView::showEdit() {
  cleanBars_->setScores(edit_.clean);
  editedBars_->setScores(edit_.edited);
  if (edit_.clean.isEmpty()) return editNote_->clear();
  const QString top = edit_.clean.first().name;
  editNote_->setText(tr("Feature %1 %2: P(%3) %4 \u2192 %5")
                         .arg(edit_.feature)
                         .arg(edit_.scale == 0.0 ? tr("ablated") : tr("\u00d7 %1").arg(edit_.scale))
                         .arg(top)
                         .arg(edit_.clean.first().probability, 0, 'f', 4)
                         .arg(edit_.editedOfClean.value(0), 0, 'f', 4));
}

QString FeaturesView::placeholderText() const {
  if (!haveModel_) return tr("Open a model (Models panel) to see the features of a sparse autoencoder on its activations.");
  if (!haveSae_) {
    if (!pending_.empty()) return tr("Opening the SAE\u2026");
    if (!message_.isEmpty()) return tr("No SAE is open (see the message above). Open SAE\u2026 picks one.");
    return tr("No SAE is open for %1.\n\nOpen SAE\u2026 reads a folder in Prisma's, SAELens' or ViT-Prisma's layout; "
              "Train one\u2026 sets up a run in the Training tab.")
        .arg(model_.name);
  }
  if (!haveImage_) return tr("Pick an image in the Images panel, or drop one on this tab.");
  if (!encoding_.isValid()) return pending_.empty() ? tr("The image was not encoded (see the message above).") : tr("Encoding the image\u2026");
  return QString();
}

void FeaturesView::updatePlaceholder() {
  const QString text = placeholderText();
  placeholder_->setText(text);
  stack_->setCurrentIndex(text.isEmpty() ? PageContent : PagePlaceholder);
  busyBar_->setVisible(!pending_.empty());
  buildBar_->setVisible(buildJob_ != 0);
  cancelButton_->setVisible(!pending_.empty() || buildJob_ != 0);
  databaseButton_->setEnabled(haveSae_);
  buildButton_->setEnabled(haveSae_ && buildJob_ == 0);
  trainButton_->setEnabled(haveModel_);
  openButton_->setEnabled(haveModel_);
}

QString FeaturesView::message() const { return message_; }

void FeaturesView::setMessage(const QString& text, bool error) {
  message_ = text;
  messageLabel_->setText(text);
  messageLabel_->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
  messageLabel_->setVisible(!text.isEmpty());
}

void FeaturesView::rememberSae(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value(kSettingsRecent).toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kRecentSaes) recent.removeLast();
  settings.setValue(kSettingsRecent, recent);
  QVariantMap byModel = settings.value(kSettingsByModel).toMap();
  byModel.insert(modelKey(model_.source), path);
  settings.setValue(kSettingsByModel, byModel);
  const QSignalBlocker block(saeCombo_);
  saeCombo_->clear();
  for (const QString& p : recent) saeCombo_->addItem(QFileInfo(p).fileName(), p);
  saeCombo_->setCurrentIndex(0);
}

void FeaturesView::chooseSae() {
  const QString file = QFileDialog::getOpenFileName(
      this, tr("Open SAE"), QString(),
      tr("SAE files (sae.json cfg.json config.json *.pt *.safetensors);;All files (*)"));
  if (file.isEmpty()) return;
  // A config names its folder; a weight file may stand alone (ViT-Prisma's .pt).
  const QFileInfo info(file);
  openSae(info.suffix() == QLatin1String("json") ? info.path() : file);
}

void FeaturesView::chooseDatabase() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open feature database"), QFileInfo(sae_.source).path());
  if (!dir.isEmpty()) openSae(sae_.source, dir);
}

QString FeaturesView::userDatabaseRoot() {
  return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QLatin1String(kUserDatabaseFolder));
}

QStringList FeaturesView::databaseFolders(const QString& dataset, const QString& split) const {
  const QString name = jobs::databaseFolderName(dataset, split);
  const QFileInfo info(sae_.source);
  const QString saeDir = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
  // In the user's folder, SAEs of one name (every run's "sae") stay apart by their path.
  const QString hash = QString::fromLatin1(
      QCryptographicHash::hash(saeKey(sae_.source).toUtf8(), QCryptographicHash::Sha1).toHex().left(kKeyHashChars));
  const QString user = QDir(userDatabaseRoot()).filePath(QStringLiteral("%1-%2/%3").arg(QDir(saeDir).dirName(), hash, name));
  QStringList out;
  // A bundled SAE is the program's own: never written into, even where the files allow it.
  if (!sae_.bundled && QFileInfo(saeDir).isWritable()) out << QDir(saeDir).filePath(name);
  out << user;
  return out;
}

FeatureDatabaseRequest FeaturesView::defaultBuildRequest() const {
  FeatureDatabaseRequest r;
  r.dataset = !sae_.databaseDataset.isEmpty() ? sae_.databaseDataset
              : !sae_.trainingDataset.isEmpty() ? sae_.trainingDataset
                                                : request_.dataset;
  if (sae_.hasDatabase()) {
    r.seed = sae_.databaseSeed;
    r.datasetPath = sae_.databaseDatasetPath;
  } else {
    r.seed = datasets::kDefaultSeed;
  }
  const QSettings settings;
  r.split = settings.value(kSettingsBuildSplit, QStringLiteral("test")).toString();
  r.topK = settings.value(kSettingsBuildTopK, kDefaultTopK).toInt();
  r.limit = settings.value(kSettingsBuildLimit, 0).toInt();
  r.batch = kDefaultBatch;
  return r;
}

void FeaturesView::showBuildDialog() {
  if (!haveSae_) return;
  if (!buildDialog_) {
    buildDialog_ = new QDialog(this);
    buildDialog_->setObjectName(QStringLiteral("buildDatabaseDialog"));
    buildDialog_->setWindowTitle(tr("Build a feature database"));
    buildDataset_ = new QComboBox(buildDialog_);
    buildDataset_->setObjectName(QStringLiteral("buildDataset"));
    buildDataset_->setEditable(true);
    buildDataset_->addItems(jobs::datasetNames());
    buildDataset_->setToolTip(tr("A dataset of the registry, or an image folder"));
    buildSplit_ = new QComboBox(buildDialog_);
    buildSplit_->setObjectName(QStringLiteral("buildSplit"));
    buildSplit_->addItems({QStringLiteral("test"), QStringLiteral("train")});
    buildTopK_ = new QSpinBox(buildDialog_);
    buildTopK_->setObjectName(QStringLiteral("buildTopK"));
    buildTopK_->setRange(1, kMaxTopK);
    buildTopK_->setToolTip(tr("Top images kept per feature (--top-k)"));
    buildLimit_ = new QSpinBox(buildDialog_);
    buildLimit_->setObjectName(QStringLiteral("buildLimit"));
    buildLimit_->setRange(0, std::numeric_limits<int>::max());
    buildLimit_->setSpecialValueText(tr("the whole split"));
    buildLimit_->setToolTip(tr("Images read, from the start of the split (--limit; 0: all)"));
    buildSeed_ = new QSpinBox(buildDialog_);
    buildSeed_->setObjectName(QStringLiteral("buildSeed"));
    buildSeed_->setRange(0, std::numeric_limits<int>::max());
    buildSeed_->setToolTip(tr("Generated datasets' images and every dataset's split (--seed)"));
    buildPath_ = new QLineEdit(buildDialog_);
    buildPath_->setObjectName(QStringLiteral("buildDatasetPath"));
    buildPath_->setPlaceholderText(tr("the dataset's default location"));
    buildPath_->setToolTip(tr("MNIST's folder, a dSprites .npz (--dataset-path)"));
    auto* form = new QFormLayout;
    form->addRow(tr("Dataset:"), buildDataset_);
    form->addRow(tr("Split:"), buildSplit_);
    form->addRow(tr("Top images per feature:"), buildTopK_);
    form->addRow(tr("Images:"), buildLimit_);
    form->addRow(tr("Seed:"), buildSeed_);
    form->addRow(tr("Dataset path:"), buildPath_);
    auto* note = new QLabel(tr("Runs in the background (Cancel stops it; nothing is written until it is complete). "
                               "The same as `prisma sae features`: `prisma sae top` reads the result."),
                            buildDialog_);
    note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, buildDialog_);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Build"));
    connect(buttons, &QDialogButtonBox::accepted, buildDialog_, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, buildDialog_, &QDialog::reject);
    connect(buildDialog_, &QDialog::accepted, this, [this] {
      FeatureDatabaseRequest r = defaultBuildRequest();
      r.dataset = buildDataset_->currentText().trimmed();
      r.split = buildSplit_->currentText();
      r.topK = buildTopK_->value();
      r.limit = buildLimit_->value();
      r.seed = quint64(buildSeed_->value());
      r.datasetPath = buildPath_->text().trimmed();
      QSettings settings;
      settings.setValue(kSettingsBuildSplit, r.split);
      settings.setValue(kSettingsBuildTopK, r.topK);
      settings.setValue(kSettingsBuildLimit, r.limit);
      buildDatabase(r);
    });
    auto* layout = new QVBoxLayout(buildDialog_);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(buttons);
  }
  const FeatureDatabaseRequest r = defaultBuildRequest();
  buildDataset_->setCurrentText(r.dataset);
  buildSplit_->setCurrentText(r.split);
  buildTopK_->setValue(r.topK);
  buildLimit_->setValue(r.limit);
  buildSeed_->setValue(int(std::min<quint64>(r.seed, quint64(std::numeric_limits<int>::max()))));
  buildPath_->setText(r.datasetPath);
  buildDialog_->open();
}

void FeaturesView::buildDatabase(FeatureDatabaseRequest request) {
  if (!haveSae_ || buildJob_ != 0) return;
  if (request.dataset.isEmpty()) {
    setMessage(tr("Name a dataset to build the feature database over."), true);
    return;
  }
  request.model = model_.source;
  request.folders = databaseFolders(request.dataset, request.split);
  ModelJob<FeatureDatabaseBuilt, FeatureDatabaseProgress> job = jobs::buildDatabase(request);
  job.progress = [this](quint64, const FeatureDatabaseProgress& p) { buildProgressed(p.done, p.total); };
  job.done = [this](quint64, const FeatureDatabaseBuilt& b) { buildDone(b); };
  job.failed = [this](quint64 id, const QString& m) { fail(id, tr("Building the feature database failed: %1").arg(m)); };
  buildBar_->setRange(0, std::max(1, request.limit));
  buildBar_->setValue(0);
  buildJob_ = controller_->post(this, std::move(job));
  setMessage(tr("Building a feature database over %1/%2\u2026").arg(request.dataset, request.split));
  emit statusMessage(message_);
  updatePlaceholder();
}

void FeaturesView::buildProgressed(qint64 done, qint64 total) {
  buildBar_->setRange(0, int(std::max<qint64>(1, total)));
  buildBar_->setValue(int(done));
  emit statusMessage(tr("Feature database: %1 / %2 images").arg(done).arg(total));
}

void FeaturesView::buildDone(const FeatureDatabaseBuilt& built) {
  if (built.folder.isEmpty()) return;  // stopped: finished() says so
  buildBar_->setRange(0, int(std::max<qint64>(1, built.total)));
  buildBar_->setValue(int(built.total));
  const QString source = sae_.source;
  rememberDatabase(source, built.folder);
  // Reopened with it, on the feature shown now: its top images appear at once.
  if (selected_ >= 0) initialFeature_ = selected_;
  openSae(source, built.folder);
  setMessage(tr("Wrote a feature database of %1 images in %2 s to %3")
                 .arg(built.images)
                 .arg(built.seconds, 0, 'f', 1)
                 .arg(QDir::toNativeSeparators(built.folder)));
  emit statusMessage(message_);
  emit databaseBuilt(built.folder);
}

void FeaturesView::rememberDatabase(const QString& saePath, const QString& databasePath) {
  QSettings settings;
  QVariantMap bySae = settings.value(kSettingsDatabaseBySae).toMap();
  bySae.insert(saeKey(saePath), databasePath);
  settings.setValue(kSettingsDatabaseBySae, bySae);
}

QString FeaturesView::rememberedDatabase(const QString& saePath) const {
  const QString dir = QSettings().value(kSettingsDatabaseBySae).toMap().value(saeKey(saePath)).toString();
  return !dir.isEmpty() && jobs::isDatabaseFolder(dir) ? dir : QString();
}

void FeaturesView::requestTraining(const QString& hook) {
  if (!haveModel_) return;
  QString h = hook;
  if (h.isEmpty() && haveSae_) h = sae_.hook;
  if (h.isEmpty() && !hooks_.isEmpty()) {
    const QStringList post = hooks_.filter(QStringLiteral("hook_resid_post"));
    h = post.isEmpty() ? hooks_.last() : post.last();
  }
  if (h.isEmpty()) h = QStringLiteral("blocks.0.hook_resid_post");  // the hooks are not listed yet
  emit trainSaeRequested(model_.source, h);
}

void FeaturesView::updateTrainMenu() {
  trainMenu_->clear();
  QStringList hooks = hooks_;
  if (haveSae_ && !hooks.contains(sae_.hook)) hooks.prepend(sae_.hook);
  for (const QString& h : hooks) {
    QAction* a = trainMenu_->addAction(haveSae_ && h == sae_.hook ? tr("%1 (the open SAE's)").arg(h) : h);
    a->setData(h);
    connect(a, &QAction::triggered, this, [this, h] { requestTraining(h); });
  }
  // What the Training tab will run, for the command line too.
  const QString model = model_.source.isEmpty() || model_.source.startsWith('(') ? QStringLiteral("MODEL") : model_.source;
  const QString hook = haveSae_ ? sae_.hook : QStringLiteral("HOOK");
  trainButton_->setToolTip(tr("Set up an SAE run in the Training tab on %1 (the arrow picks another hook).\n"
                              "On the command line:\n"
                              "  prisma sae train --model %2 --dataset DATASET --hook %1 --out DIR\n"
                              "  prisma sae features DIR --model %2 --dataset DATASET --out DIR-features")
                               .arg(hook, model));
}

void FeaturesView::dragEnterEvent(QDragEnterEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasFormat(kDatasetItemMime) || mime->hasUrls() || mime->hasImage()) event->acceptProposedAction();
}

void FeaturesView::dropEvent(QDropEvent* event) {
  const auto request = PatchSourceSlot::requestFromMime(event->mimeData());
  if (!request) return;
  event->acceptProposedAction();
  setImage(*request);
  emit imageDropped(*request);
}

}  // namespace prisma::app
